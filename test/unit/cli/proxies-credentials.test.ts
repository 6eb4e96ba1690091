import { describe, expect, it } from 'vitest';
import { runProxiesCommand } from '../../../bin/commands/proxies.js';
import { storeCommandHarness } from './support.js';

const cli = storeCommandHarness(runProxiesCommand, new Date('2026-04-01T12:00:00.000Z'));
const { run } = cli;

describe('sluice proxies create --credential (repeated: keys in rotation)', () => {
  it('stores the references in order, the first as the credential, and shows them', async () => {
    const r = await run('create', 'rot', '--provider', 'openai', '--credential', 'env:OPENAI_KEY_A', '--credential', 'env:OPENAI_KEY_B', '--credential', 'secret:sluice/openai-c');
    expect(r).toMatchObject({ code: 0, err: '' });
    const proxy = await cli.reader.getProxy('rot');
    expect(proxy?.credentialRef).toBe('env:OPENAI_KEY_A');
    expect(proxy?.routing).toEqual({ credentials: ['env:OPENAI_KEY_A', 'env:OPENAI_KEY_B', 'secret:sluice/openai-c'] });
    expect((await run('show', 'rot')).out).toMatch(/credential: +3 keys in rotation: env:OPENAI_KEY_A, env:OPENAI_KEY_B, secret:sluice\/openai-c/);
  });

  it('one --credential is no rotation; duplicates, pasted keys and --byok are refused without echoing the value', async () => {
    await run('create', 'one', '--provider', 'openai', '--credential', 'env:K');
    expect((await cli.reader.getProxy('one'))?.routing).toBeUndefined();
    const dup = await run('create', 'x', '--provider', 'openai', '--credential', 'env:K', '--credential', 'env:K');
    expect(dup.code).not.toBe(0);
    expect(dup.err).toContain('given twice');
    const pasted = await run('create', 'x', '--provider', 'openai', '--credential', 'env:K', '--credential', 'sk-proj-abcdef1234567890');
    expect(pasted.code).not.toBe(0);
    expect(pasted.err).not.toContain('sk-proj-abcdef1234567890');
    const byok = await run('create', 'x', '--provider', 'openai', '--byok', '--credential', 'env:K', '--credential', 'env:L');
    expect(byok.code).not.toBe(0);
  });

  it('a named --upstream with several credential references holds them in rotation; a repeated one is refused', async () => {
    const r = await run('create', 'pooled', '--provider', 'openai', '--credential', 'env:K', '--upstream', 'eu=openai,https://eu.example.com/v1,env:EU_A,secret:sluice/eu-b', '--fallback', 'eu');
    expect(r).toMatchObject({ code: 0, err: '' });
    expect((await cli.reader.getProxy('pooled'))?.upstreams?.eu).toMatchObject({ credentialRef: 'env:EU_A', credentialRefs: ['env:EU_A', 'secret:sluice/eu-b'] });
    expect((await run('show', 'pooled')).out).toMatch(/eu: +openai → https:\/\/eu\.example\.com\/v1 \(2 keys in rotation: env:EU_A, secret:sluice\/eu-b\)/);
    const one = await run('create', 'single', '--provider', 'openai', '--credential', 'env:K', '--upstream', 'eu=openai,https://eu.example.com/v1,env:EU_A', '--fallback', 'eu');
    expect(one.code).toBe(0);
    expect((await cli.reader.getProxy('single'))?.upstreams?.eu?.credentialRefs).toBeUndefined();
    const dup = await run('create', 'x', '--provider', 'openai', '--credential', 'env:K', '--upstream', 'eu=openai,https://eu.example.com/v1,env:EU_A,env:EU_A', '--fallback', 'eu');
    expect(dup.code).not.toBe(0);
    expect(dup.err).toContain('given twice');
  });
});
