import { describe, expect, it } from 'vitest';
import { runProxiesCommand } from '../../../bin/commands/proxies.js';
import { storeCommandHarness } from './support.js';

const NOW = new Date('2026-04-01T12:00:00.000Z');
const cli = storeCommandHarness(runProxiesCommand, NOW);
const { run } = cli;

describe('sluice proxies create --fallback / --retries / --retry-on', () => {
  it('stores the targets in order, a named upstream among them, and shows them', async () => {
    expect((await run('create', 'backup', '--provider', 'anthropic', '--credential', 'env:ANTHROPIC_API_KEY')).code).toBe(0);
    const r = await run(
      'create', 'main', '--provider', 'openai', '--credential', 'env:OPENAI_API_KEY',
      '--upstream', 'eu=azure-openai,https://acme-eu.openai.azure.com/openai,env:AZURE_EU_KEY',
      '--fallback', 'eu', '--fallback', 'backup', '--retries', '1', '--retry-on', '429,503',
    );
    expect(r).toMatchObject({ code: 0, err: '' });
    expect((await cli.reader.getProxy('main'))?.routing).toEqual({ fallbacks: ['eu', 'backup'], retries: 1, retryOn: [429, 503] });
    const show = await run('show', 'main');
    expect(show.out).toMatch(/targets: +main → eu → backup/);
    expect(show.out).toMatch(/retries: +1 on 429,503/);
  });

  it('refuses unknown targets, itself, duplicates, other orgs, cycles and bad numbers', async () => {
    await run('create', 'a1', '--provider', 'openai', '--org', 'acme');
    const refused = async (...args: string[]) => {
      const r = await run(...args);
      expect(r.code).not.toBe(0);
      return r.err;
    };
    expect(await refused('create', 'x', '--provider', 'openai', '--fallback', 'nope')).toContain("--fallback 'nope' is neither a named --upstream of this proxy nor an existing proxy");
    expect(await refused('create', 'x', '--provider', 'openai', '--fallback', 'x')).toContain('is this proxy itself');
    expect(await refused('create', 'x', '--provider', 'openai', '--fallback', 'a1', '--fallback', 'a1')).toContain('given twice');
    expect(await refused('create', 'x', '--provider', 'openai', '--fallback', 'a1')).toContain('belongs to another org');
    expect(await refused('create', 'x', '--provider', 'openai', '--retries', '9')).toContain('--retries must be a whole number from 0 to 5');
    expect(await refused('create', 'x', '--provider', 'openai', '--retry-on', '429,abc')).toContain('--retry-on takes HTTP statuses');
    await run('create', 'c1', '--provider', 'openai');
    await run('create', 'c2', '--provider', 'openai', '--fallback', 'c1');
    expect(await refused('create', 'c1', '--provider', 'openai', '--fallback', 'c2', '--replace')).toContain("falls back to 'c1': cycles are refused");
  });

  it('--balance: the own upstream takes the rest of 100, or its own weight; members are checked like fallbacks', async () => {
    await run('create', 'west', '--provider', 'openai');
    expect((await run('create', 'east', '--provider', 'openai', '--balance', 'west=30')).code).toBe(0);
    expect((await cli.reader.getProxy('east'))?.routing).toEqual({ balance: { west: 30, east: 70 } });
    expect((await run('show', 'east')).out).toMatch(/balance: +west=30, east=70/);
    expect((await run('create', 'east2', '--provider', 'openai', '--balance', 'west=300', '--balance', 'east2=100')).code).toBe(0);
    expect((await run('create', 'x', '--provider', 'openai', '--balance', 'west=100')).err).toContain('give this proxy\'s own upstream a weight with --balance x=W');
    expect((await run('create', 'x', '--provider', 'openai', '--balance', 'west=0')).err).toContain('must look like target=weight');
    expect((await run('create', 'x', '--provider', 'openai', '--balance', 'nowhere=10')).err).toContain("'nowhere' is neither");
    const del = await run('delete', 'west');
    expect(del.err).toContain("proxy 'west' is a fallback of east, east2");
  });

  it('--timeout-*: stored in ms, shown, bad values refused', async () => {
    expect((await run('create', 't1', '--provider', 'openai', '--timeout-connect', '1000', '--timeout-first-byte', '5000', '--timeout-idle', '20000', '--timeout-total', '120000')).code).toBe(0);
    expect((await cli.reader.getProxy('t1'))?.routing?.timeouts).toEqual({ connectMs: 1000, firstByteMs: 5000, idleMs: 20000, totalMs: 120000 });
    expect((await run('show', 't1')).out).toMatch(/timeouts: +connect 1000 ms, firstByte 5000 ms, idle 20000 ms, total 120000 ms/);
    expect((await run('create', 't2', '--provider', 'openai', '--timeout-idle', 'soon')).err).toContain('--timeout-idle takes milliseconds');
  });

  it('refuses to delete a proxy another proxy falls back to', async () => {
    await run('create', 'd1', '--provider', 'openai');
    await run('create', 'd2', '--provider', 'openai', '--fallback', 'd1');
    const r = await run('delete', 'd1');
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("proxy 'd1' is a fallback of d2");
    expect(await cli.reader.getProxy('d1')).toBeDefined();
    expect((await run('delete', 'd2')).code).toBe(0);
    expect((await run('delete', 'd1')).code).toBe(0);
  });
});
