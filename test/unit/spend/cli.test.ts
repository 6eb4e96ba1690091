import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../../bin/commands/cli.js';
import { FileBudgetLedger } from '../../../functions/spend/file-ledger.js';
import { toNano } from '../../../functions/spend/definitions.js';
import { FileControlStore } from '../../../functions/stores/file-store.js';
import { recordingIo, tempDataDir } from '../cli/support.js';

let data: { dir: string; remove(): Promise<void> };
beforeEach(async () => {
  data = await tempDataDir();
  // The key and proxy the budgets and limits below are set on (unknown ones are refused).
  const store = new FileControlStore({ dataDir: data.dir });
  const createdAt = new Date().toISOString();
  await store.putProxy({ id: 'p1', orgId: 'default', name: 'p1', provider: 'openai', baseUrl: 'https://api.openai.com/v1', byok: false, allowPrivateNetwork: false, createdAt });
  await store.putKey({ id: 'k1', hash: 'a'.repeat(64), proxyId: 'p1', orgId: 'default', createdAt });
});
afterEach(async () => {
  await data.remove();
});

const run = async (...argv: string[]) => {
  const io = recordingIo();
  const code = await runCli(['--data-dir', data.dir, ...argv], io, {});
  return { code, out: io.out(), err: io.err() };
};

describe('sluice budgets', () => {
  it('set, then show and list with the current spend and reservations the gateway recorded', async () => {
    expect((await run('budgets', 'set', '--key', 'k1', '--limit', '25', '--period', 'month')).code).toBe(0);
    expect((await run('budgets', 'set', '--org', 'acme', '--limit', '$100', '--period', 'rolling:7d')).out).toContain('budget set: org acme, $100.00 per rolling 7 days');
    // What a running local gateway writes: one settled request and one in flight.
    const ledger = new FileBudgetLedger({ dataDir: data.dir });
    const budget = { scope: 'key' as const, scopeId: 'k1', limitUsd: 25, period: { kind: 'month' as const }, updatedAt: '' };
    const a = await ledger.reserve(budget, toNano(2), Date.now());
    await ledger.reserve(budget, toNano(0.5), Date.now());
    if (!a.ok) throw new Error('fits');
    await ledger.settle(a.hold, toNano(1.25));
    await ledger.flush();

    const show = await run('budgets', 'show', '--key', 'k1', '--json');
    expect(show.code).toBe(0);
    const row = JSON.parse(show.out);
    expect(row).toMatchObject({ scope: 'key', scopeId: 'k1', period: 'month', limitUsd: 25, spentUsd: 1.25, reservedUsd: 0.5, leftUsd: 23.25 });
    expect(row.resetsAt).toMatch(/^\d{4}-\d{2}-01T00:00:00.000Z$/);

    const list = await run('budgets', 'list');
    const lines = list.out.trim().split('\n');
    expect(lines[0]).toMatch(/^SCOPE\s+ID\s+PERIOD\s+LIMIT\s+SPENT\s+RESERVED\s+LEFT\s+RESETS/);
    expect(lines[1]).toMatch(/^org\s+acme\s+rolling:7d\s+\$100\.00\s+\$0\.00\s+\$0\.00\s+\$100\.00\s+day by day/);
    expect(lines[2]).toMatch(/^key\s+k1\s+month\s+\$25\.00\s+\$1\.25\s+\$0\.50\s+\$23\.25/);
  });

  it('refuses bad input with exit code 2', async () => {
    expect((await run('budgets', 'set', '--key', 'k1', '--limit', 'lots', '--period', 'day')).err).toContain('--limit must be an amount of USD');
    const r = await run('budgets', 'set', '--key', 'k1', '--proxy', 'p', '--limit', '1', '--period', 'day');
    expect(r.code).toBe(2);
    expect(r.err).toContain('exactly one of --key, --proxy, --org');
    expect((await run('budgets', 'set', '--key', 'k1', '--limit', '1', '--period', 'week')).err).toContain('rolling:<N>d');
    expect((await run('budgets', 'show', '--key', 'nope')).code).toBe(1);
  });

  it('refuses a budget or limit for a key or proxy that does not exist, and writes nothing', async () => {
    const key = await run('budgets', 'set', '--key', '3f2a', '--limit', '5', '--period', 'day');
    expect(key.code).toBe(1);
    expect(key.err).toContain("no key with id '3f2a'");
    const proxy = await run('budgets', 'set', '--proxy', 'support', '--limit', '5', '--period', 'day');
    expect(proxy.code).toBe(1);
    expect(proxy.err).toContain("no proxy 'support'");
    const limit = await run('limits', 'set', '--key', 'key_missing', '--rpm', '5');
    expect(limit.code).toBe(1);
    expect(limit.err).toContain("no key with id 'key_missing'");
    expect((await run('budgets', 'list')).out).toContain('no budgets');
    expect((await run('limits', 'list')).out).not.toContain('key_missing');
    // An org is not a stored object: any org id is taken.
    expect((await run('budgets', 'set', '--org', 'acme', '--limit', '5', '--period', 'day')).code).toBe(0);
  });

  it('delete removes a budget', async () => {
    await run('budgets', 'set', '--proxy', 'p1', '--limit', '1', '--period', 'day');
    expect((await run('budgets', 'delete', '--proxy', 'p1')).code).toBe(0);
    expect((await run('budgets', 'list')).out).toContain('no budgets');
  });
});

describe('sluice limits', () => {
  it('set and show', async () => {
    expect((await run('limits', 'set', '--key', 'k1', '--rpm', '60', '--tpm', '90000')).out).toContain('limit set: key k1, 60 requests/min, 90000 tokens/min');
    const show = await run('limits', 'show', '--key', 'k1', '--json');
    expect(JSON.parse(show.out)).toMatchObject({ scope: 'key', scopeId: 'k1', rpm: 60, tpm: 90000 });
    await run('limits', 'set', '--proxy', 'p1', '--tpm', '5000');
    const list = await run('limits', 'list');
    expect(list.out).toMatch(/key\s+k1\s+60\s+90000/);
    expect(list.out).toMatch(/proxy\s+p1\s+-\s+5000/);
  });

  it('refuses a limit without rpm or tpm, and org scope', async () => {
    expect((await run('limits', 'set', '--key', 'k1')).err).toContain('give --rpm, --tpm or both');
    expect((await run('limits', 'set', '--key', 'k1', '--rpm', '0')).err).toContain('--rpm must be a whole number > 0');
    expect((await run('limits', 'set', '--org', 'o', '--rpm', '1')).code).toBe(2);
  });
});
