/**
 * Request metrics (functions/observability/metrics.ts, metrics-emitter.ts): derived from
 * the finished traces of real requests through the handler (fake OpenAI upstream), written
 * as EMF by Powertools Metrics into an injected sink, and checked against the CloudWatch
 * Embedded Metric Format specification.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { depsFromEnv } from '../../../functions/gateway/deps.js';
import { metricsEmitterFromEnv, powertoolsEmitter } from '../../../functions/observability/metrics-emitter.js';
import { metricsFromTrace, type RequestMetrics } from '../../../functions/observability/metrics.js';
import type { TraceRecord } from '../../../functions/traces/recorder.js';
import { refusedUrl } from '../../support/faulty-upstream.js';
import { startTestGateway, type TestGateway } from '../../support/gateway.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../../support/openai-upstream.js';

const NAMESPACE = 'SluiceTest';
/** USD per million tokens of the cached proxy's model. */
const CACHE_PRICE = { input: 2, output: 8 };
const SERVICE = 'sluice-gateway';
let upstream: OpenAIUpstream;
let gw: TestGateway;
const traces: TraceRecord[] = [];
const lines: string[] = [];

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  gw = await startTestGateway({
    upstreamUrl: upstream.url,
    proxy: { allowedModels: ['gpt-4o-mini', 'gpt-4.1'] },
    env: { SLUICE_PRICING_OVERRIDES: JSON.stringify({ models: { 'gpt-cache-priced': CACHE_PRICE } }) },
    deps: {
      traceSink: { write: async ({ record }) => void traces.push(record) },
      metrics: powertoolsEmitter({ namespace: NAMESPACE, service: SERVICE, sink: (line) => lines.push(line), warn: (w) => lines.push(`WARN ${w}`) }),
    },
  });
  await gw.addProxy({ id: 'open' }); // no allow-list: every model is `other`
  await gw.addProxy({ id: 'cached', cache: { ttlSeconds: 60 }, allowedModels: ['gpt-cache-priced'] });
  await gw.addProxy({ id: 'down', baseUrl: await refusedUrl(), routing: { fallbacks: ['test'], retries: 0 } });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

async function chat(key: string, model: string, stream = false) {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'count my tokens' }] }),
  });
  await res.text();
  return { status: res.status, traceId: res.headers.get('x-sluice-trace-id')! };
}

async function until<T>(get: () => T | undefined): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const v = get();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('timed out waiting');
}

type Emf = Record<string, any>;
const emfOf = (traceId: string) => until(() => lines.map((l) => JSON.parse(l) as Emf).find((e) => e.traceId === traceId));
const traceOf = (traceId: string) => until(() => traces.find((t) => t.traceId === traceId));
const byName = (m: RequestMetrics) => Object.fromEntries(m.metrics.map((d) => [d.name, d.value]));

const UNITS = new Set(['Seconds', 'Microseconds', 'Milliseconds', 'Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terabytes', 'Bits', 'Kilobits', 'Megabits', 'Gigabits', 'Terabits', 'Percent', 'Count', 'Bytes/Second', 'Kilobytes/Second', 'Megabytes/Second', 'Gigabytes/Second', 'Terabytes/Second', 'Bits/Second', 'Kilobits/Second', 'Megabits/Second', 'Gigabits/Second', 'Terabits/Second', 'Count/Second', 'None']);

/** The EMF specification's rules (docs.aws.amazon.com, CloudWatch_Embedded_Metric_Format_Specification). */
function expectValidEmf(doc: Emf) {
  const aws = doc._aws;
  expect(typeof aws.Timestamp).toBe('number');
  expect(Array.isArray(aws.CloudWatchMetrics)).toBe(true);
  for (const directive of aws.CloudWatchMetrics) {
    expect(typeof directive.Namespace).toBe('string');
    expect(directive.Namespace.length).toBeGreaterThan(0);
    for (const set of directive.Dimensions) {
      expect(set.length).toBeLessThanOrEqual(30);
      for (const key of set) expect(typeof doc[key]).toBe('string');
    }
    expect(directive.Metrics.length).toBeLessThanOrEqual(100);
    for (const metric of directive.Metrics) {
      expect(metric.Name).toMatch(/^[A-Za-z0-9_]{1,255}$/);
      expect(UNITS.has(metric.Unit)).toBe(true);
      expect(typeof doc[metric.Name]).toBe('number');
    }
  }
}

