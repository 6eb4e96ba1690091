/**
 * The response cache's stores against real servers (redis-server, dynalite): get/set,
 * expiry by the injected clock, purge of one entry and of a proxy, refusal of oversized
 * entries; and the bounded wrapper turning a stopped store into soft misses.
 */
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoundedResponseCacheStore } from '../../functions/cache/bounded-store.js';
import { DYNAMODB_MAX_PAYLOAD_BYTES, DynamoResponseCacheStore, responseCachePk } from '../../functions/cache/dynamodb-store.js';
import { MemoryResponseCacheStore } from '../../functions/cache/memory-store.js';
import { RedisResponseCacheStore } from '../../functions/cache/redis-store.js';
import { CacheEntryTooLargeError } from '../../functions/cache/scope-key.js';
import { MAX_ENTRY_BYTES, type CacheKey, type CachedAnswer, type ResponseCacheStore } from '../../functions/cache/store.js';
import { createSluiceTables, localDynamoClient, startDynalite, type RunningDynalite } from '../support/dynalite.js';
import { startRedis, type RunningRedis } from '../support/redis.js';

const T0 = Date.UTC(2026, 11, 7, 12);
const digest = (s: string) => createHash('sha256').update(s).digest('hex');
const key = (proxyId: string, s: string, orgId = 'org_a'): CacheKey => ({ orgId, proxyId, digest: digest(s) });
const answer = (text: string, ttlMs = 60_000, storedAt = T0): CachedAnswer => ({
  storedAt,
  expiresAt: storedAt + ttlMs,
  payload: new Uint8Array(gzipSync(Buffer.from(JSON.stringify({ text })))),
});
const silent = { warn: () => undefined };

interface Harness {
  store: ResponseCacheStore;
  clock: { now: number };
  limit: number;
}

/** The same contract for every store. */
function contract(name: string, make: () => Harness) {
  describe(`${name}: the ResponseCacheStore contract`, () => {
    it('a miss, then the stored entry byte for byte; a second set replaces it', async () => {
      const { store } = make();
      const k = key('p_get', 'hello');
      expect(await store.get(k)).toBeUndefined();
      const a = answer('first');
      await store.set(k, a);
      const got = await store.get(k);
      expect(got).toEqual({ storedAt: a.storedAt, expiresAt: a.expiresAt, payload: a.payload });
      expect(Buffer.from(got!.payload).equals(Buffer.from(a.payload))).toBe(true);
      const b = answer('second', 30_000, T0 + 1);
      await store.set(k, b);
      expect(Buffer.from((await store.get(k))!.payload)).toEqual(Buffer.from(b.payload));
    });

    it('an entry is a miss from its expiresAt on, by the injected clock', async () => {
      const { store, clock } = make();
      const k = key('p_exp', 'short');
      await store.set(k, answer('x', 10_000, clock.now));
      clock.now += 9_999;
      expect(await store.get(k)).toBeDefined();
      clock.now += 1;
      expect(await store.get(k)).toBeUndefined();
    });

    it('entries are scoped by org and proxy: the same digest elsewhere is another entry', async () => {
      const { store } = make();
      await store.set(key('p_scope', 'same'), answer('mine'));
      expect(await store.get(key('p_scope2', 'same'))).toBeUndefined();
      expect(await store.get(key('p_scope', 'same', 'org_b'))).toBeUndefined();
    });

    it('purge of one digest, then of a whole proxy; other proxies keep theirs', async () => {
      const { store } = make();
      for (let i = 0; i < 60; i++) await store.set(key('p_purge', `q${i}`), answer(`a${i}`));
      await store.set(key('p_keep', 'q0'), answer('kept'));
      await store.set(key('p_purge', 'q0', 'org_b'), answer('other org'));
      // A proxy id that is a prefix of another, and one with glob characters, are not confused.
      await store.set(key('p_purge2', 'q0'), answer('prefix'));
      await store.set(key('p_*', 'q0'), answer('glob'));
      expect(await store.purge({ orgId: 'org_a', proxyId: 'p_purge', digest: digest('q1') })).toBe(1);
      expect(await store.get(key('p_purge', 'q1'))).toBeUndefined();
      expect(await store.get(key('p_purge', 'q2'))).toBeDefined();
      expect(await store.purge({ orgId: 'org_a', proxyId: 'p_purge', digest: digest('q1') })).toBe(0);
      expect(await store.purge({ orgId: 'org_a', proxyId: 'p_purge' })).toBe(59);
      expect(await store.get(key('p_purge', 'q2'))).toBeUndefined();
      expect(await store.get(key('p_keep', 'q0'))).toBeDefined();
      expect(await store.get(key('p_purge', 'q0', 'org_b'))).toBeDefined();
      expect(await store.get(key('p_purge2', 'q0'))).toBeDefined();
      expect(await store.purge({ orgId: 'org_a', proxyId: 'p_*' })).toBe(1);
      expect(await store.get(key('p_purge2', 'q0'))).toBeDefined();
      expect(await store.purge({ orgId: 'org_a', proxyId: 'p_purge' })).toBe(0);
    });

    it('refuses an entry over its limit with CacheEntryTooLargeError and keeps the old one', async () => {
      const { store, limit } = make();
      const k = key('p_big', 'big');
      await store.set(k, answer('small'));
      const big: CachedAnswer = { storedAt: T0, expiresAt: T0 + 60_000, payload: new Uint8Array(randomBytes(limit + 1)) };
      await expect(store.set(k, big)).rejects.toBeInstanceOf(CacheEntryTooLargeError);
      expect((await store.get(k))?.payload.byteLength).toBe(answer('small').payload.byteLength);
      const atLimit: CachedAnswer = { storedAt: T0, expiresAt: T0 + 60_000, payload: new Uint8Array(randomBytes(limit)) };
      await store.set(k, atLimit);
      expect(Buffer.from((await store.get(k))!.payload).equals(Buffer.from(atLimit.payload))).toBe(true);
    });

    it('refuses a digest that is not 64 lowercase hex characters', async () => {
      const { store } = make();
      await expect(store.get({ orgId: 'o', proxyId: 'p', digest: 'ABC' })).rejects.toThrow(/64 lowercase hex/);
      await expect(store.purge({ orgId: 'o', proxyId: 'p', digest: '*' })).rejects.toThrow(/64 lowercase hex/);
    });
  });
}

