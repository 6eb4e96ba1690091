/**
 * The Redis cache layer against a real redis-server (plain, AUTH, TLS), and the layered
 * cache when that server is stopped (SIGSTOP) or killed mid-run: every call falls
 * through within the bounded timeout, is counted, and nothing fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LayeredCache } from '../../functions/stores/layered-cache.js';
import { LruCache } from '../../functions/stores/lru-cache.js';
import { RedisCache } from '../../functions/stores/redis-cache.js';
import { startRedis, type RunningRedis } from '../support/redis.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('RedisCache on a real redis-server', () => {
  let redis: RunningRedis;
  let cache: RedisCache;
  beforeAll(async () => {
    redis = await startRedis();
    cache = new RedisCache({ url: redis.url });
  });
  afterAll(async () => {
    cache?.close();
    await redis?.stop();
  });

  it('get/set/delete with a millisecond TTL, and the remaining TTL', async () => {
    expect(await cache.get('absent')).toBeUndefined();
    await cache.set('k', 'v1', 60_000);
    expect(await cache.get('k')).toBe('v1');
    const entry = await cache.getEntry('k');
    expect(entry?.value).toBe('v1');
    expect(entry!.ttlMs).toBeGreaterThan(59_000);
    expect(entry!.ttlMs).toBeLessThanOrEqual(60_000);
    await cache.set('short', 'x', 30);
    await sleep(60);
    expect(await cache.get('short')).toBeUndefined();
    await cache.delete('k');
    expect(await cache.get('k')).toBeUndefined();
    await cache.set('k', 'v2', 0); // a non-positive TTL means "do not cache"
    expect(await cache.get('k')).toBeUndefined();
  });

  it('connects on first use: concurrent first calls wait for the one connection', async () => {
    const fresh = new RedisCache({ url: redis.url, keyPrefix: 'fresh:' });
    try {
      expect(fresh.client.status).toBe('wait'); // no I/O at construction
      await Promise.all(Array.from({ length: 10 }, (_, i) => fresh.set(`k${i}`, `v${i}`, 10_000)));
      expect(await Promise.all(Array.from({ length: 10 }, (_, i) => fresh.get(`k${i}`)))).toEqual(Array.from({ length: 10 }, (_, i) => `v${i}`));
    } finally {
      fresh.close();
    }
  });

  it('keys are prefixed, so deployments can share a Redis', async () => {
    const other = new RedisCache({ url: redis.url, keyPrefix: 'other:' });
    try {
      await cache.set('shared', 'mine', 10_000);
      expect(await other.get('shared')).toBeUndefined();
      expect(await other.client.get('sluice:shared')).toBe('mine');
    } finally {
      other.close();
    }
  });
});

describe('AUTH and TLS from REDIS_URL', () => {
  let redis: RunningRedis;
  beforeAll(async () => {
    redis = await startRedis({ tls: true, password: 'p@ss word' });
  });
  afterAll(() => redis?.stop());

  it('rediss:// with the password in the URL works', async () => {
    expect(redis.url).toMatch(/^rediss:\/\/:p%40ss%20word@127\.0\.0\.1:\d+$/);
    const cache = new RedisCache({ url: redis.url, tls: { ca: redis.ca! } });
    try {
      await cache.set('secure', 'yes', 10_000);
      expect(await cache.get('secure')).toBe('yes');
    } finally {
      cache.close();
    }
  });

  it('a wrong password or an untrusted certificate falls through, counted, without failing', async () => {
    const wrongPass = new RedisCache({ url: redis.url.replace('p%40ss%20word', 'nope'), tls: { ca: redis.ca! } });
    const untrusted = new RedisCache({ url: redis.url });
    const fallback = new LruCache({ maxEntries: 10 });
    await fallback.set('k', 'from-fallback', 10_000);
    const warnings: string[] = [];
    const logger = { warn: (...args: unknown[]) => void warnings.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')) };
    try {
      for (const redisLayer of [wrongPass, untrusted]) {
        const layered = new LayeredCache(
          [
            { name: 'redis', cache: redisLayer, timeoutMs: 500 },
            { name: 'next', cache: fallback },
          ],
          { logger },
        );
        expect(await layered.get('k')).toBe('from-fallback');
        await layered.set('k2', 'v', 1000);
        expect(layered.stats().redis!.failures).toBe(2);
        expect(layered.stats().next!.hits).toBe(1);
      }
      expect(warnings).toHaveLength(2);
      expect(warnings.join('\n')).toContain('cache layer unavailable');
      expect(warnings.join('\n')).not.toMatch(/p@ss|p%40ss|nope/); // credentials never reach the logs
    } finally {
      wrongPass.close();
      untrusted.close();
    }
  });
});

describe('layered cache with a stopped Redis', () => {
  let redis: RunningRedis;
  let redisCache: RedisCache;
  beforeAll(async () => {
    redis = await startRedis();
    redisCache = new RedisCache({ url: redis.url });
  });
  afterAll(async () => {
    redisCache?.close();
    await redis?.stop();
  });

  it('SIGSTOP mid-run: calls fall through within the 50 ms bound, counted; the breaker then skips Redis; SIGCONT recovers', async () => {
    const next = new LruCache({ maxEntries: 100 });
    // The breaker runs on a clock the test moves, so a slow CI box cannot close it early.
    const clock = { now: 0 };
    const layered = new LayeredCache(
      [
        { name: 'redis', cache: redisCache, timeoutMs: 50 },
        { name: 'next', cache: next },
      ],
      { breakerFailures: 3, breakerCooldownMs: 300, now: () => clock.now },
    );
    await layered.set('a', '1', 60_000);
    expect(await layered.get('a')).toBe('1');
    expect(layered.stats().redis!.hits).toBe(1);

    redis.pause();
    try {
      const timings: number[] = [];
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now();
        expect(await layered.get('a')).toBe('1'); // served by the next layer, which got the write too
        timings.push(performance.now() - t0);
      }
      const stats = layered.stats().redis!;
      expect(stats.failures).toBe(3);
      expect(stats.skipped).toBe(7);
      expect(Math.max(...timings.slice(0, 3))).toBeLessThan(300); // the 50 ms bound plus scheduling slack on a loaded CI box
      expect(Math.min(...timings.slice(0, 3))).toBeGreaterThanOrEqual(45);
      expect(Math.max(...timings.slice(3))).toBeLessThan(40); // breaker open: no waiting on Redis at all
      const t0 = performance.now();
      await layered.set('b', '2', 60_000); // still answers (writes to the next layer)
      expect(performance.now() - t0).toBeLessThan(40); // breaker still open
      expect(await next.get('b')).toBe('2');
    } finally {
      redis.resume();
    }
    clock.now += 300; // cooldown over: Redis is tried again and answers
    expect(await layered.get('a')).toBe('1');
    expect(layered.stats().redis!.hits).toBe(2);
  });

  it('a killed Redis: calls fail fast and fall through; the request never sees an error', async () => {
    const local = await startRedis();
    const cache = new RedisCache({ url: local.url });
    const next = new LruCache({ maxEntries: 10 });
    await next.set('k', 'v', 60_000);
    const layered = new LayeredCache([
      { name: 'redis', cache, timeoutMs: 50 },
      { name: 'next', cache: next },
    ]);
    try {
      expect(await layered.get('k')).toBe('v');
      await local.stop();
      await sleep(20);
      const t0 = performance.now();
      expect(await layered.get('k')).toBe('v');
      expect(performance.now() - t0).toBeLessThan(300); // within the bound (it fails fast in practice), with slack for a loaded CI box
      expect(layered.stats().redis!.failures).toBeGreaterThanOrEqual(1);
    } finally {
      cache.close();
      await local.stop();
    }
  });
});
