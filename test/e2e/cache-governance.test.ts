/**
 * Response cache (#20) controls, isolation, expiry, single-flight and governance, through
 * the official OpenAI SDK against the local runtime and the wire-faithful OpenAI fake.
 * Time is the gateway's injected clock (deps.now, shared by the embedded store): expiry is
 * tested by moving it, never by sleeping.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryResponseCacheStore } from '../../functions/cache/memory-store.js';
import { setPolicy } from '../../functions/governance/policy-admin.js';
import { BLOCKED_NOTICE } from '../../functions/governance/response-output.js';
import type { TraceRecord } from '../../functions/traces/recorder.js';
import { stepRows } from '../../functions/traces/rows.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { replyTo, startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { traceIn } from '../support/traces.js';

let upstream: OpenAIUpstream;
let gw: TestGateway;
/** USD per million tokens, so the cost saved is known without the code under test. */
const PRICE = { input: 3, output: 12 };
let skewMs = 0;
const now = () => performance.timeOrigin + performance.now() + skewMs;
const traces: TraceRecord[] = [];

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  gw = await startTestGateway({
    upstreamUrl: upstream.url,
    proxy: { cache: { ttlSeconds: 60 } },
    // Proxies re-read on every request, so a changed policy applies at once.
    env: { SLUICE_AUTH_CACHE_TTL_MS: '1', SLUICE_PRICING_OVERRIDES: JSON.stringify({ models: { 'gpt-4o-mini': PRICE } }) },
    deps: { now, responseCache: new MemoryResponseCacheStore({ now }), traceSink: { write: async ({ record }: { record: TraceRecord }) => void traces.push(record) } },
  });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
beforeEach(() => {
  skewMs = 0;
  upstream.reset();
});

const openai = (proxyId: string, apiKey: string, headers: Record<string, string> = {}) =>
  new OpenAI({ apiKey, baseURL: `${gw.url}/a/${proxyId}/openai/v1`, maxRetries: 0, defaultHeaders: headers });
let n = 0;
/** A question no other test asked. */
const fresh = (text = 'question') => `${text} ${++n} ${Math.random().toString(36).slice(2, 8)}`;
/** Upstream calls that carried `prompt`. */
const calls = (prompt: string) => upstream.requests.filter((r) => JSON.stringify(r.body).includes(prompt)).length;

async function ask(prompt: string, opts: { proxy?: string; key?: string; headers?: Record<string, string>; model?: string } = {}) {
  const { data, response } = await openai(opts.proxy ?? 'test', opts.key ?? gw.key, opts.headers)
    .chat.completions.create({ model: opts.model ?? 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] })
    .withResponse();
  return { data, headers: response.headers, cache: response.headers.get('x-sluice-cache') };
}

