/**
 * The DynamoDB cache layer on dynalite, refilling upper layers for exactly the
 * remaining TTL, the cache stack built from the environment, and the gateway staying
 * up (auth served from the store) while its Redis layer is stopped.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { FileSessionStore } from '../../functions/sessions/file-session-store.js';
import { PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { cacheFromEnv } from '../../functions/stores/cache-from-env.js';
import { DynamoCache, cachePk } from '../../functions/stores/dynamodb-cache.js';
import { LayeredCache } from '../../functions/stores/layered-cache.js';
import { LruCache } from '../../functions/stores/lru-cache.js';
import { RedisCache } from '../../functions/stores/redis-cache.js';
import { createSluiceTables, localDynamoClient, startDynalite, type RunningDynalite } from '../support/dynalite.js';
import { startRedis, type RunningRedis } from '../support/redis.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { startTestGateway } from '../support/gateway.js';

const silent = { warn: () => undefined };
let dynalite: RunningDynalite;
let client: DynamoDBClient;
let stateTable: string;

beforeAll(async () => {
  dynalite = await startDynalite();
  client = localDynamoClient(dynalite.endpoint);
  ({ stateTable } = await createSluiceTables(client));
});
afterAll(async () => {
  client?.destroy();
  await dynalite?.close();
});

describe('DynamoCache', () => {
  it('get/set/delete; an item past expiresAt is a miss though DynamoDB still holds it', async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const cache = new DynamoCache({ client, tableName: stateTable, now: () => clock.now });
    expect(await cache.get('a')).toBeUndefined();
    await cache.set('a', 'v', 10_000);
    expect(await cache.get('a')).toBe('v');
    expect(await cache.getEntry('a')).toEqual({ value: 'v', ttlMs: 10_000 });
    clock.now += 10_000;
    expect(await cache.get('a')).toBeUndefined();
    await cache.set('b', 'w', 5000);
    await cache.delete('b');
    expect(await cache.get('b')).toBeUndefined();
  });

  it('ignores an item whose expiry passed even when its ttl attribute says otherwise', async () => {
    const now = Date.now();
    await client.send(
      new PutItemCommand({
        TableName: stateTable,
        Item: { pk: { S: cachePk('stale') }, sk: { S: 'cache' }, value: { S: 'old' }, expiresAt: { N: String(now - 1) }, ttl: { N: String(Math.ceil(now / 1000) + 3600) } },
      }),
    );
    expect(await new DynamoCache({ client, tableName: stateTable }).get('stale')).toBeUndefined();
  });

  it('a hit in DynamoDB refills the LRU above it for exactly the remaining TTL', async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const lru = new LruCache({ maxEntries: 10, now: () => clock.now });
    const dynamo = new DynamoCache({ client, tableName: stateTable, now: () => clock.now });
    const layered = new LayeredCache([
      { name: 'memory', cache: lru },
      { name: 'dynamodb', cache: dynamo, timeoutMs: 1000 },
    ]);
    await dynamo.set('shared', 'from-another-container', 4000);
    clock.now += 1000;
    expect(await layered.get('shared')).toBe('from-another-container');
    expect(layered.stats()).toMatchObject({ memory: { hits: 0, misses: 1 }, dynamodb: { hits: 1 } });
    expect(await lru.get('shared')).toBe('from-another-container');
    clock.now += 2999;
    expect(await lru.get('shared')).toBe('from-another-container');
    clock.now += 1;
    expect(await lru.get('shared')).toBeUndefined();
  });
});

describe('LayeredCache.without', () => {
  it('drops the named layers and shares counters with the full stack', async () => {
    const memory = new LruCache({ maxEntries: 10 });
    const dynamo = new DynamoCache({ client, tableName: stateTable });
    const full = new LayeredCache([
      { name: 'memory', cache: memory },
      { name: 'dynamodb', cache: dynamo, timeoutMs: 1000 },
    ]);
    const lean = full.without('dynamodb')!;
    await lean.set('only-memory', 'v', 10_000);
    expect(await dynamo.get('only-memory')).toBeUndefined();
    expect(await lean.get('only-memory')).toBe('v');
    expect(full.stats().memory!.hits).toBe(1);
    expect(full.without('nothing-by-that-name')).toBe(full);
    expect(full.without('memory', 'dynamodb')).toBeUndefined();
  });
});

describe('cacheFromEnv', () => {
  it('memory only by default, memory → redis with REDIS_URL, any order with SLUICE_CACHE_LAYERS', async () => {
    expect(cacheFromEnv({}, silent)).toBeInstanceOf(LruCache);
    expect(cacheFromEnv({ SLUICE_STORE: 'dynamodb', SLUICE_STATE_TABLE: stateTable }, silent, client)).toBeInstanceOf(LruCache);
    const withRedis = cacheFromEnv({ REDIS_URL: 'redis://127.0.0.1:1' }, silent);
    expect(Object.keys((withRedis as LayeredCache).stats())).toEqual(['memory', 'redis']);
    const stacked = cacheFromEnv({ SLUICE_CACHE_LAYERS: 'memory,redis,dynamodb', REDIS_URL: 'redis://127.0.0.1:1', SLUICE_STORE: 'dynamodb', SLUICE_STATE_TABLE: stateTable }, silent, client);
    expect(stacked).toBeInstanceOf(LayeredCache);
    expect(Object.keys((stacked as LayeredCache).stats())).toEqual(['memory', 'redis', 'dynamodb']);
    expect(() => cacheFromEnv({ SLUICE_CACHE_LAYERS: 'memory,dynamodb' }, silent)).toThrow(/SLUICE_STATE_TABLE/);
    const custom = cacheFromEnv({ SLUICE_CACHE_LAYERS: 'redis, memory', REDIS_URL: 'redis://127.0.0.1:1' }, silent);
    expect(Object.keys((custom as LayeredCache).stats())).toEqual(['redis', 'memory']);
    expect(() => cacheFromEnv({ SLUICE_CACHE_LAYERS: 'redis' }, silent)).toThrow(/REDIS_URL/);
    expect(() => cacheFromEnv({ SLUICE_CACHE_LAYERS: 'memcached' }, silent)).toThrow(/unknown layer/);
  });

  it('an unreachable REDIS_URL: reads and writes fall through to DynamoDB, nothing throws', async () => {
    // A generous bound: dynalite on a loaded CI box can take longer than the 50 ms default.
    const env = { SLUICE_CACHE_LAYERS: 'redis,dynamodb', REDIS_URL: 'redis://127.0.0.1:1', SLUICE_STORE: 'dynamodb', SLUICE_STATE_TABLE: stateTable, SLUICE_CACHE_TIMEOUT_MS: '5000' };
    const cache = cacheFromEnv(env, silent, client);
    await cache.set('env-key', 'v', 10_000);
    expect(await cache.get('env-key')).toBe('v');
    expect((cache as LayeredCache).stats().redis!.failures).toBeGreaterThanOrEqual(2);
  });
});

describe('the gateway with a stopped Redis cache', () => {
  let redis: RunningRedis;
  let upstream: OpenAIUpstream;
  beforeAll(async () => {
    redis = await startRedis();
    upstream = await startOpenAIUpstream();
  });
  afterAll(async () => {
    await upstream?.close();
    await redis?.stop();
  });

  it('requests keep succeeding while Redis is SIGSTOPped; the fall-throughs are counted', async () => {
    const redisCache = new RedisCache({ url: redis.url });
    // Redis alone in front of the store, so every request's auth lookup goes to it.
    const cache = new LayeredCache([{ name: 'redis', cache: redisCache, timeoutMs: 50 }], { breakerCooldownMs: 200 });
    const sessionsDir = await mkdtemp(join(tmpdir(), 'sluice-sessions-'));
    const sessions = new FileSessionStore({ dataDir: sessionsDir });
    const gw = await startTestGateway({ upstreamUrl: upstream.url, deps: { cache, sessions } });
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: gw.key, maxRetries: 0 });
    const ask = () => openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    try {
      await ask();
      await ask();
      expect(cache.stats().redis!.hits).toBeGreaterThanOrEqual(1);
      redis.pause();
      try {
        const t0 = performance.now();
        const answers = await Promise.all(Array.from({ length: 5 }, () => ask()));
        expect(answers.every((a) => a.choices[0]?.message.content)).toBe(true);
        for (let i = 0; i < 5; i++) expect((await ask()).choices[0]?.message.content).toBeTruthy();
        expect(performance.now() - t0).toBeLessThan(5000);
        expect(cache.stats().redis!.failures + cache.stats().redis!.skipped).toBeGreaterThanOrEqual(10);
      } finally {
        redis.resume();
      }
    } finally {
      await gw.close();
      redisCache.close();
      await sessions.idle(); // session links are written after each response
      await rm(sessionsDir, { recursive: true, force: true });
    }
  });
});