describe('request metrics from real traces', () => {
  it('a streamed call on an allow-listed model: requests, latency, TTFT, tokens, attempts under proxy and model', async () => {
    const { status, traceId } = await chat(gw.key, 'gpt-4o-mini', true);
    expect(status).toBe(200);
    const trace = await traceOf(traceId);
    const m = metricsFromTrace(trace, gw.proxy.allowedModels);
    expect(m.proxy).toBe('test');
    expect(m.model).toBe('gpt-4o-mini');
    const v = byName(m);
    expect(v.Requests).toBe(1);
    expect(v.Errors).toBeUndefined();
    expect(v.LatencyMs).toBe(trace.attributes.latencyMs);
    expect(v.TtftMs).toBe(trace.attributes.ttftMs);
    expect(v.InputTokens).toBe((trace.attributes.usage as any).promptTokens);
    expect(v.OutputTokens).toBe((trace.attributes.usage as any).completionTokens);
    expect(v.OutputTokens).toBeGreaterThan(0);
    expect(v.Attempts).toBe(1);
    expect(v.Fallbacks).toBe(0);
    // Unpriced model: no cost figure, counted as unpriced.
    expect(v.UnpricedRequests).toBe(1);

    const emf = await emfOf(traceId);
    expectValidEmf(emf);
    const directive = emf._aws.CloudWatchMetrics[0];
    expect(directive.Namespace).toBe(NAMESPACE);
    expect(directive.Dimensions).toEqual(expect.arrayContaining([['service'], ['service', 'proxy'], ['service', 'proxy', 'model']]));
    expect(directive.Dimensions).toHaveLength(3);
    expect(emf).toMatchObject({ service: SERVICE, proxy: 'test', model: 'gpt-4o-mini', Requests: 1, InputTokens: v.InputTokens, OutputTokens: v.OutputTokens });
    expect(directive.Metrics).toEqual(expect.arrayContaining([{ Name: 'LatencyMs', Unit: 'Milliseconds' }, { Name: 'TtftMs', Unit: 'Milliseconds' }, { Name: 'Requests', Unit: 'Count' }]));
  });

  it('an error code is a metric name, not a dimension: a model refused by the allow-list is Errors_model_not_allowed under model `other`', async () => {
    const { status, traceId } = await chat(gw.key, 'gpt-4o');
    expect(status).toBe(403);
    const emf = await emfOf(traceId);
    expectValidEmf(emf);
    expect(emf).toMatchObject({ proxy: 'test', model: 'other', Requests: 1, Errors: 1, Errors_model_not_allowed: 1 });
    for (const set of emf._aws.CloudWatchMetrics[0].Dimensions) expect(set).not.toContain('code');
  });

  it('an unknown model on a proxy without an allow-list is `other`: the dimension never takes what a client sends', async () => {
    const { key } = await gw.addKey({ proxyId: 'open' });
    const { status, traceId } = await chat(key, 'gpt-4o-mini-' + 'x'.repeat(40));
    expect(status).toBe(200);
    expect(metricsFromTrace(await traceOf(traceId), undefined).model).toBe('other');
    expect(await emfOf(traceId)).toMatchObject({ proxy: 'open', model: 'other', Requests: 1 });
  });

  it('a request refused by auth is proxy `none`, Errors_invalid_api_key', async () => {
    const { status, traceId } = await chat('sk-sluice-not-a-key', 'gpt-4o-mini');
    expect(status).toBe(401);
    const emf = await emfOf(traceId);
    expectValidEmf(emf);
    expect(emf).toMatchObject({ proxy: 'none', model: 'other', Errors: 1, Errors_invalid_api_key: 1 });
  });

  it('a fallback: the refused primary and the served fallback are 2 attempts and 1 fallback', async () => {
    const { key } = await gw.addKey({ proxyId: 'down' });
    const { status, traceId } = await chat(key, 'gpt-4o-mini');
    expect(status).toBe(200);
    const emf = await emfOf(traceId);
    expect(emf).toMatchObject({ proxy: 'down', Attempts: 2, Fallbacks: 1, Requests: 1 });
    expect(emf.Errors).toBeUndefined();
  });

  it('the response cache: a miss is CacheMisses, a hit CacheHits with CacheSavedUsd and CostUsd 0; a proxy without a cache has neither', async () => {
    const { key } = await gw.addKey({ proxyId: 'cached' });
    const ask = async () => {
      const res = await fetch(`${gw.url}/a/cached/openai/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-cache-priced', messages: [{ role: 'user', content: 'cache my tokens' }] }),
      });
      const body = (await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
      return { cache: res.headers.get('x-sluice-cache'), traceId: res.headers.get('x-sluice-trace-id')!, usage: body.usage };
    };
    const miss = await ask();
    const hit = await ask();
    expect([miss.cache, hit.cache]).toEqual(['miss', 'hit']);
    const missEmf = await emfOf(miss.traceId);
    expect(missEmf).toMatchObject({ proxy: 'cached', model: 'gpt-cache-priced', CacheMisses: 1 });
    expect(missEmf.CacheHits).toBeUndefined();
    const saved = (hit.usage.prompt_tokens * CACHE_PRICE.input + hit.usage.completion_tokens * CACHE_PRICE.output) / 1_000_000;
    const hitEmf = await emfOf(hit.traceId);
    expectValidEmf(hitEmf);
    expect(hitEmf).toMatchObject({ proxy: 'cached', CacheHits: 1, CostUsd: 0 });
    expect(hitEmf.CacheSavedUsd).toBeCloseTo(saved, 12);
    expect(hitEmf.CacheMisses).toBeUndefined();
    expect(hitEmf.Attempts).toBeUndefined();
    const plain = await chat(gw.key, 'gpt-4o-mini');
    const plainEmf = await emfOf(plain.traceId);
    expect(plainEmf.CacheHits ?? plainEmf.CacheMisses ?? plainEmf.CacheSavedUsd).toBeUndefined();
  });

  it('one EMF line per request, and no Powertools warning', async () => {
    const before = lines.length;
    const ids = await Promise.all([1, 2, 3].map(() => chat(gw.key, 'gpt-4.1').then((r) => r.traceId)));
    await Promise.all(ids.map(traceOf));
    await until(() => (lines.length >= before + 3 ? true : undefined));
    await new Promise((r) => setTimeout(r, 50));
    const docs = lines.slice(before).map((l) => JSON.parse(l) as Emf);
    expect(docs.map((d) => d.traceId).sort()).toEqual([...ids].sort());
    expect(lines.filter((l) => l.startsWith('WARN'))).toEqual([]);
  });
});

describe('policy decisions', () => {
  const record = (steps: Array<Record<string, unknown>>): TraceRecord => ({
    traceId: 't',
    startedAt: '',
    sessionId: '',
    properties: {},
    attributes: { proxyId: 'p', modelResolved: 'm', status: 200, latencyMs: 3 },
    steps: steps.map((attributes, i) => ({ stepId: String(i), name: 'policy', offsetMs: 0, attributes })),
  });
  it('counts allow, deny, hold and approved as Policy_<decision>, and policy errors', () => {
    const v = byName(metricsFromTrace(record([{ stage: 'request', decision: 'hold' }, { stage: 'response', decision: 'allow' }, { stage: 'request', mode: 'error' }, { stage: 'response', mode: 'skipped' }]), ['m']));
    expect(v).toMatchObject({ Policy_hold: 1, Policy_allow: 1, PolicyErrors: 1 });
    expect(v.Policy_deny).toBeUndefined();
  });
  it('an error code outside the snake_case form counts as Errors_other (bounded names)', () => {
    const r = record([]);
    r.attributes = { ...r.attributes, status: 502, error: { code: 'Weird Code <x>' } };
    expect(byName(metricsFromTrace(r, ['m']))).toMatchObject({ Errors: 1, Errors_other: 1 });
  });
});

describe('only where the deploy set a namespace', () => {
  it('no emitter without POWERTOOLS_METRICS_NAMESPACE (npm start, a bare container, even in Lambda); one with it (the CDK sets it in both runtimes)', () => {
    expect(metricsEmitterFromEnv({})).toBeUndefined();
    expect(depsFromEnv({}).metrics).toBeUndefined();
    expect(metricsEmitterFromEnv({ AWS_LAMBDA_FUNCTION_NAME: 'sluice-gateway' })).toBeUndefined();
    expect(metricsEmitterFromEnv({ POWERTOOLS_METRICS_NAMESPACE: 'Sluice' })).toBeDefined();
    expect(depsFromEnv({ POWERTOOLS_METRICS_NAMESPACE: 'Sluice' }).metrics).toBeDefined();
  });
});