describe('per-request controls', () => {
  it('Cache-Control: no-store bypasses (no lookup, nothing stored); no-cache calls the upstream and refreshes the entry', async () => {
    const q = fresh();
    await ask(q); // stored
    const bypass = await ask(q, { headers: { 'cache-control': 'no-store' } });
    expect(bypass.cache).toBe('bypass');
    expect(calls(q)).toBe(2);
    const q2 = fresh();
    expect((await ask(q2, { headers: { 'cache-control': 'no-store' } })).cache).toBe('bypass');
    expect((await ask(q2)).cache).toBe('miss'); // no-store stored nothing

    const q3 = fresh();
    await ask(q3);
    skewMs = 50_000;
    const refreshed = await ask(q3, { headers: { 'cache-control': 'no-cache' } });
    expect(refreshed.cache).toBe('miss');
    expect(calls(q3)).toBe(2);
    // The refreshed entry lives 60 s from its own store time: still a hit at 50 + 59 s.
    skewMs = 109_000;
    expect((await ask(q3)).cache).toBe('hit');
    expect(calls(q3)).toBe(2);
  });

  it('X-Sluice-Cache-Ttl lowers the TTL for the entry it stores, never raises it', async () => {
    const q = fresh();
    await ask(q, { headers: { 'x-sluice-cache-ttl': '10' } });
    skewMs = 9_000;
    expect((await ask(q)).cache).toBe('hit');
    skewMs = 11_000;
    expect((await ask(q)).cache).toBe('miss');
    expect(calls(q)).toBe(2);

    const q2 = fresh();
    skewMs = 0;
    await ask(q2, { headers: { 'x-sluice-cache-ttl': '999999' } });
    skewMs = 59_000;
    expect((await ask(q2)).cache).toBe('hit');
    skewMs = 61_000;
    expect((await ask(q2)).cache).toBe('miss');
  });

  it('X-Sluice-Cache-Ttl also bounds the age a reader accepts', async () => {
    const q = fresh();
    await ask(q);
    skewMs = 30_000;
    expect((await ask(q, { headers: { 'x-sluice-cache-ttl': '20' } })).cache).toBe('miss');
    expect((await ask(q, { headers: { 'x-sluice-cache-ttl': '40' } })).cache).toBe('hit');
  });

  it.each(['soon', '0', '-5', '1.5', ''])('a malformed X-Sluice-Cache-Ttl (%j) is a 400 in OpenAI’s error shape, before any upstream call', async (value) => {
    const q = fresh();
    const err = await ask(q, { headers: { 'x-sluice-cache-ttl': value } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    const e = err as InstanceType<typeof OpenAI.BadRequestError>;
    expect(e.param).toBe('x-sluice-cache-ttl');
    expect(e.code).toBe('invalid_cache_ttl');
    expect(e.message).toMatch(/X-Sluice-Cache-Ttl/);
    expect(calls(q)).toBe(0);
  });

  it('a malformed X-Sluice-Cache-Ttl on the Anthropic ingress is an Anthropic-shaped 400', async () => {
    const res = await fetch(`${gw.url}/a/test/anthropic/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': gw.key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-sluice-cache-ttl': 'soon' },
      body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 10, messages: [{ role: 'user', content: fresh() }] }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('X-Sluice-Cache-Ttl') } });
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('TTL expiry (injected clock)', () => {
  it('an entry is a hit until the proxy TTL, a miss after it, and the miss stores a fresh entry', async () => {
    const q = fresh();
    const first = await ask(q);
    skewMs = 59_000;
    const hit = await ask(q);
    expect(hit.cache).toBe('hit');
    expect(hit.data).toEqual(first.data);
    skewMs = 61_000;
    expect((await ask(q)).cache).toBe('miss');
    expect((await ask(q)).cache).toBe('hit');
    expect(calls(q)).toBe(2);
  });

  it('the plugin checks expiry itself: an entry a lagging store still returns is a miss', async () => {
    // A store that never deletes (as DynamoDB TTL lags and dynalite never deletes).
    const lagging = new MemoryResponseCacheStore({ now: () => 0 });
    const other = await startTestGateway({ upstreamUrl: upstream.url, proxy: { cache: { ttlSeconds: 60 } }, deps: { now, responseCache: lagging, traceSink: { write: async () => undefined } } });
    try {
      const q = fresh();
      const c = new OpenAI({ apiKey: other.key, baseURL: `${other.url}/a/test/openai/v1`, maxRetries: 0 });
      const ask2 = async () => (await c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: q }] }).withResponse()).response.headers.get('x-sluice-cache');
      expect(await ask2()).toBe('miss');
      expect(await ask2()).toBe('hit');
      skewMs = 61_000;
      expect(await ask2()).toBe('miss');
      expect(calls(q)).toBe(2);
    } finally {
      await other.close();
    }
  });
});

describe('isolation', () => {
  it('another proxy (same org, same upstream) and another org never share entries', async () => {
    await gw.addProxy({ id: 'other-proxy', cache: { ttlSeconds: 60 } });
    const otherProxyKey = (await gw.addKey({ proxyId: 'other-proxy', orgId: 'org-test' })).key;
    await gw.addProxy({ id: 'other-org', orgId: 'org-two', cache: { ttlSeconds: 60 } });
    const otherOrgKey = (await gw.addKey({ proxyId: 'other-org', orgId: 'org-two' })).key;
    const q = fresh();
    await ask(q);
    expect((await ask(q)).cache).toBe('hit');
    expect((await ask(q, { proxy: 'other-proxy', key: otherProxyKey })).cache).toBe('miss');
    expect((await ask(q, { proxy: 'other-org', key: otherOrgKey })).cache).toBe('miss');
    expect(calls(q)).toBe(3);
  });

  it('scope "key": each gateway key has its own entries; the default scope shares across keys', async () => {
    await gw.addProxy({ id: 'perkey', cache: { ttlSeconds: 60, scope: 'key' } });
    const a = (await gw.addKey({ proxyId: 'perkey' })).key;
    const b = (await gw.addKey({ proxyId: 'perkey' })).key;
    const q = fresh();
    await ask(q, { proxy: 'perkey', key: a });
    expect((await ask(q, { proxy: 'perkey', key: a })).cache).toBe('hit');
    expect((await ask(q, { proxy: 'perkey', key: b })).cache).toBe('miss');
    expect(calls(q)).toBe(2);

    const shared = (await gw.addKey()).key;
    const q2 = fresh();
    await ask(q2);
    expect((await ask(q2, { key: shared })).cache).toBe('hit');
    expect(calls(q2)).toBe(1);
  });

  it('BYOK: each caller credential has its own entries, whatever the gateway key', async () => {
    await gw.addProxy({ id: 'byok', byok: true, cache: { ttlSeconds: 60 } });
    const k1 = (await gw.addKey({ proxyId: 'byok' })).key;
    const k2 = (await gw.addKey({ proxyId: 'byok' })).key;
    const q = fresh();
    const byok = async (providerKey: string, gatewayKey: string) => {
      const { response } = await openai('byok', providerKey, { 'X-Sluice-Key': gatewayKey })
        .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: q }] })
        .withResponse();
      return response.headers.get('x-sluice-cache');
    };
    expect(await byok('sk-caller-one', k1)).toBe('miss');
    expect(upstream.requests.at(-1)!.headers.authorization).toBe('Bearer sk-caller-one');
    expect(await byok('sk-caller-one', k2)).toBe('hit');
    expect(await byok('sk-caller-two', k1)).toBe('miss');
    expect(upstream.requests.at(-1)!.headers.authorization).toBe('Bearer sk-caller-two');
    expect(await byok('sk-caller-two', k2)).toBe('hit');
    expect(calls(q)).toBe(2);
  });
});

describe('single-flight', () => {
  it('50 concurrent identical misses make one upstream call; all 50 get the same answer', async () => {
    const q = fresh();
    const results = await Promise.all(Array.from({ length: 50 }, () => ask(q, { model: 'test-slow@first=300' })));
    expect(calls(q)).toBe(1);
    expect(new Set(results.map((r) => r.data.choices[0]!.message.content))).toEqual(new Set([replyTo(q)]));
    const outcomes = results.map((r) => r.cache);
    expect(outcomes.filter((c) => c === 'miss')).toHaveLength(1);
    expect(outcomes.filter((c) => c === 'hit')).toHaveLength(49);
    expect(new Set(results.map((r) => JSON.stringify(r.data.usage))).size).toBe(1);
  });

  it('concurrent misses joined to a failing leader do not get its error as an answer, nor a cached one', async () => {
    const q = fresh();
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => ask(q, { model: 'test-slow@first=200+400' })));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    // Each waiter, left without an answer, made its own call.
    expect(calls(q)).toBe(5);
  });
});

describe('governance and the trace', () => {
  it('a policy set after the answer was stored applies to the hit: deny on a hit is a deny, redact masks it', async () => {
    const id = 'gov-cache';
    await gw.addProxy({ id, governance: { enabled: true }, cache: { ttlSeconds: 60 } });
    const { key } = await gw.addKey({ proxyId: id });
    const q = fresh('the launch code is 0000 and ACCT 1234 5678');
    const live = await ask(q, { proxy: id, key });
    expect(live.data.choices[0]!.message.content).toBe(replyTo(q));
    await setPolicy(gw.store, id, 'response', 'package sluice.policy\ndeny contains "no launch codes" if contains(input.output.text, "launch code")\n');
    const denied = await ask(q, { proxy: id, key });
    expect(denied.cache).toBe('hit');
    expect(denied.data.choices[0]!.message.content).toBe(BLOCKED_NOTICE);
    expect(denied.data.choices[0]!.finish_reason).toBe('content_filter');
    // Streamed hits pass the policy too.
    const stream = await openai(id, key).chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: q }] });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? '';
    expect(streamed).not.toContain('launch code is 0000');
    await setPolicy(gw.store, id, 'response', 'package sluice.policy\nredact contains "ACCT [0-9]{4} [0-9]{4}"\n');
    const redacted = await ask(q, { proxy: id, key });
    expect(redacted.cache).toBe('hit');
    expect(redacted.data.choices[0]!.message.content).toContain('launch code is 0000');
    expect(redacted.data.choices[0]!.message.content).not.toContain('ACCT 1234 5678');
    expect(calls(q)).toBe(1);
  });

  it('a request-stage deny never gets the cached answer', async () => {
    const id = 'gov-cache-req';
    await gw.addProxy({ id, governance: { enabled: true }, cache: { ttlSeconds: 60 } });
    const { key } = await gw.addKey({ proxyId: id });
    const q = fresh('transfer the money');
    await ask(q, { proxy: id, key });
    await setPolicy(gw.store, id, 'request', 'package sluice.policy\ndeny contains "no transfers" if { some m in input.messages; contains(m.text, "transfer") }\n');
    const err = await ask(q, { proxy: id, key }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(403);
    expect((err as InstanceType<typeof OpenAI.APIError>).headers?.get('x-sluice-cache')).not.toBe('hit');
    expect(calls(q)).toBe(1);
  });

  it('the trace and its rows say miss then hit; the hit has no llm step, costs $0 and names the cost saved', async () => {
    const q = fresh();
    const miss = await ask(q);
    const hit = await ask(q);
    const missTrace = await traceIn(traces, miss.headers.get('x-sluice-trace-id')!);
    const hitTrace = await traceIn(traces, hit.headers.get('x-sluice-trace-id')!);
    expect(missTrace && hitTrace).toBeTruthy();
    expect(missTrace!.steps.find((s) => s.name === 'cache')!.attributes).toMatchObject({ result: 'miss', scope: 'proxy' });
    expect(missTrace!.steps.some((s) => s.name === 'llm')).toBe(true);
    const usage = miss.data.usage!;
    const expectedUsd = (usage.prompt_tokens * PRICE.input + usage.completion_tokens * PRICE.output) / 1_000_000;
    expect(expectedUsd).toBeGreaterThan(0);
    const missCost = (missTrace!.attributes.cost as { usd: number | null }).usd;
    expect(missCost).toBeCloseTo(expectedUsd, 12);

    const step = hitTrace!.steps.find((s) => s.name === 'cache')!;
    expect(step.attributes).toMatchObject({ result: 'hit', scope: 'proxy' });
    expect(step.attributes.savedUsd).toBeCloseTo(expectedUsd, 12);
    expect(hitTrace!.steps.some((s) => s.name === 'llm')).toBe(false);
    expect(hitTrace!.attributes.cost).toMatchObject({ usd: 0, unknown: false });
    expect(hitTrace!.attributes.cache).toBe('hit');

    // What ClickHouse stores: the cache row's attributes, the total row's $0.
    const rows = stepRows(hitTrace!);
    const cacheRow = rows.find((r) => r.name === 'cache')!;
    expect(JSON.parse(cacheRow.attributes)).toMatchObject({ result: 'hit', savedUsd: step.attributes.savedUsd });
    expect(rows.find((r) => r.name === 'request_finished')!.cost_usd).toBe(0);
    expect(JSON.parse(stepRows(missTrace!).find((r) => r.name === 'cache')!.attributes)).toMatchObject({ result: 'miss' });
  });
});
