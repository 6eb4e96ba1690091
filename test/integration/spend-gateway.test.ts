/**
 * Budgets and rate limits through the real gateway (local runtime) on DynamoDB
 * (dynalite): the 200-way race with the test upstream reporting usage at the ceiling
 * (max_tokens), release on upstream failure and on client disconnect, undo when a
 * later scope refuses, and the x-ratelimit-* headers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createSluiceTables, localDynamoClient, startDynalite, type RunningDynalite } from '../support/dynalite.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { PriceBook, costOf, type ModelPrice } from '../../functions/pricing/price-book.js';
import { DynamoSpendConfigStore } from '../../functions/spend/dynamodb-config-store.js';
import { DynamoBudgetLedger } from '../../functions/spend/dynamodb-ledger.js';
import { DynamoRateLimiter } from '../../functions/spend/dynamodb-rate-limiter.js';
import { RedisRateLimiter } from '../../functions/spend/redis-rate-limiter.js';
import { startRedis, type RunningRedis } from '../support/redis.js';
import { Redis } from 'ioredis';
import { toNano, type BudgetDefinition } from '../../functions/spend/definitions.js';
import type { Usage } from '../../functions/gateway/types.js';

const PRICE: ModelPrice = { input: 0.15, output: 0.6 };
const MODELS = ['test-slow', 'test-500', 'test-slow@first=0,gap=150', 'gpt-4o-mini'];
const UPDATED = '2026-11-01T00:00:00.000Z';

let dynalite: RunningDynalite;
let dynamo: DynamoDBClient;
let upstream: OpenAIUpstream;
let gw: TestGateway;
/** A second gateway on the same stores whose rate counters are on Redis (the ElastiCache setup). */
let gwRedis: TestGateway;
let redisServer: RunningRedis;
let redis: Redis;
let config: DynamoSpendConfigStore;
let ledger: DynamoBudgetLedger;
// A clock early in a minute, so that rate windows do not roll over mid-test.
const t0 = performance.now();
const base = Math.floor(Date.now() / 60_000) * 60_000 + 1_000;
const now = () => base + (performance.now() - t0);

beforeAll(async () => {
  [dynalite, upstream, redisServer] = await Promise.all([startDynalite(), startOpenAIUpstream({ record: false }), startRedis()]);
  redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
  dynamo = localDynamoClient(dynalite.endpoint);
  const tables = await createSluiceTables(dynamo);
  config = new DynamoSpendConfigStore({ client: dynamo, tableName: tables.controlTable });
  ledger = new DynamoBudgetLedger({ client: dynamo, tableName: tables.stateTable });
  const limiter = new DynamoRateLimiter({ client: dynamo, tableName: tables.stateTable });
  gw = await startTestGateway({
    upstreamUrl: upstream.url,
    deps: {
      now,
      pricing: new PriceBook(undefined, { models: Object.fromEntries(MODELS.map((m) => [m, PRICE])) }),
      spend: { config, ledger, limiter },
    },
  });
  gwRedis = await startTestGateway({
    upstreamUrl: upstream.url,
    deps: {
      now,
      pricing: new PriceBook(undefined, { models: Object.fromEntries(MODELS.map((m) => [m, PRICE])) }),
      spend: { config, ledger, limiter: new RedisRateLimiter(redis) },
    },
  });
});
afterAll(async () => {
  await Promise.all([gw?.close(), gwRedis?.close()]);
  dynamo?.destroy();
  redis?.disconnect();
  await Promise.all([upstream?.close(), dynalite?.close(), redisServer?.stop()]);
});

async function newKey(gateway: TestGateway = gw): Promise<{ key: string; keyId: string }> {
  const { key, record } = await gateway.addKey();
  return { key, keyId: record.id };
}

