/**
 * OpenTelemetry export end to end: real requests through the gateway (the official
 * OpenAI SDK on the local runtime, SLUICE_TRACE_SINK=jsonl,otlp) arrive at an OTLP/HTTP
 * receiver as GenAI spans, in protobuf (the default) and in JSON, and every required
 * field is checked on the decoded spans.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let upstream: OpenAIUpstream;
let receiver: OtlpReceiver;

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  receiver = await startOtlpReceiver();
});
afterAll(async () => {
  await receiver?.close();
  await upstream?.close();
});
beforeEach(() => upstream.reset());

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

function gatewayWith(env: Record<string, string>): Promise<TestGateway> {
  return startTestGateway({
    upstreamUrl: upstream.url,
    env: { SLUICE_TRACE_SINK: 'jsonl,otlp', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_HEADERS: 'x-honeycomb-team=team%20key,x-other=2', SLUICE_PRICING_OVERRIDES: JSON.stringify({ models: { 'gpt-4o-mini': { input: 0.15, output: 0.6 } } }), ...env },
  });
}

async function spansOfTrace(sluiceTraceId: string, otelTraceId: string, atLeast: number): Promise<ReceivedSpan[]> {
  for (let i = 0; i < 500; i++) {
    const spans = receiver.spans().filter((s) => s.traceId === otelTraceId);
    if (spans.length >= atLeast && spans.some((s) => s.attributes['sluice.trace_id']?.stringValue === sluiceTraceId)) return spans;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no spans for trace ${sluiceTraceId}`);
}

const str = (s: ReceivedSpan, k: string) => s.attributes[k]?.stringValue;
const int = (s: ReceivedSpan, k: string) => (s.attributes[k]?.intValue === undefined ? undefined : Number(s.attributes[k]!.intValue));

/** Every field the issue requires, on the request span and the llm span. */
function checkGenAiTrace(spans: ReceivedSpan[], expected: { traceId: string; sluiceTraceId: string; parentSpanId: string; model: string; streamed: boolean }) {
  const root = spans.find((s) => s.kind === 2)!;
  const llm = spans.find((s) => s.kind === 3)!;
  expect(root, 'a SERVER span for the request').toBeDefined();
  expect(llm, 'a CLIENT span for the model call').toBeDefined();
  for (const s of spans) {
    expect(s.traceId).toBe(expected.traceId);
    expect(s.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(BigInt(s.endTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(s.startTimeUnixNano));
    expect(BigInt(s.startTimeUnixNano)).toBeGreaterThan(1_700_000_000_000_000_000n);
  }
  // Parent to child: the request span under the caller's span (or none), every step under the request span or its parent step.
  expect(root.parentSpanId).toBe(expected.parentSpanId);
  const ids = new Set(spans.map((s) => s.spanId));
  for (const s of spans.filter((x) => x !== root)) expect(ids.has(s.parentSpanId), `${s.name} has its parent in the trace`).toBe(true);
  expect(llm.parentSpanId).toBe(root.spanId);
  const names = spans.map((s) => str(s, 'sluice.step')).filter(Boolean);
  expect(names).toEqual(expect.arrayContaining(['request_received', 'llm', 'request_finished']));

  for (const s of [root, llm]) {
    expect(s.name).toBe(`chat ${expected.model}`);
    expect(str(s, 'gen_ai.operation.name')).toBe('chat');
    expect(str(s, 'gen_ai.provider.name')).toBe('openai-compatible');
    expect(s.attributes['gen_ai.system']).toBeUndefined();
    expect(str(s, 'gen_ai.request.model')).toBe(expected.model);
    expect(str(s, 'gen_ai.response.model')).toBeTruthy();
    expect(int(s, 'gen_ai.usage.input_tokens')).toBeGreaterThan(0);
    expect(int(s, 'gen_ai.usage.output_tokens')).toBeGreaterThan(0);
  }
  expect(str(root, 'sluice.trace_id')).toBe(expected.sluiceTraceId);
  expect(str(root, 'sluice.session.id')).toMatch(/^[0-9a-f-]{36}$/);
  expect(int(root, 'sluice.session.turn')).toBeGreaterThanOrEqual(1);
  expect(str(root, 'sluice.proxy.id')).toBe('test');
  expect(int(root, 'sluice.attempts')).toBe(1);
  expect(root.attributes['sluice.cost.usd']?.doubleValue).toBeGreaterThan(0);
  expect(str(root, 'sluice.policy.decision')).toBe('skipped');
  expect(int(root, 'http.response.status_code')).toBe(200);
  // Content stays out unless SLUICE_OTEL_CAPTURE_CONTENT=true.
  for (const s of spans) for (const k of Object.keys(s.attributes)) expect(k).not.toMatch(/body|messages/);
}

describe('OTLP/HTTP protobuf (default)', () => {
  let gw: TestGateway;
  let client: OpenAI;
  beforeAll(async () => {
    gw = await gatewayWith({});
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: gw.key, maxRetries: 0 });
  });
  afterAll(() => gw?.close());

  it('a streamed call with a caller traceparent: the caller trace continues, the upstream is given its traceparent', async () => {
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'one two three' }], stream: true }, { headers: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` } })
      .withResponse();
    for await (const _ of stream) void _;
    const sluiceTraceId = response.headers.get('x-sluice-trace-id')!;
    expect(sluiceTraceId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const spans = await spansOfTrace(sluiceTraceId, CALLER_TRACE, 4);
    checkGenAiTrace(spans, { traceId: CALLER_TRACE, sluiceTraceId, parentSpanId: CALLER_SPAN, model: 'gpt-4o-mini', streamed: true });
    const root = spans.find((s) => s.kind === 2)!;
    expect(upstream.requests[0]!.headers.traceparent).toBe(`00-${CALLER_TRACE}-${root.spanId}-01`);
    const exp = receiver.exports.find((e) => e.spans.some((s) => s.traceId === CALLER_TRACE))!;
    expect(exp.contentType).toBe('application/x-protobuf');
    expect(exp.headers['x-honeycomb-team']).toBe('team key');
    expect(exp.resource['service.name']?.stringValue).toBe('sluice');
    expect(exp.scope.name).toBe('sluice');
  });

  it('without a traceparent: the OTel trace id is the Sluice UUID without dashes', async () => {
    const { response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] }).withResponse();
    const sluiceTraceId = response.headers.get('x-sluice-trace-id')!;
    const otelId = sluiceTraceId.replace(/-/g, '');
    const spans = await spansOfTrace(sluiceTraceId, otelId, 4);
    checkGenAiTrace(spans, { traceId: otelId, sluiceTraceId, parentSpanId: '', model: 'gpt-4o-mini', streamed: false });
    expect(upstream.requests[0]!.headers.traceparent).toMatch(new RegExp(`^00-${otelId}-[0-9a-f]{16}-01$`));
  });

  it('an invalid traceparent is ignored (a fresh trace), and a refused request still exports an ERROR span', async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-sluice-not-a-key', 'content-type': 'application/json', traceparent: `00-${'0'.repeat(32)}-${CALLER_SPAN}-01` },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(res.status).toBe(401);
    await res.arrayBuffer();
    const sluiceTraceId = res.headers.get('x-sluice-trace-id')!;
    const spans = await spansOfTrace(sluiceTraceId, sluiceTraceId.replace(/-/g, ''), 2);
    const root = spans.find((s) => s.kind === 2)!;
    expect(root.parentSpanId).toBe('');
    expect(root.status.code).toBe(2);
    expect(int(root, 'http.response.status_code')).toBe(401);
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('OTLP/HTTP JSON, content capture on, the deprecated gen_ai.system behind its flag', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await gatewayWith({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', SLUICE_OTEL_CAPTURE_CONTENT: 'true', SLUICE_OTEL_GEN_AI_SYSTEM: 'true', SLUICE_OTEL_REDACT_PATTERNS: '["ACCT [0-9]{4}"]' });
  });
  afterAll(() => gw?.close());

  it('decodes as OTLP/JSON with the same fields, and the captured text is redacted', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: gw.key, maxRetries: 0 });
    const secret = 'sk-proj-ABCDEFGHIJKLMNOPQRSTUVWX';
    const { response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `my key is ${secret} and ACCT 1234 please` }] })
      .withResponse();
    const sluiceTraceId = response.headers.get('x-sluice-trace-id')!;
    const spans = await spansOfTrace(sluiceTraceId, sluiceTraceId.replace(/-/g, ''), 4);
    const exp = receiver.exports.find((e) => e.spans.includes(spans[0]!))!;
    expect(exp.contentType).toBe('application/json');
    const root = spans.find((s) => s.kind === 2)!;
    const llm = spans.find((s) => s.kind === 3)!;
    expect(str(root, 'gen_ai.system')).toBe('openai-compatible');
    expect(str(root, 'gen_ai.provider.name')).toBe('openai-compatible');
    expect(int(llm, 'gen_ai.usage.input_tokens')).toBeGreaterThan(0);
    const input = str(root, 'gen_ai.input.messages')!;
    expect(JSON.parse(input)[0].role).toBe('user');
    expect(input).toContain('my key is');
    expect(input).toContain('please');
    const everything = JSON.stringify(spans);
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain('ACCT 1234');
    expect(str(root, 'sluice.response.body')).toBeTruthy();
  });
});
