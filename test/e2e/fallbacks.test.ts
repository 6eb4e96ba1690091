/**
 * Retries and fallbacks (docs/providers.md "Retries and fallbacks"): a proxy whose own
 * upstream fails the way providers fail (test/support/faulty-upstream.ts) is retried with
 * backoff, then served by its fallback target — another proxy, possibly of another
 * provider — before the client gets a status line. X-Sluice-Attempts / X-Sluice-Served-By
 * tell the client, the trace's attempts[] tells the operator, spend settles once.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BudgetDefinition } from '../../functions/spend/definitions.js';
import { FileSpendConfigStore } from '../../functions/spend/file-config-store.js';
import { MemoryBudgetLedger } from '../../functions/spend/memory-ledger.js';
import { MemoryRateLimiter } from '../../functions/spend/rate-limiter.js';
import type { RoutingConfig } from '../../functions/stores/types.js';
import type { TraceRecord } from '../../functions/traces/recorder.js';
import { startAnthropicUpstream, type AnthropicUpstream } from '../support/anthropic-upstream.js';
import { refusedUrl, startFaultyUpstream, type FaultMode, type FaultyUpstream } from '../support/faulty-upstream.js';
import { setPolicy } from '../../functions/governance/policy-admin.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { traceIn } from '../support/traces.js';

const traces: TraceRecord[] = [];
const PRICE = { input: 1, output: 4 };
let openai: OpenAIUpstream;
let anthropic: AnthropicUpstream;
let gw: TestGateway;
let spendConfig: FileSpendConfigStore;
const ledger = new MemoryBudgetLedger();
const faulty: FaultyUpstream[] = [];

beforeAll(async () => {
  [openai, anthropic] = await Promise.all([startOpenAIUpstream(), startAnthropicUpstream({ apiKey: 'sk-ant-fallback' })]);
  spendConfig = new FileSpendConfigStore({ dataDir: mkdtempSync(join(tmpdir(), 'sluice-fallback-spend-')) });
  gw = await startTestGateway({
    upstreamUrl: openai.url,
    env: { ANTHROPIC_FALLBACK_KEY: 'sk-ant-fallback', OPENAI_POLICY_KEY: 'sk-openai-policy', SLUICE_PRICING_OVERRIDES: JSON.stringify({ models: { 'test-ok': PRICE } }) },
    deps: {
      traceSink: { write: async ({ record }: { record: TraceRecord }) => void traces.push(record) },
      upstreamIdleTimeoutMs: 400,
      spend: { config: spendConfig, ledger, limiter: new MemoryRateLimiter() },
    },
  });
  // The default proxy 'test' (a healthy OpenAI wire) is the usual fallback.
  await gw.addProxy({ id: 'claude', provider: 'anthropic', baseUrl: anthropic.url, credentialRef: 'env:ANTHROPIC_FALLBACK_KEY' });
});
afterAll(async () => {
  await gw?.close();
  await Promise.all([openai?.close(), anthropic?.close(), ...faulty.map((f) => f.close())]);
});

/** A proxy on a failing upstream with `routing`, and a key for it. */
async function failingProxy(id: string, mode: FaultMode | 'refused', routing: RoutingConfig, provider: 'openai-compatible' | 'anthropic' = 'openai-compatible') {
  const upstream = mode === 'refused' ? undefined : await startFaultyUpstream(mode);
  if (upstream) faulty.push(upstream);
  await gw.addProxy({ id, provider, baseUrl: upstream?.url ?? (await refusedUrl()), routing });
  const { key, record } = await gw.addKey({ proxyId: id });
  return { upstream, key, record };
}

async function chat(key: string, model = 'test-ok') {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'one two three' }] }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any>, traceId: res.headers.get('x-sluice-trace-id')! };
}

async function streamed(key: string) {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'test-ok', stream: true, messages: [{ role: 'user', content: 'one two three' }] }),
  });
  return { status: res.status, headers: res.headers, text: await res.text(), traceId: res.headers.get('x-sluice-trace-id')! };
}