function chat(key: string, body: Record<string, unknown>, signal?: AbortSignal, gateway: TestGateway = gw): Promise<Response> {
  return fetch(`${gateway.url}/a/test/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
}

/** Settlement is written after the client's last byte: wait for the ledger to show it. */
async function settled(b: BudgetDefinition): Promise<{ spentNano: number; reservedNano: number }> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const usage = await ledger.usage(b, now());
    if (usage.reservedNano === 0 || Date.now() > deadline) return usage;
    await new Promise((r) => setTimeout(r, 20));
  }
}

const toUsage = (u: { prompt_tokens: number; completion_tokens: number; total_tokens: number }): Usage => ({
  promptTokens: u.prompt_tokens,
  completionTokens: u.completion_tokens,
  totalTokens: u.total_tokens,
});

describe('budgets through the gateway', () => {
  it('200 concurrent requests against one budget: the spend never exceeds the limit', async () => {
    const { key, keyId } = await newKey();
    const body = { model: 'test-slow', max_tokens: 4, messages: [{ role: 'user', content: 'name every river that flows into the Black Sea' }] };
    // Each request reserves its worst case (body bytes at the input rate + 4 output tokens); room for ~40 at once.
    const worstCase = (Buffer.byteLength(JSON.stringify(body)) * PRICE.input + 4 * PRICE.output) / 1e6;
    const budget: BudgetDefinition = { scope: 'key', scopeId: keyId, limitUsd: 40 * worstCase, period: { kind: 'day' }, updatedAt: UPDATED };
    await config.putBudget(budget);

    const responses = await Promise.all(Array.from({ length: 200 }, () => chat(key, body)));
    const answers = await Promise.all(responses.map(async (r) => ({ status: r.status, headers: r.headers, json: (await r.json()) as Record<string, any> })));
    const ok = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 429);
    expect(ok.length + refused.length).toBe(200);
    expect(ok.length).toBeGreaterThanOrEqual(40);
    expect(refused.length).toBeGreaterThan(0);
    // The upstream billed each admitted request up to its ceiling.
    for (const a of ok) expect(a.json.usage.completion_tokens).toBe(4);
    const billedNano = ok.reduce((sum, a) => sum + toNano(costOf(PRICE, toUsage(a.json.usage))), 0);
    expect(billedNano).toBeLessThanOrEqual(toNano(budget.limitUsd));
    for (const a of refused) {
      expect(a.json.error).toMatchObject({ type: 'rate_limit_error', code: 'budget_exceeded' });
      expect(a.json.error.message).toMatch(/^Budget exceeded: the key's day budget of \$[\d.]+ has \$[\d.]+ left/);
      expect(Number(a.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(a.headers.get('x-sluice-trace-id')).toBeTruthy();
    }
    const usage = await settled(budget);
    expect(usage.reservedNano).toBe(0);
    // The ledger holds exactly what the upstream reported, and no more than the limit.
    expect(usage.spentNano).toBe(billedNano);
    expect(usage.spentNano).toBeLessThanOrEqual(toNano(budget.limitUsd));
  });

  it('an upstream failure releases the reservation', async () => {
    const { key, keyId } = await newKey();
    const budget: BudgetDefinition = { scope: 'key', scopeId: keyId, limitUsd: 1, period: { kind: 'month' }, updatedAt: UPDATED };
    await config.putBudget(budget);
    const res = await chat(key, { model: 'test-500', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(502);
    expect(await settled(budget)).toMatchObject({ spentNano: 0, reservedNano: 0 });
  });

  it('a client that disconnects mid-stream releases the reservation', async () => {
    const { key, keyId } = await newKey();
    const budget: BudgetDefinition = { scope: 'key', scopeId: keyId, limitUsd: 1, period: { kind: 'rolling', days: 7 }, updatedAt: UPDATED };
    await config.putBudget(budget);
    const abort = new AbortController();
    const res = await chat(key, { model: 'test-slow@first=0,gap=150', stream: true, max_tokens: 200, messages: [{ role: 'user', content: 'a b c d e f g h i j k l m n o p' }] }, abort.signal);
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    await reader.read();
    // While the stream runs, the reservation is held.
    expect((await ledger.usage(budget, now())).reservedNano).toBeGreaterThan(0);
    abort.abort();
    await reader.cancel().catch(() => undefined);
    expect(await settled(budget)).toMatchObject({ spentNano: 0, reservedNano: 0 });
  });

  it('a completed stream settles to the usage the upstream reported', async () => {
    const { key, keyId } = await newKey();
    const budget: BudgetDefinition = { scope: 'key', scopeId: keyId, limitUsd: 1, period: { kind: 'day' }, updatedAt: UPDATED };
    await config.putBudget(budget);
    const res = await chat(key, { model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, max_tokens: 3, messages: [{ role: 'user', content: 'tell me about lakes' }] });
    const text = await res.text();
    const usageLine = text.split('\n').find((l) => l.includes('"usage":{'))!;
    const usage = JSON.parse(usageLine.slice('data: '.length)).usage;
    expect(usage.completion_tokens).toBe(3);
    expect(await settled(budget)).toMatchObject({ spentNano: toNano(costOf(PRICE, toUsage(usage))), reservedNano: 0 });
  });

  it('an org budget that refuses leaves nothing reserved on the key and proxy budgets', async () => {
    const { key, keyId } = await newKey();
    const keyBudget: BudgetDefinition = { scope: 'key', scopeId: keyId, limitUsd: 5, period: { kind: 'day' }, updatedAt: UPDATED };
    const proxyBudget: BudgetDefinition = { scope: 'proxy', scopeId: 'test', limitUsd: 5, period: { kind: 'month' }, updatedAt: UPDATED };
    const orgBudget: BudgetDefinition = { scope: 'org', scopeId: 'org-test', limitUsd: 0.000001, period: { kind: 'day' }, updatedAt: UPDATED };
    await Promise.all([config.putBudget(keyBudget), config.putBudget(proxyBudget), config.putBudget(orgBudget)]);
    try {
      const res = await chat(key, { model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'hello there' }] });
      expect(res.status).toBe(429);
      const json = (await res.json()) as { error: { message: string } };
      expect(json.error.message).toContain("organization's day budget");
      // Alone, the request costs more than the whole org budget: waiting would not help.
      expect(res.headers.get('retry-after')).toBeNull();
      for (const b of [keyBudget, proxyBudget]) expect(await ledger.usage(b, now())).toMatchObject({ spentNano: 0, reservedNano: 0 });
    } finally {
      await config.deleteBudget(orgBudget);
      await config.deleteBudget(proxyBudget);
    }
  });
});

describe('rate limits through the gateway', () => {
  it('RPM per key: x-ratelimit-* headers count down, then 429 with Retry-After', async () => {
    const { key, keyId } = await newKey();
    await config.putLimit({ scope: 'key', scopeId: keyId, rpm: 3, tpm: 100_000, updatedAt: UPDATED });
    const body = { model: 'gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'ping' }] };
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await chat(key, body);
      expect(res.status).toBe(200);
      await res.text();
      remaining.push(res.headers.get('x-ratelimit-remaining-requests') ?? '');
      expect(res.headers.get('x-ratelimit-limit-requests')).toBe('3');
      expect(res.headers.get('x-ratelimit-limit-tokens')).toBe('100000');
      expect(res.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+s$/);
    }
    expect(remaining).toEqual(['2', '1', '0']);
    const res = await chat(key, body);
    expect(res.status).toBe(429);
    const json = (await res.json()) as { error: { code: string; message: string } };
    expect(json.error.code).toBe('rate_limit_exceeded');
    expect(json.error.message).toContain("key's limit of 3 requests per minute");
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(res.headers.get('x-ratelimit-remaining-requests')).toBe('0');
  });

  it('TPM per proxy counts the token upper bound; a request over the whole limit says so', async () => {
    const { key } = await newKey();
    await config.putLimit({ scope: 'proxy', scopeId: 'test', tpm: 1_000, updatedAt: UPDATED });
    try {
      const res = await chat(key, { model: 'gpt-4o-mini', max_tokens: 5_000, messages: [{ role: 'user', content: 'ping' }] });
      expect(res.status).toBe(429);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('request_too_large');
      expect(res.headers.get('retry-after')).toBeNull();
      expect(res.headers.get('x-should-retry')).toBe('false');
      const small = await chat(key, { model: 'gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'ping' }] });
      expect(small.status).toBe(200);
      await small.text();
      expect(Number(small.headers.get('x-ratelimit-remaining-tokens'))).toBeLessThan(1_000);
    } finally {
      await config.deleteLimit({ scope: 'proxy', scopeId: 'test' });
    }
  });

  it.each([
    ['DynamoDB', () => gw],
    ['Redis', () => gwRedis],
  ])('100 concurrent requests against 30 RPM per key (%s): exactly 30 reach the upstream', async (_name, gateway) => {
    const { key, keyId } = await newKey(gateway());
    await config.putLimit({ scope: 'key', scopeId: keyId, rpm: 30, updatedAt: UPDATED });
    const body = { model: 'gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'ping' }] };
    const responses = await Promise.all(Array.from({ length: 100 }, () => chat(key, body, undefined, gateway())));
    await Promise.all(responses.map((r) => r.text()));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((st) => st === 200)).toHaveLength(30);
    expect(statuses.filter((st) => st === 429)).toHaveLength(70);
    const remaining = responses.filter((r) => r.status === 200).map((r) => Number(r.headers.get('x-ratelimit-remaining-requests')));
    expect(new Set(remaining).size).toBe(30);
    expect(Math.min(...remaining)).toBe(0);
  });
});
