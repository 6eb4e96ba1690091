/**
 * Rate limiters under concurrency: Redis (a real redis-server), DynamoDB (dynalite)
 * and the in-process one. Exactly the allowed number of requests and tokens get in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createSluiceTables, localDynamoClient, startDynalite, type RunningDynalite } from '../support/dynalite.js';
import { startRedis, type RunningRedis } from '../support/redis.js';
import { DynamoRateLimiter } from '../../functions/spend/dynamodb-rate-limiter.js';
import { RedisRateLimiter } from '../../functions/spend/redis-rate-limiter.js';
import { MemoryRateLimiter, type RateLimiter } from '../../functions/spend/rate-limiter.js';

let dynalite: RunningDynalite;
let dynamo: DynamoDBClient;
let stateTable: string;
let redisServer: RunningRedis;
let redis: Redis;

beforeAll(async () => {
  [dynalite, redisServer] = await Promise.all([startDynalite(), startRedis()]);
  dynamo = localDynamoClient(dynalite.endpoint);
  ({ stateTable } = await createSluiceTables(dynamo));
  redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  redis?.disconnect();
  dynamo?.destroy();
  await Promise.all([dynalite?.close(), redisServer?.stop()]);
});

const T0 = Date.UTC(2026, 10, 23, 12, 0, 10);
let seq = 0;

describe.each([
  ['redis', () => new RedisRateLimiter(redis, { keyPrefix: `t${process.pid}:` }) as RateLimiter],
  ['dynamodb', () => new DynamoRateLimiter({ client: dynamo, tableName: stateTable }) as RateLimiter],
  ['memory', () => new MemoryRateLimiter() as RateLimiter],
])('%s rate limiter', (_name, make) => {
  it('200 concurrent requests against 50 RPM: exactly 50 get in', async () => {
    const limiter = make();
    const key = `rate#key#k${++seq}`;
    const outcomes = await Promise.all(Array.from({ length: 200 }, () => limiter.consume(key, { rpm: 50 }, 10, T0)));
    expect(outcomes.filter((o) => o.ok)).toHaveLength(50);
    const refused = outcomes.find((o) => !o.ok)!;
    expect(refused.requests).toBe(50);
    expect(refused.resetsAt).toBe(Date.UTC(2026, 10, 23, 12, 1, 0));
  });

  it('200 concurrent requests of 37 tokens against 1000 TPM: 27 get in, never more tokens than allowed', async () => {
    const limiter = make();
    const key = `rate#proxy#p${++seq}`;
    const outcomes = await Promise.all(Array.from({ length: 200 }, () => limiter.consume(key, { tpm: 1000 }, 37, T0)));
    const ok = outcomes.filter((o) => o.ok);
    expect(ok).toHaveLength(27);
    expect(Math.max(...ok.map((o) => o.tokens))).toBe(27 * 37);
  });

  it('both limits are checked and counted together; a refund gives both back; the next minute starts afresh', async () => {
    const limiter = make();
    const key = `rate#key#k${++seq}`;
    const first = await limiter.consume(key, { rpm: 2, tpm: 100 }, 60, T0);
    expect(first).toMatchObject({ ok: true, requests: 1, tokens: 60 });
    // Fits the RPM, not the TPM: nothing is counted.
    expect(await limiter.consume(key, { rpm: 2, tpm: 100 }, 50, T0)).toMatchObject({ ok: false, requests: 1, tokens: 60 });
    await limiter.refund(first.window, 60);
    expect(await limiter.consume(key, { rpm: 2, tpm: 100 }, 100, T0)).toMatchObject({ ok: true, requests: 1, tokens: 100 });
    expect((await limiter.consume(key, { rpm: 2, tpm: 100 }, 1, T0)).ok).toBe(false);
    expect(await limiter.consume(key, { rpm: 2, tpm: 100 }, 100, T0 + 60_000)).toMatchObject({ ok: true, requests: 1, tokens: 100 });
  });

  it('a request larger than the whole TPM is refused even in a fresh window', async () => {
    const limiter = make();
    expect(await limiter.consume(`rate#key#k${++seq}`, { tpm: 100 }, 101, T0)).toMatchObject({ ok: false, requests: 0, tokens: 0 });
  });
});