let redis: RunningRedis;
let dynalite: RunningDynalite;
let dynamo: DynamoDBClient;
let stateTable: string;
const opened: RedisResponseCacheStore[] = [];

beforeAll(async () => {
  [redis, dynalite] = await Promise.all([startRedis(), startDynalite()]);
  dynamo = localDynamoClient(dynalite.endpoint);
  ({ stateTable } = await createSluiceTables(dynamo));
});
afterAll(async () => {
  for (const s of opened) s.close();
  dynamo?.destroy();
  await Promise.all([redis?.stop(), dynalite?.close()]);
});

let prefixes = 0;
contract('redis', () => {
  const clock = { now: T0 };
  const store = new RedisResponseCacheStore({ url: redis.url, keyPrefix: `t${++prefixes}:`, now: () => clock.now });
  opened.push(store);
  return { store, clock, limit: MAX_ENTRY_BYTES };
});
contract('dynamodb', () => {
  const clock = { now: T0 };
  return { store: new DynamoResponseCacheStore({ client: dynamo, tableName: stateTable, now: () => clock.now }), clock, limit: DYNAMODB_MAX_PAYLOAD_BYTES };
});
contract('memory', () => {
  const clock = { now: T0 };
  return { store: new MemoryResponseCacheStore({ now: () => clock.now }), clock, limit: MAX_ENTRY_BYTES };
});

describe('store specifics', () => {
  it('redis: the entry carries a PX expiry (housekeeping) matching expiresAt', async () => {
    const clock = { now: Date.now() };
    const store = new RedisResponseCacheStore({ url: redis.url, keyPrefix: 'px:', now: () => clock.now });
    opened.push(store);
    const k = key('p_px', 'px');
    await store.set(k, answer('x', 30_000, clock.now));
    const keys = await store.client.keys('px:rc:*');
    expect(keys).toEqual([`px:rc:{org_a:p_px}:${k.digest}`]);
    const pttl = await store.client.pttl(keys[0]!);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(30_000);
  });

  it('dynamodb: one partition per org+proxy, sort key the digest, ttl in epoch seconds; a stale item with a future ttl is a miss', async () => {
    const store = new DynamoResponseCacheStore({ client: dynamo, tableName: stateTable, now: () => T0 });
    const k = key('p_ddb', 'layout');
    await store.set(k, answer('x', 90_000));
    const { GetItemCommand } = await import('@aws-sdk/client-dynamodb');
    const item = (await dynamo.send(new GetItemCommand({ TableName: stateTable, Key: { pk: { S: 'rcache#org_a:p_ddb' }, sk: { S: k.digest } } }))).Item!;
    expect(item.ttl?.N).toBe(String(Math.ceil((T0 + 90_000) / 1000)));
    expect(item.expiresAt?.N).toBe(String(T0 + 90_000));
    const stale = key('p_ddb', 'stale');
    await dynamo.send(
      new PutItemCommand({
        TableName: stateTable,
        Item: { pk: { S: responseCachePk(stale) }, sk: { S: stale.digest }, payload: { B: new Uint8Array([1]) }, storedAt: { N: String(T0 - 10) }, expiresAt: { N: String(T0 - 1) }, ttl: { N: String(T0 / 1000 + 3600) } },
      }),
    );
    expect(await store.get(stale)).toBeUndefined();
  });

  it('memory: bounded by bytes, least recently used evicted first', async () => {
    const store = new MemoryResponseCacheStore({ maxBytes: 3000, now: () => T0 });
    const e = (): CachedAnswer => ({ storedAt: T0, expiresAt: T0 + 1000, payload: new Uint8Array(1000) });
    await store.set(key('m', '1'), e());
    await store.set(key('m', '2'), e());
    await store.set(key('m', '3'), e());
    await store.get(key('m', '1')); // 2 is now the least recently used
    await store.set(key('m', '4'), e());
    expect(await store.get(key('m', '2'))).toBeUndefined();
    for (const s of ['1', '3', '4']) expect(await store.get(key('m', s))).toBeDefined();
  });
});

