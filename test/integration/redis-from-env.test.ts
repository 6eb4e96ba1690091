/**
 * The Redis layers as the environment builds them (REDIS_URL), against a real
 * redis-server: the cache layer and the rate limiter load ioredis on their first call,
 * and what they write is in Redis, where a client of our own reads it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { spendFromEnv } from '../../functions/spend/from-env.js';
import { windowOf } from '../../functions/spend/rate-limiter.js';
import { cacheFromEnv } from '../../functions/stores/cache-from-env.js';
import { LayeredCache } from '../../functions/stores/layered-cache.js';
import { startRedis, type RunningRedis } from '../support/redis.js';

const silent = { warn: () => undefined };
let server: RunningRedis;
let reader: Redis;

beforeAll(async () => {
  server = await startRedis();
  reader = new Redis(server.url, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  reader?.disconnect();
  await server?.stop();
});

describe('cacheFromEnv with REDIS_URL', () => {
  it('writes through to Redis and reads back what another client put there', async () => {
    // A generous bound: the first call loads the Redis module and connects.
    const cache = cacheFromEnv({ SLUICE_CACHE_LAYERS: 'redis', REDIS_URL: server.url, SLUICE_CACHE_TIMEOUT_MS: '5000' }, silent) as LayeredCache;
    await cache.set('from-env', 'v1', 60_000);
    expect(await reader.get('sluice:from-env')).toBe('v1');
    const ttl = await reader.pttl('sluice:from-env');
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);

    await reader.set('sluice:put-by-other', 'theirs', 'PX', 60_000);
    expect(await cache.get('put-by-other')).toBe('theirs');
    await cache.delete('from-env');
    expect(await reader.exists('sluice:from-env')).toBe(0);
    expect(cache.stats().redis).toMatchObject({ hits: 1, failures: 0 });
  });

  it('memory over Redis: a value only Redis holds is served and refilled with its remaining TTL', async () => {
    await reader.set('sluice:layered', 'deep', 'PX', 30_000);
    const cache = cacheFromEnv({ REDIS_URL: server.url, SLUICE_CACHE_TIMEOUT_MS: '5000' }, silent) as LayeredCache;
    expect(await cache.get('layered')).toBe('deep');
    await reader.del('sluice:layered');
    expect(await cache.get('layered')).toBe('deep'); // now from the memory layer
    expect(cache.stats()).toMatchObject({ memory: { hits: 1 }, redis: { hits: 1 } });
  });
});

describe('a REDIS_URL ioredis cannot parse', () => {
  it('fails when the cache and the spend services are built (the cold start), not on the first call', () => {
    for (const url of ['redis://cache.internal:port', 'redis://:%zz@cache.internal:6379']) {
      const error = url.includes('%zz') ? URIError : TypeError;
      expect(() => cacheFromEnv({ REDIS_URL: url }, silent)).toThrow(error);
      expect(() => spendFromEnv({ REDIS_URL: url })).toThrow(error);
    }
  });
});

describe('spendFromEnv with REDIS_URL', () => {
  it('counts requests and tokens in Redis, refuses past the limit, and refunds', async () => {
    const limiter = spendFromEnv({ REDIS_URL: server.url, SLUICE_DATA_DIR: '/nonexistent-not-used' })!.limiter;
    const now = Date.UTC(2026, 0, 1, 12, 0, 30);
    const key = `key#from-env-${process.pid}`;
    const first = await limiter.consume(key, { rpm: 2, tpm: 100 }, 40, now);
    expect(first).toMatchObject({ ok: true, requests: 1, tokens: 40 });
    const hash = `sluice:${key}#${windowOf(now)}`;
    expect(await reader.hgetall(hash)).toEqual({ r: '1', t: '40' });

    expect(await limiter.consume(key, { rpm: 2, tpm: 100 }, 70, now)).toMatchObject({ ok: false, requests: 1, tokens: 40 });
    const second = await limiter.consume(key, { rpm: 2, tpm: 100 }, 50, now);
    expect(second).toMatchObject({ ok: true, requests: 2, tokens: 90 });
    await limiter.refund(second.window, 50);
    expect(await reader.hgetall(hash)).toEqual({ r: '1', t: '40' });
  });
});
