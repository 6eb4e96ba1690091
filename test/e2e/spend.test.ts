/**
 * Budgets and rate limits as an OpenAI SDK user meets them, on the embedded default
 * (definitions in <data dir>/spend.json, counters in the process): RateLimitError
 * with Retry-After, and room again once a reservation is settled.
 */
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAnthropicUpstream, type AnthropicUpstream } from '../support/anthropic-upstream.js';
import { MemoryBudgetLedger } from '../../functions/spend/memory-ledger.js';
import { MemoryRateLimiter } from '../../functions/spend/rate-limiter.js';
import { PriceBook, costOf } from '../../functions/pricing/price-book.js';
import { toNano, type BudgetDefinition } from '../../functions/spend/definitions.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { FileSpendConfigStore } from '../../functions/spend/file-config-store.js';

const PRICE = { input: 1, output: 4 };
let upstream: OpenAIUpstream;
let gw: TestGateway;
let config: FileSpendConfigStore;

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  gw = await startTestGateway({
    upstreamUrl: upstream.url,
    env: { SLUICE_PRICING_OVERRIDES: JSON.stringify({ models: { 'test-slow@first=400': PRICE, 'test-ok': PRICE } }) },
  });
  config = new FileSpendConfigStore({ dataDir: gw.dataDir });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

const UPDATED = new Date().toISOString();

