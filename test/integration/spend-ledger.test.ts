/**
 * The budget ledgers (DynamoDB on dynalite, and the in-process one of the local
 * runtime) against the same cases: the atomic 200-way race, settlement, undo across
 * scopes, calendar roll-over and rolling windows, all with an injected clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createSluiceTables, localDynamoClient, startDynalite, type RunningDynalite } from '../support/dynalite.js';
import { DynamoBudgetLedger } from '../../functions/spend/dynamodb-ledger.js';
import { MemoryBudgetLedger } from '../../functions/spend/memory-ledger.js';
import { FileBudgetLedger } from '../../functions/spend/file-ledger.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reserveAll, settleAll } from '../../functions/spend/reserve-all.js';
import { toNano, type BudgetDefinition, type BudgetPeriod } from '../../functions/spend/definitions.js';
import type { BudgetLedger } from '../../functions/spend/ledger.js';

let dynalite: RunningDynalite;
let client: DynamoDBClient;
let stateTable: string;
const dataDir = mkdtempSync(join(tmpdir(), 'sluice-ledger-'));

beforeAll(async () => {
  dynalite = await startDynalite();
  client = localDynamoClient(dynalite.endpoint);
  ({ stateTable } = await createSluiceTables(client));
});
afterAll(async () => {
  client?.destroy();
  await dynalite?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

let seq = 0;
const budget = (limitUsd: number, period: BudgetPeriod = { kind: 'day' }, scope: BudgetDefinition['scope'] = 'key'): BudgetDefinition => ({
  scope,
  scopeId: `s${++seq}`,
  limitUsd,
  period,
  updatedAt: '2026-11-01T00:00:00.000Z',
});

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const DAY = 86_400_000;

describe.each([
  ['dynamodb', () => new DynamoBudgetLedger({ client, tableName: stateTable }) as BudgetLedger],
  ['memory', () => new MemoryBudgetLedger() as BudgetLedger],
  ['file', () => new FileBudgetLedger({ dataDir: mkdtempSync(join(dataDir, 'l-')) }) as BudgetLedger],
])('%s ledger', (_name, makeLedger) => {
  it('200 concurrent reservations never exceed the limit, and exactly as many as fit are admitted', async () => {
    const ledger = makeLedger();
    const b = budget(1); // $1, 200 × $0.013 wanted: 76 fit
    const amount = toNano(0.013);
    const outcomes = await Promise.all(Array.from({ length: 200 }, () => ledger.reserve(b, amount, T0)));
    const admitted = outcomes.filter((o) => o.ok).length;
    expect(admitted).toBe(Math.floor(toNano(1) / amount));
    const usage = await ledger.usage(b, T0);
    expect(usage.reservedNano).toBe(admitted * amount);
    expect(usage.reservedNano).toBeLessThanOrEqual(toNano(1));
  });

  it('settles to the real cost and releases with 0', async () => {
    const ledger = makeLedger();
    const b = budget(1);
    const first = await ledger.reserve(b, toNano(0.5), T0);
    const second = await ledger.reserve(b, toNano(0.5), T0);
    if (!first.ok || !second.ok) throw new Error('both fit');
    expect((await ledger.reserve(b, toNano(0.01), T0)).ok).toBe(false);
    await ledger.settle(first.hold, toNano(0.2), T0);
    await ledger.settle(second.hold, 0, T0);
    const usage = await ledger.usage(b, T0);
    expect(usage).toMatchObject({ spentNano: toNano(0.2), reservedNano: 0 });
    // What the settlement freed is usable again: 0.8 fits, 0.81 does not.
    expect((await ledger.reserve(b, toNano(0.81), T0)).ok).toBe(false);
    expect((await ledger.reserve(b, toNano(0.8), T0)).ok).toBe(true);
  });

  it('a later scope that refuses undoes the earlier reservations', async () => {
    const ledger = makeLedger();
    const key = budget(10, { kind: 'day' }, 'key');
    const proxy = budget(10, { kind: 'month' }, 'proxy');
    const org = budget(0.05, { kind: 'day' }, 'org');
    const out = await reserveAll(ledger, [key, proxy, org], toNano(0.1), T0);
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.refusedBy).toBe(org);
    for (const b of [key, proxy]) expect(await ledger.usage(b, T0)).toMatchObject({ spentNano: 0, reservedNano: 0 });
    const fits = await reserveAll(ledger, [key, proxy, org], toNano(0.05), T0);
    expect(fits.ok).toBe(true);
    if (fits.ok) await settleAll(ledger, fits.holds, toNano(0.03), T0);
    for (const b of [key, proxy, org]) expect(await ledger.usage(b, T0)).toMatchObject({ spentNano: toNano(0.03), reservedNano: 0 });
  });

  it('a day budget refuses until midnight UTC (Retry-After), then rolls over by itself', async () => {
    const ledger = makeLedger();
    const b = budget(1, { kind: 'day' });
    const lateEvening = Date.UTC(2026, 10, 23, 23, 59, 30);
    expect((await ledger.reserve(b, toNano(1), lateEvening)).ok).toBe(true);
    const refused = await ledger.reserve(b, toNano(0.1), lateEvening);
    expect(refused).toMatchObject({ ok: false, retryAfterMs: 30_000, limitNano: toNano(1), usedNano: toNano(1) });
    expect((await ledger.reserve(b, toNano(1), Date.UTC(2026, 10, 24, 0, 0, 0))).ok).toBe(true);
  });

  it('a month budget rolls over on the 1st, whatever the month length', async () => {
    const ledger = makeLedger();
    const b = budget(1, { kind: 'month' });
    const feb = Date.UTC(2027, 1, 28, 18, 0, 0);
    expect((await ledger.reserve(b, toNano(1), feb)).ok).toBe(true);
    const refused = await ledger.reserve(b, toNano(0.5), feb);
    expect(refused).toMatchObject({ ok: false, retryAfterMs: 6 * 3_600_000 });
    expect((await ledger.reserve(b, toNano(1), Date.UTC(2027, 2, 1))).ok).toBe(true);
  });

  it('a rolling window lets spend age out day by day, and says when enough will have', async () => {
    const ledger = makeLedger();
    const b = budget(1, { kind: 'rolling', days: 3 });
    const day0 = Date.UTC(2026, 10, 20, 10, 0, 0);
    const r0 = await ledger.reserve(b, toNano(0.4), day0);
    const r1 = await ledger.reserve(b, toNano(0.4), day0 + DAY);
    if (!r0.ok || !r1.ok) throw new Error('fits');
    await ledger.settle(r0.hold, toNano(0.3), day0);
    await ledger.settle(r1.hold, toNano(0.4), day0 + DAY);
    // Day 2: 0.7 used; 0.5 needs 0.2 to age out — day 0's 0.3 leaves at the start of day 3.
    const day2 = day0 + 2 * DAY;
    const refused = await ledger.reserve(b, toNano(0.5), day2);
    expect(refused).toMatchObject({ ok: false, usedNano: toNano(0.7) });
    if (!refused.ok) expect(refused.retryAfterMs).toBe(Date.UTC(2026, 10, 23) - day2);
    // Needing more than day 0 frees means waiting for day 1 to leave too.
    const bigger = await ledger.reserve(b, toNano(0.9), day2);
    if (!bigger.ok) expect(bigger.retryAfterMs).toBe(Date.UTC(2026, 10, 24) - day2);
    // At the start of day 3, day 0 has aged out without any job running.
    const day3 = Date.UTC(2026, 10, 23, 0, 0, 1);
    expect((await ledger.usage(b, day3)).spentNano).toBe(toNano(0.4));
    expect((await ledger.reserve(b, toNano(0.5), day3)).ok).toBe(true);
    expect((await ledger.reserve(b, toNano(0.2), day3)).ok).toBe(false);
  });

  it('a settlement on a day that has aged out only drops the reservation', async () => {
    const ledger = makeLedger();
    const b = budget(1, { kind: 'rolling', days: 1 });
    const day0 = Date.UTC(2026, 10, 20, 23, 59, 0);
    const r = await ledger.reserve(b, toNano(0.6), day0);
    if (!r.ok) throw new Error('fits');
    const next = day0 + 120_000;
    expect((await ledger.reserve(b, toNano(0.9), next)).ok).toBe(true);
    await ledger.settle(r.hold, toNano(0.5), next);
    expect(await ledger.usage(b, next)).toMatchObject({ reservedNano: toNano(0.9) });
    expect((await ledger.reserve(b, toNano(0.2), next)).ok).toBe(false);
  });

  it('a request over the whole limit is refused without a Retry-After', async () => {
    const ledger = makeLedger();
    const b = budget(0.01);
    expect(await ledger.reserve(b, toNano(0.02), T0)).toMatchObject({ ok: false, retryAfterMs: undefined });
  });
});

describe('file ledger', () => {
  it('keeps counters across a restart', async () => {
    const dir = mkdtempSync(join(dataDir, 'restart-'));
    const first = new FileBudgetLedger({ dataDir: dir });
    const b = budget(1);
    const r = await first.reserve(b, toNano(0.7), T0);
    if (!r.ok) throw new Error('fits');
    await first.settle(r.hold, toNano(0.6));
    await first.flush();
    const second = new FileBudgetLedger({ dataDir: dir });
    expect(await second.usage(b, T0)).toMatchObject({ spentNano: toNano(0.6), reservedNano: 0 });
    expect((await second.reserve(b, toNano(0.5), T0)).ok).toBe(false);
  });
});
