import { describe, expect, it } from 'vitest';
import { runProxiesCommand } from '../../../bin/commands/proxies.js';
import { storeCommandHarness } from './support.js';

const NOW = new Date('2026-12-07T12:00:00.000Z');
const cli = storeCommandHarness(runProxiesCommand, NOW);
const { run } = cli;

describe('sluice proxies create --cache-ttl / --cache-scope', () => {
  it('stores the TTL and scope, shows them; --replace changes or removes them', async () => {
    expect(await run('create', 'c1', '--provider', 'openai', '--cache-ttl', '3600')).toMatchObject({ code: 0, err: '' });
    expect((await cli.reader.getProxy('c1'))?.cache).toEqual({ ttlSeconds: 3600 });
    expect((await run('show', 'c1')).out).toMatch(/response cache: +ttl 3600 s, shared per proxy/);
    expect((await run('create', 'c1', '--provider', 'openai', '--cache-ttl', '604800', '--cache-scope', 'key', '--replace')).code).toBe(0);
    expect((await cli.reader.getProxy('c1'))?.cache).toEqual({ ttlSeconds: 604800, scope: 'key' });
    expect((await run('show', 'c1')).out).toMatch(/response cache: +ttl 604800 s, shared per key/);
    expect((await run('create', 'c1', '--provider', 'openai', '--replace')).code).toBe(0);
    expect((await cli.reader.getProxy('c1'))?.cache).toBeUndefined();
    expect((await run('show', 'c1')).out).toMatch(/response cache: +off/);
  });

  it('refuses a TTL over 7 days, zero, fractions and words, a bad scope, and a scope without TTL', async () => {
    const err = async (...args: string[]) => {
      const r = await run('create', 'x', '--provider', 'openai', ...args);
      expect(r.code).not.toBe(0);
      return r.err;
    };
    expect(await err('--cache-ttl', '604801')).toContain("--cache-ttl takes whole seconds from 1 to 604800 (7 days), not '604801'");
    expect(await err('--cache-ttl', '0')).toContain('--cache-ttl takes whole seconds');
    expect(await err('--cache-ttl', '1.5')).toContain('--cache-ttl takes whole seconds');
    expect(await err('--cache-ttl', '1h')).toContain('--cache-ttl takes whole seconds');
    expect(await err('--cache-ttl', '60', '--cache-scope', 'org')).toContain("--cache-scope must be proxy or key, not 'org'");
    expect(await err('--cache-scope', 'key')).toContain('--cache-scope needs --cache-ttl');
    expect(await cli.reader.getProxy('x')).toBeUndefined();
  });

  it('--help lists both options', async () => {
    const r = await run('create', '--help');
    expect(r.out).toContain('--cache-ttl <seconds>');
    expect(r.out).toContain('--cache-scope proxy|key');
  });
});