describe('spend with the OpenAI SDK', () => {
  it('a budget holds a request in flight: a second one gets RateLimitError with Retry-After, a third fits after settlement', async () => {
    const { key, record } = await gw.addKey();
    const client = new OpenAI({ baseURL: `${gw.url}/a/test/openai/v1`, apiKey: key, maxRetries: 0 });
    const messages = [{ role: 'user' as const, content: 'one two three' }];
    const request = { model: 'test-slow@first=400', max_tokens: 50, messages };
    // The reservation's worst case, as the gateway computes it: body bytes at the input rate, max_tokens at the output rate.
    const worst = (Buffer.byteLength(JSON.stringify(request)) * PRICE.input + 50 * PRICE.output) / 1e6;
    await config.putBudget({ scope: 'key', scopeId: record.id, limitUsd: 1.5 * worst, period: { kind: 'day' }, updatedAt: UPDATED });

    const first = client.chat.completions.create(request);
    await new Promise((r) => setTimeout(r, 150));
    const refused = await client.chat.completions.create(request).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    const error = refused as InstanceType<typeof OpenAI.RateLimitError>;
    expect(error.status).toBe(429);
    expect(error.code).toBe('budget_exceeded');
    expect(error.message).toContain("key's day budget");
    const retryAfter = Number(error.headers?.get('retry-after'));
    const untilMidnight = (Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + 1) - Date.now()) / 1000;
    expect(Math.abs(retryAfter - untilMidnight)).toBeLessThan(5);
    expect(error.headers?.get('x-should-retry')).toBe(untilMidnight > 60 ? 'false' : null);

    const done = await first;
    expect(done.usage?.completion_tokens).toBeGreaterThan(0);
    // Settled to a few tokens: the budget has room for another worst case.
    await new Promise((r) => setTimeout(r, 50));
    const third = await client.chat.completions.create(request);
    expect(third.choices[0]?.message.content).toBeTruthy();
  });

  it('an RPM limit: RateLimitError with Retry-After and x-ratelimit-* headers', async () => {
    const { key, record } = await gw.addKey();
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries: 0 });
    await config.putLimit({ scope: 'key', scopeId: record.id, rpm: 1, updatedAt: UPDATED });
    // Windows are UTC minutes on the real clock: keep both requests inside one.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 55_000) await new Promise((r) => setTimeout(r, 60_100 - intoMinute));
    const { response } = await client.chat.completions.create({ model: 'test-ok', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(response.headers.get('x-ratelimit-limit-requests')).toBe('1');
    expect(response.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    const refused = await client.chat.completions.create({ model: 'test-ok', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    const error = refused as InstanceType<typeof OpenAI.RateLimitError>;
    expect(error.code).toBe('rate_limit_exceeded');
    const retryAfter = Number(error.headers?.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(error.headers?.get('x-should-retry')).toBeNull();
  });

  it('with the SDK retrying (maxRetries 2), a budget that clears only at midnight is not retried', async () => {
    const { key, record } = await gw.addKey();
    await config.putBudget({ scope: 'key', scopeId: record.id, limitUsd: 0.000001, period: { kind: 'day' }, updatedAt: UPDATED });
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries: 2 });
    const before = upstream.requests.length;
    const started = Date.now();
    const refused = await client.chat.completions.create({ model: 'test-ok', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    // No backoff waits: the SDK gave up at once, and nothing reached the upstream.
    expect(Date.now() - started).toBeLessThan(400);
    expect(upstream.requests.length).toBe(before);
  });
});

describe('spend with the Anthropic SDK on the native ingress', () => {
  const PROVIDER_KEY = 'sk-ant-provider-key-for-spend-tests';
  const haiku = new PriceBook().lookup('anthropic', 'claude-haiku-4-5')!.price;
  let anthropicUpstream: AnthropicUpstream;
  let agw: TestGateway;
  let dir: string;
  let aconfig: FileSpendConfigStore;
  const ledger = new MemoryBudgetLedger();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-spend-e2e-'));
    aconfig = new FileSpendConfigStore({ dataDir: dir });
    anthropicUpstream = await startAnthropicUpstream({ apiKey: PROVIDER_KEY });
    agw = await startTestGateway({
      upstreamUrl: anthropicUpstream.url,
      proxy: { provider: 'anthropic', credentialRef: 'env:ANTHROPIC_SPEND_KEY' },
      env: { ANTHROPIC_SPEND_KEY: PROVIDER_KEY },
      deps: { spend: { config: aconfig, ledger, limiter: new MemoryRateLimiter() } },
    });
  });
  afterAll(async () => {
    await agw?.close();
    await anthropicUpstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const spent = async (b: BudgetDefinition) => {
    for (let i = 0; i < 100; i++) {
      const u = await ledger.usage(b, Date.now());
      if (u.reservedNano === 0) return u.spentNano;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('reservation never settled');
  };

  it('plain and streamed Messages settle to the cost of the usage Anthropic reported', async () => {
    const { key, record } = await agw.addKey();
    const budget: BudgetDefinition = { scope: 'key', scopeId: record.id, limitUsd: 1, period: { kind: 'day' }, updatedAt: UPDATED };
    await aconfig.putBudget(budget);
    const client = new Anthropic({ baseURL: `${agw.url}/a/test/anthropic`, apiKey: key, maxRetries: 0 });
    const plain = await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'Tell me about rivers' }] });
    const costOfMessage = (u: { input_tokens: number; output_tokens: number }) =>
      toNano(costOf(haiku, { promptTokens: u.input_tokens, completionTokens: u.output_tokens, totalTokens: u.input_tokens + u.output_tokens }));
    expect(await spent(budget)).toBe(costOfMessage(plain.usage));
    const streamed = await client.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'And about lakes' }] }).finalMessage();
    expect(streamed.usage.output_tokens).toBeGreaterThan(0);
    expect(await spent(budget)).toBe(costOfMessage(plain.usage) + costOfMessage(streamed.usage));
  });

  it('over budget: RateLimitError, Anthropic-shaped, and nothing reaches Anthropic', async () => {
    const { key, record } = await agw.addKey();
    await aconfig.putBudget({ scope: 'key', scopeId: record.id, limitUsd: 0.0001, period: { kind: 'month' }, updatedAt: UPDATED });
    const client = new Anthropic({ baseURL: `${agw.url}/a/test/anthropic`, apiKey: key, maxRetries: 0 });
    const before = anthropicUpstream.requests.length;
    const refused = await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 4_000, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Anthropic.RateLimitError);
    const error = refused as InstanceType<typeof Anthropic.RateLimitError>;
    expect(error.status).toBe(429);
    expect((error.error as { type: string; error: { type: string; message: string } }).error).toMatchObject({ type: 'rate_limit_error', message: expect.stringContaining('Budget exceeded') });
    expect(anthropicUpstream.requests.length).toBe(before);
  });
});
