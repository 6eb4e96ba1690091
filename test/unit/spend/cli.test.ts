import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../../bin/commands/cli.js';
import { FileBudgetLedger } from '../../../functions/spend/file-ledger.js';
import { toNano } from '../../../functions/spend/definitions.js';
import { recordingIo, tempDataDir } from '../cli/support.js';

let data: { dir: string; remove(): Promise<void> };
beforeEach(async () => {
  data = await tempDataDir();
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