describe('failure modes, each served by the fallback', () => {
  it('500: retried twice (backoff), then the fallback serves; attempts[] in the trace', async () => {
    const { upstream, key } = await failingProxy('f500', { kind: 'status', status: 500 }, { fallbacks: ['test'] });
    const r = await chat(key);
    expect(r.status).toBe(200);
    expect(r.body.choices[0].message.content).toBeTruthy();
    expect(upstream!.requests).toBe(3);
    expect(r.headers.get('x-sluice-attempts')).toBe('4');
    expect(r.headers.get('x-sluice-served-by')).toBe('test');
    const trace = await traceIn(traces, r.traceId);
    const attempts = trace!.attributes.attempts as Array<Record<string, unknown>>;
    expect(attempts.map((a) => [a.target, a.status])).toEqual([['f500', 500], ['f500', 500], ['f500', 500], ['test', 200]]);
    expect(trace!.attributes.servedBy).toBe('test');
    expect(trace!.steps.filter((s) => s.name === 'llm')).toHaveLength(4);
  });

  it('503 with Retry-After: 1 is waited for; a Retry-After over 5 s goes straight to the next target', async () => {
    const short = await failingProxy('f503', { kind: 'status', status: 503, retryAfterSeconds: 1 }, { fallbacks: ['test'], retries: 1 });
    const started = Date.now();
    const r = await chat(short.key);
    expect(r.status).toBe(200);
    expect(short.upstream!.requests).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    const long = await failingProxy('f503long', { kind: 'status', status: 503, retryAfterSeconds: 30 }, { fallbacks: ['test'] });
    const r2 = await chat(long.key);
    expect(r2.status).toBe(200);
    expect(long.upstream!.requests).toBe(1);
    expect(r2.headers.get('x-sluice-attempts')).toBe('2');
  });

  it('429 rate_limit_exceeded is retried; 429 insufficient_quota is not (next target at once)', async () => {
    const limited = await failingProxy('f429', { kind: 'rate-limit', retryAfterSeconds: 0 }, { fallbacks: ['test'] });
    expect((await chat(limited.key)).status).toBe(200);
    expect(limited.upstream!.requests).toBe(3);
    const quota = await failingProxy('fquota', { kind: 'insufficient-quota' }, { fallbacks: ['test'] });
    const r = await chat(quota.key);
    expect(r.status).toBe(200);
    expect(quota.upstream!.requests).toBe(1);
    expect(r.headers.get('x-sluice-served-by')).toBe('test');
  });

  it('a refused connection and slow headers (past the idle timeout) fail over; a 307 does not (it is the proxy misconfigured)', async () => {
    const refused = await failingProxy('frefused', 'refused', { fallbacks: ['test'], retries: 0 });
    const r = await chat(refused.key);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-sluice-attempts')).toBe('2');
    const slow = await failingProxy('fslow', { kind: 'slow-headers', delayMs: 5_000 }, { fallbacks: ['test'], retries: 0 });
    const r2 = await chat(slow.key);
    expect(r2.status).toBe(200);
    expect(slow.upstream!.requests).toBe(1);
    const trace = await traceIn(traces, r2.traceId);
    expect((trace!.attributes.attempts as Array<Record<string, unknown>>)[0]).toMatchObject({ target: 'fslow', status: 504 });
    const redirect = await failingProxy('f307', { kind: 'redirect' }, { fallbacks: ['test'] });
    const r3 = await chat(redirect.key);
    expect(r3.status).toBe(502);
    expect(r3.body.error.code).toBe('upstream_error');
    expect(redirect.upstream!.requests).toBe(1);
    expect(r3.headers.get('x-sluice-attempts')).toBe('1');
  });

  it('a per-target first-byte timeout (--timeout-first-byte) fails over a slow status line before the idle timeout', async () => {
    const slow = await failingProxy('ffirst', { kind: 'slow-headers', delayMs: 2_000 }, { fallbacks: ['test'], retries: 0, timeouts: { firstByteMs: 100, idleMs: 5_000 } });
    const r = await chat(slow.key);
    expect(r.status).toBe(200);
    const trace = await traceIn(traces, r.traceId);
    const first = (trace!.attributes.attempts as Array<Record<string, unknown>>)[0]!;
    expect(first).toMatchObject({ target: 'ffirst', status: 504 });
    expect(first.latencyMs as number).toBeLessThan(1_500);
  });

  it('a 200 stream that stalls, is cut or ends before its first body byte fails over: the client gets the fallback\'s 200, never the failed one', async () => {
    for (const fault of ['stall', 'cut', 'eof'] as const) {
      const p = await failingProxy(`fbody-${fault}`, { kind: 'stream-fault', fault }, { fallbacks: ['test'], retries: 0 });
      const r = await streamed(p.key);
      expect(r.status, fault).toBe(200);
      expect(r.headers.get('x-sluice-served-by'), fault).toBe('test');
      expect(r.headers.get('x-sluice-attempts'), fault).toBe('2');
      expect(r.text, fault).toContain('data: [DONE]');
      expect(r.text, fault).not.toContain('"error"');
      const trace = await traceIn(traces, r.traceId);
      const attempts = trace!.attributes.attempts as Array<Record<string, unknown>>;
      expect(attempts[0], fault).toMatchObject({ target: `fbody-${fault}` });
      expect([502, 504], fault).toContain(attempts[0]!.status);
      expect(attempts[1], fault).toMatchObject({ target: 'test', status: 200 });
      // The discarded attempt completed nothing: the trace is the served answer's.
      expect(trace!.attributes.error, fault).toBeUndefined();
      expect(trace!.attributes.servedBy, fault).toBe('test');
    }
  });

  it('a stream cut after its first chunk is not failed over: the client gets the chunk, then an error event and [DONE]', async () => {
    const p = await failingProxy('fbody-late', { kind: 'stream-fault', fault: 'after-first' }, { fallbacks: ['test'], retries: 0 });
    const r = await streamed(p.key);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-sluice-served-by')).toBe('fbody-late');
    expect(r.text).toContain('"content":"Hel"');
    expect(r.text).toMatch(/"error":\{[^}]*"code":"stream_interrupted"/);
    expect(r.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    const trace = await traceIn(traces, r.traceId);
    expect(trace!.attributes.error).toBeTruthy();
  });

  it('a stalled body with a per-target first-byte timeout fails over after that timeout, not the idle timeout', async () => {
    const p = await failingProxy('fbody-fb', { kind: 'stream-fault', fault: 'stall' }, { fallbacks: ['test'], retries: 0, timeouts: { firstByteMs: 100, idleMs: 5_000 } });
    const r = await streamed(p.key);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-sluice-served-by')).toBe('test');
    const trace = await traceIn(traces, r.traceId);
    const first = (trace!.attributes.attempts as Array<Record<string, unknown>>)[0]!;
    expect(first).toMatchObject({ target: 'fbody-fb', status: 504 });
    expect(first.latencyMs as number).toBeLessThan(1_500);
  });

  it('without a fallback the last failure reaches the client, after the retries', async () => {
    const { upstream, key } = await failingProxy('fnone', { kind: 'status', status: 502 }, { retries: 1 });
    const r = await chat(key);
    expect(r.status).toBe(502);
    expect(upstream!.requests).toBe(2);
    expect(r.headers.get('x-sluice-attempts')).toBe('2');
    expect(r.headers.get('x-sluice-served-by')).toBeNull();
  });
});

describe('weighted load balancing', () => {
  it('70/30 between the own upstream and another proxy holds within ±5 % over 2,000 requests', async () => {
    await gw.addProxy({ id: 'bal-west' });
    await gw.addProxy({ id: 'bal', routing: { balance: { bal: 70, 'bal-west': 30 } } });
    const { key } = await gw.addKey({ proxyId: 'bal' });
    const served: Record<string, number> = {};
    for (let batch = 0; batch < 100; batch++) {
      const results = await Promise.all(Array.from({ length: 20 }, () => chat(key)));
      for (const r of results) {
        expect(r.status).toBe(200);
        const by = r.headers.get('x-sluice-served-by')!;
        served[by] = (served[by] ?? 0) + 1;
      }
    }
    expect(Object.keys(served).sort()).toEqual(['bal', 'bal-west']);
    expect(Math.abs(served.bal! / 2000 - 0.7)).toBeLessThanOrEqual(0.05);
  });
});

describe('circuit breaker', () => {
  it('after 5 failures the primary is skipped at no cost: the fallback answers with one attempt', async () => {
    const { upstream, key } = await failingProxy('brk', { kind: 'status', status: 500 }, { fallbacks: ['test'], retries: 0 });
    for (let i = 0; i < 5; i++) expect((await chat(key)).headers.get('x-sluice-attempts')).toBe('2');
    expect(upstream!.requests).toBe(5);
    const r = await chat(key);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-sluice-attempts')).toBe('1');
    expect(upstream!.requests).toBe(5);
    const trace = await traceIn(traces, r.traceId);
    expect((trace!.attributes.attempts as Array<Record<string, unknown>>)[0]).toEqual({ target: 'brk', skipped: 'breaker_open' });
  });
});

describe('cross-provider fallback through the official SDKs', () => {
  it('OpenAI SDK: an OpenAI-wire proxy refusing connections falls back to an Anthropic proxy (translated), plain and streamed', async () => {
    const { key } = await failingProxy('to-claude', 'refused', { fallbacks: ['claude'], retries: 0 });
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries: 0 });
    const { data, response } = await client.chat.completions.create({ model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hello there' }] }).withResponse();
    expect(data.choices[0]?.message.content).toBeTruthy();
    expect(response.headers.get('x-sluice-served-by')).toBe('claude');
    const stream = await client.chat.completions.create({ model: 'claude-haiku-4-5', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hello there' }] });
    let text = '';
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish ??= chunk.choices[0]?.finish_reason;
    }
    expect(text).toBeTruthy();
    expect(finish).toBe('stop');
  });

  it('Anthropic SDK: an Anthropic proxy answering 529 overloaded falls back to an OpenAI-wire proxy', async () => {
    const { upstream, key } = await failingProxy('claude-down', { kind: 'anthropic-529' }, { fallbacks: ['test'], retries: 1 }, 'anthropic');
    const client = new Anthropic({ baseURL: `${gw.url}/a/claude-down/anthropic`, apiKey: key, maxRetries: 0 });
    const message = await client.messages.create({ model: 'test-ok', max_tokens: 50, messages: [{ role: 'user', content: 'hello there' }] });
    expect(message.content[0]?.type).toBe('text');
    expect(upstream!.requests).toBe(2);
  });
});

describe('first-chunk failover in the other ingress formats', () => {
  it('Anthropic SDK streaming: an OpenAI-wire primary that stalls or is cut before its first byte falls back; the client sees one complete message', async () => {
    for (const fault of ['stall', 'cut', 'eof'] as const) {
      const { key, upstream } = await failingProxy(`anth-${fault}`, { kind: 'stream-fault', fault }, { fallbacks: ['test'], retries: 0 });
      const client = new Anthropic({ baseURL: `${gw.url}/a/anth-${fault}/anthropic`, apiKey: key, maxRetries: 0 });
      const events: string[] = [];
      const stream = client.messages.stream({ model: 'test-ok', max_tokens: 50, messages: [{ role: 'user', content: 'hello there' }] });
      for await (const event of stream) events.push(event.type);
      const message = await stream.finalMessage();
      expect(events[0], fault).toBe('message_start');
      expect(events.at(-1), fault).toBe('message_stop');
      expect(message.content[0]?.type, fault).toBe('text');
      // The primary was asked once and gave nothing usable: the complete message is the fallback's.
      expect(upstream!.requests, fault).toBe(1);
    }
  });
});

describe('the request-stage policy, once per (provider, resolved model) before that target is tried', () => {
  const DENY_OPENAI_MINI = `package sluice.policy
deny contains "gpt-4o-mini is not sent to openai" if {
  input.provider == "openai"
  input.model.resolved == "gpt-4o-mini"
}
`;
  const DENY_MINI_ANYWHERE = `package sluice.policy
deny contains "no gpt-4o-mini anywhere" if input.model.requested == "gpt-4o-mini"
`;
  const openaiProxy = (id: string, extra: Record<string, unknown> = {}) =>
    gw.addProxy({ id, provider: 'openai', baseUrl: openai.url, credentialRef: 'env:OPENAI_POLICY_KEY', ...extra });
  /** A governed OpenAI proxy with a twin (same provider and model) and an Anthropic proxy that maps the model, as fallbacks. */
  async function governed(id: string, policy: string) {
    await openaiProxy(`${id}-twin`);
    await gw.addProxy({ id: `${id}-claude`, provider: 'anthropic', baseUrl: anthropic.url, credentialRef: 'env:ANTHROPIC_FALLBACK_KEY', modelAliases: { 'gpt-4o-mini': 'claude-haiku-4-5' } });
    await openaiProxy(id, { governance: { enabled: true }, routing: { fallbacks: [`${id}-twin`, `${id}-claude`], retries: 0 } });
    await setPolicy(gw.store, id, 'request', policy);
    const { key } = await gw.addKey({ proxyId: id });
    return { key, client: new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries: 0 }) };
  }
  const evaluations = (trace: TraceRecord) => trace.steps.filter((s) => s.name === 'policy' && s.attributes.stage === 'request' && s.attributes.mode === 'evaluated');

  it('OpenAI SDK: a deny of gpt-4o-mini on openai skips the own upstream and its twin (one evaluation for both) and the Anthropic target serves', async () => {
    const { client } = await governed('pol', DENY_OPENAI_MINI);
    openai.reset();
    anthropic.reset();
    const { data, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 50, messages: [{ role: 'user', content: 'hello there' }] }).withResponse();
    expect(data.choices[0]?.message.content).toBeTruthy();
    expect(response.headers.get('x-sluice-served-by')).toBe('pol-claude');
    expect(response.headers.get('x-sluice-attempts')).toBe('1');
    // The healthy OpenAI upstream was never called; the Anthropic one got the mapped model.
    expect(openai.requests).toHaveLength(0);
    expect(anthropic.requests).toHaveLength(1);
    expect((anthropic.requests[0]!.body as Record<string, unknown>).model).toBe('claude-haiku-4-5');
    const trace = (await traceIn(traces, response.headers.get('x-sluice-trace-id')!))!;
    const reason = 'Denied by policy: gpt-4o-mini is not sent to openai';
    expect(trace.attributes.attempts).toEqual([
      { target: 'pol', provider: 'openai', skipped: 'policy_denied', reason },
      { target: 'pol-twin', provider: 'openai', skipped: 'policy_denied', reason },
      expect.objectContaining({ target: 'pol-claude', provider: 'anthropic', status: 200 }),
    ]);
    expect(trace.attributes.servedBy).toBe('pol-claude');
    // Three targets, two distinct (provider, resolved model): two evaluations, a deny then an allow.
    expect(evaluations(trace).map((s) => s.attributes.decision)).toEqual(['deny', 'allow']);
    expect(trace.attributes.error).toBeUndefined();
  });

  it('every target denied: 403 policy_violation in the client\'s API shape (OpenAI and Anthropic SDKs), no upstream called, each pair evaluated once', async () => {
    const { client, key } = await governed('poldeny', DENY_MINI_ANYWHERE);
    openai.reset();
    anthropic.reset();
    const err = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const denied = err as InstanceType<typeof OpenAI.PermissionDeniedError>;
    expect(denied.status).toBe(403);
    expect(denied.code).toBe('policy_violation');
    expect(denied.message).toContain('no gpt-4o-mini anywhere');
    expect(openai.requests).toHaveLength(0);
    expect(anthropic.requests).toHaveLength(0);
    const trace = (await traceIn(traces, denied.headers!.get('x-sluice-trace-id')!))!;
    expect((trace.attributes.attempts as Array<Record<string, unknown>>).map((a) => [a.target, a.skipped])).toEqual([
      ['poldeny', 'policy_denied'],
      ['poldeny-twin', 'policy_denied'],
      ['poldeny-claude', 'policy_denied'],
    ]);
    expect(evaluations(trace).map((s) => s.attributes.decision)).toEqual(['deny', 'deny']);

    const claudeClient = new Anthropic({ baseURL: `${gw.url}/a/poldeny/anthropic`, apiKey: key, maxRetries: 0 });
    const anthropicErr = await claudeClient.messages.create({ model: 'gpt-4o-mini', max_tokens: 20, messages: [{ role: 'user', content: 'hello there' }] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(anthropicErr).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect((anthropicErr as InstanceType<typeof Anthropic.PermissionDeniedError>).status).toBe(403);
    expect(((anthropicErr as InstanceType<typeof Anthropic.PermissionDeniedError>).error as { type?: string }).type).toBe('error');
    expect(openai.requests).toHaveLength(0);
    expect(anthropic.requests).toHaveLength(0);
  });

  it('without other targets a deny still refuses the request at once (the policy plugin, before any plan is tried)', async () => {
    await openaiProxy('polsolo', { governance: { enabled: true } });
    await setPolicy(gw.store, 'polsolo', 'request', DENY_OPENAI_MINI);
    const { key } = await gw.addKey({ proxyId: 'polsolo' });
    openai.reset();
    const r = await chat(key, 'gpt-4o-mini');
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('policy_violation');
    expect(r.headers.get('x-sluice-attempts')).toBeNull();
    expect(openai.requests).toHaveLength(0);
  });
});

describe('outage', () => {
  const settled = async (b: BudgetDefinition) => {
    for (let i = 0; i < 200; i++) {
      const u = await ledger.usage(b, Date.now());
      if (u.reservedNano === 0) return u.spentNano;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('reservations never settled');
  };
  const budgetFor = async (keyId: string): Promise<BudgetDefinition> => {
    const b: BudgetDefinition = { scope: 'key', scopeId: keyId, limitUsd: 1000, period: { kind: 'day' }, updatedAt: new Date().toISOString() };
    await spendConfig.putBudget(b);
    return b;
  };

  it('200 concurrent requests while the primary is down: all served by the fallback, spend settled once each', async () => {
    const { key, record } = await failingProxy('outage', 'refused', { fallbacks: ['test'], retries: 0 });
    const one = await budgetFor(record.id);
    expect((await chat(key)).status).toBe(200);
    const perRequest = await settled(one);
    expect(perRequest).toBeGreaterThan(0);

    const other = await gw.addKey({ proxyId: 'outage' });
    const many = await budgetFor(other.record.id);
    const results = await Promise.all(Array.from({ length: 200 }, () => chat(other.key)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(200);
    expect(new Set(results.map((r) => r.headers.get('x-sluice-served-by')))).toEqual(new Set(['test']));
    expect(await settled(many)).toBe(200 * perRequest);
  });

  it('streamed requests whose primary body is cut before its first byte: spend settled once each, as for a request served directly', async () => {
    const direct = await gw.addKey({ proxyId: 'test' });
    const directBudget = await budgetFor(direct.record.id);
    expect((await streamed(direct.key)).status).toBe(200);
    const perRequest = await settled(directBudget);
    expect(perRequest).toBeGreaterThan(0);

    const { key, record } = await failingProxy('cut-spend', { kind: 'stream-fault', fault: 'cut' }, { fallbacks: ['test'], retries: 0 });
    const budget = await budgetFor(record.id);
    for (let i = 0; i < 5; i++) {
      const r = await streamed(key);
      expect(r.status).toBe(200);
      expect(r.headers.get('x-sluice-served-by')).toBe('test');
      expect(r.text).toContain('data: [DONE]');
    }
    // The discarded attempts settled nothing: five requests cost five direct ones.
    expect(await settled(budget)).toBe(5 * perRequest);
  });
});
