/** The approvals contract on both stores: the file store and DynamoDB (dynalite) on the control table. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileApprovalStore, type ApprovalStore } from '../../functions/governance/approvals.js';
import { DynamoApprovalStore } from '../../functions/governance/approvals-dynamodb.js';
import { createSluiceTables, localDynamoClient, startDynalite, type RunningDynalite } from '../support/dynalite.js';

let dir: string;
let dynalite: RunningDynalite;
let client: DynamoDBClient;
let table: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-approvals-'));
  dynalite = await startDynalite();
  client = localDynamoClient(dynalite.endpoint);
  table = (await createSluiceTables(client)).controlTable;
});
afterAll(async () => {
  client?.destroy();
  await dynalite?.close();
  await rm(dir, { recursive: true, force: true });
});

const stores: [string, () => ApprovalStore][] = [
  ['file', () => new FileApprovalStore(dir)],
  ['dynamodb', () => new DynamoApprovalStore(client, table)],
];

let n = 0;
const hold = (proxyId: string, bodyHash = 'h1', ttlMs = 60_000) => ({ proxyId, keyId: 'key_a', bodyHash, reasons: ['r'], traceId: 't', ttlMs });

describe.each(stores)('approvals on the %s store', (_name, make) => {
  it('concurrent holds of the same request share one approval; another body gets its own', async () => {
    const store = make();
    const proxy = `p${++n}`;
    const now = Date.now();
    const results = await Promise.all(Array.from({ length: 8 }, () => store.hold(hold(proxy), now)));
    expect(new Set(results.map((r) => r.record.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const other = await store.hold(hold(proxy, 'h2'), now);
    expect(other.record.id).not.toBe(results[0]!.record.id);
    expect((await store.list({ proxyId: proxy }, now)).map((r) => r.status)).toEqual(['pending', 'pending']);
  });

  it('approve once, consume exactly once under concurrency, bound to key and body', async () => {
    const store = make();
    const proxy = `p${++n}`;
    const now = Date.now();
    const { record } = await store.hold(hold(proxy), now);
    expect(await store.consume(record.id, { proxyId: proxy, keyId: 'key_a', bodyHash: 'h1' }, now)).toBe('pending');
    const decided = await store.decide(record.id, 'approved', 'alice', now);
    expect(decided).toMatchObject({ status: 'approved', decidedBy: 'alice' });
    expect(await store.decide(record.id, 'denied', 'mallory', now)).toBeUndefined();
    expect(await store.consume(record.id, { proxyId: proxy, keyId: 'key_b', bodyHash: 'h1' }, now)).toBe('mismatch');
    expect(await store.consume(record.id, { proxyId: proxy, keyId: 'key_a', bodyHash: 'h9' }, now)).toBe('mismatch');
    expect(await store.consume(record.id, { proxyId: 'elsewhere', keyId: 'key_a', bodyHash: 'h1' }, now)).toBe('not_found');
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => store.consume(record.id, { proxyId: proxy, keyId: 'key_a', bodyHash: 'h1' }, now)));
    expect(outcomes.filter((o) => o === 'consumed')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'used')).toHaveLength(5);
    expect((await store.get(record.id))?.status).toBe('consumed');
    // After its approval is used, the same request is held anew.
    expect((await store.hold(hold(proxy), now)).created).toBe(true);
  });

  it('expiry: no decision and no use after it; a new hold replaces an expired one', async () => {
    const store = make();
    const proxy = `p${++n}`;
    const now = Date.now();
    const { record } = await store.hold(hold(proxy, 'h1', 1_000), now);
    expect(await store.decide(record.id, 'approved', 'alice', now + 2_000)).toBeUndefined();
    expect((await store.list({ proxyId: proxy, status: 'expired' }, now + 2_000)).map((r) => r.id)).toEqual([record.id]);
    const again = await store.hold(hold(proxy, 'h1', 1_000), now + 2_000);
    expect(again.created).toBe(true);
    await store.decide(again.record.id, 'approved', 'alice', now + 2_100);
    expect(await store.consume(again.record.id, { proxyId: proxy, keyId: 'key_a', bodyHash: 'h1' }, now + 5_000)).toBe('expired');
  });
});

describe('governance config in the control stores', () => {
  it('round-trips through DynamoDB and the file store unchanged', async () => {
    const { DynamoControlStore } = await import('../../functions/stores/dynamodb-store.js');
    const { FileControlStore } = await import('../../functions/stores/file-store.js');
    const governance = {
      enabled: true,
      policies: { request: { version: 3, format: 'rego' as const, body: 'package a\n', sha256: 'a'.repeat(64), updatedAt: '2026-11-23T00:00:00.000Z', updatedBy: 'ops' } },
      failModes: { request: 'closed' as const },
      evalBudgetMs: 50,
      intent: { intent: 'support', turnScope: 'first_n' as const, n: 2 },
    };
    const proxy = { id: 'gov1', orgId: 'o', name: 'g', provider: 'openai' as const, baseUrl: 'https://api.openai.com/v1', byok: false, allowPrivateNetwork: false, createdAt: '2026-11-23T00:00:00.000Z', governance };
    for (const store of [new DynamoControlStore({ client, tableName: table, consistentReads: true }), new FileControlStore({ dataDir: dir })]) {
      await store.putProxy(proxy);
      expect((await store.getProxy('gov1'))?.governance).toEqual(governance);
      const { governance: _, ...without } = proxy;
      await store.putProxy(without);
      expect(await store.getProxy('gov1')).not.toHaveProperty('governance');
    }
  });
});