describe('a store that is down or slow is a soft miss within the bound', () => {
  it('redis-server SIGSTOPped: get is a miss, set is dropped, both within the bound; warnings carry no credentials', async () => {
    const paused = await startRedis({ password: 'hunter2-cache-secret' });
    const inner = new RedisResponseCacheStore({ url: paused.url, keyPrefix: 'o:', commandTimeoutMs: 30_000 });
    const warnings: unknown[] = [];
    const store = new BoundedResponseCacheStore(inner, { name: 'redis', timeoutMs: 100, logger: { warn: (...a: unknown[]) => warnings.push(a) }, warnEveryMs: 0 });
    try {
      const k = key('p_out', 'q');
      await store.set(k, answer('before', 60_000, Date.now()));
      expect(await store.get(k)).toBeDefined();
      paused.pause();
      const started = performance.now();
      expect(await store.get(k)).toBeUndefined();
      await expect(store.set(k, answer('during', 60_000, Date.now()))).resolves.toBeUndefined();
      // The inner command timeout is 30 s: only the wrapper's bound can answer this soon.
      expect(performance.now() - started).toBeLessThan(10_000);
      expect(store.stats.failures).toBe(2);
      expect(JSON.stringify(warnings)).toMatch(/response cache store unavailable/);
      expect(JSON.stringify(warnings)).not.toContain('hunter2');
      paused.resume();
      // An entry larger than the limit is still refused by name, not swallowed.
      const big: CachedAnswer = { storedAt: Date.now(), expiresAt: Date.now() + 1000, payload: new Uint8Array(MAX_ENTRY_BYTES + 1) };
      await expect(store.set(k, big)).rejects.toBeInstanceOf(CacheEntryTooLargeError);
    } finally {
      paused.resume();
      inner.close();
      await paused.stop();
    }
  });

  it('after consecutive failures the breaker skips the store, then tries it again', async () => {
    const clock = { now: T0 };
    let calls = 0;
    const failing: ResponseCacheStore = {
      get: async () => {
        calls++;
        throw new Error('connect ECONNREFUSED redis://default:s3cret@10.0.0.1:6379');
      },
      set: async () => undefined,
      purge: async () => 0,
    };
    const warnings: unknown[] = [];
    const store = new BoundedResponseCacheStore(failing, { name: 'redis', timeoutMs: 100, now: () => clock.now, breakerFailures: 3, breakerCooldownMs: 1000, logger: { warn: (...a: unknown[]) => warnings.push(a) } });
    for (let i = 0; i < 5; i++) expect(await store.get(key('p', 'b'))).toBeUndefined();
    expect(calls).toBe(3);
    expect(store.stats).toEqual({ failures: 3, skipped: 2 });
    expect(warnings).toHaveLength(1); // at most one per 10 s
    expect(JSON.stringify(warnings)).not.toContain('s3cret');
    clock.now += 1000;
    await store.get(key('p', 'b'));
    expect(calls).toBe(4);
  });

  it('dynalite stopped: get is a miss and set is dropped, never an error', async () => {
    const own = await startDynalite();
    const client = localDynamoClient(own.endpoint);
    try {
      const { stateTable: table } = await createSluiceTables(client);
      const store = new BoundedResponseCacheStore(new DynamoResponseCacheStore({ client, tableName: table }), { name: 'dynamodb', timeoutMs: 2000, logger: silent });
      const k = key('p_ddb_out', 'q');
      await store.set(k, answer('before', 60_000, Date.now()));
      expect(await store.get(k)).toBeDefined();
      await own.close();
      expect(await store.get(k)).toBeUndefined();
      await expect(store.set(k, answer('during', 60_000, Date.now()))).resolves.toBeUndefined();
      expect(store.stats.failures).toBe(2);
      // purge is an operator's command: its failure is reported, not swallowed.
      await expect(store.purge({ orgId: 'org_a', proxyId: 'p_ddb_out' })).rejects.toThrow();
    } finally {
      client.destroy();
    }
  });
});
