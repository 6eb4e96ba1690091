import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { otlpConfigFromEnv, parseHeaders } from '../../../functions/traces/otlp/config.js';
import { createOtlpExporter, redactorFor } from '../../../functions/traces/otlp/exporter.js';
import { nanos } from '../../../functions/traces/otlp/spans.js';
import { otelContextFor, traceparentOf } from '../../../functions/traces/otlp/trace-context.js';
import type { TraceRecord } from '../../../functions/traces/recorder.js';
import { stepRows } from '../../../functions/traces/rows.js';
import { UndeliveredRowsError, type TraceBatch } from '../../../functions/traces/sink.js';
import { startOtlpReceiver, type OtlpReceiver } from '../../support/otlp-receiver.js';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SLUICE_ID = '6f0c2a4e-1b3d-4e5f-8a9b-0c1d2e3f4a5b';

function batch(overrides: Partial<TraceRecord['attributes']> = {}): TraceBatch {
  const record: TraceRecord = {
    traceId: SLUICE_ID,
    startedAt: '2026-12-07T06:00:00.000Z',
    sessionId: 's-1',
    properties: { team: 'a' },
    otel: otelContextFor(SLUICE_ID, undefined),
    attributes: { provider: 'anthropic', endpoint: 'anthropic.messages', modelRequested: 'claude', modelResolved: 'claude-sonnet-4-5', status: 200, usage: { promptTokens: 11, completionTokens: 7 }, latencyMs: 12.5, ...overrides },
    steps: [
      { stepId: 'a', name: 'request_received', offsetMs: 0, attributes: { requestBody: '{"messages":[]}' } },
      { stepId: 'b', name: 'llm', offsetMs: 1.25, durationMs: 10, attributes: { status: 200 } },
      { stepId: 'c', name: 'tool', parentId: 'b', offsetMs: 11, attributes: { name: 'lookup', content: 'secret args' } },
      { stepId: 'd', name: 'request_finished', offsetMs: 12.5, attributes: {} },
    ],
  };
  return { record, rows: stepRows(record) };
}

describe('trace context', () => {
  it('continues a valid traceparent and refuses invalid ones', () => {
    const ctx = otelContextFor(SLUICE_ID, `00-${TRACE}-b7ad6b7169203331-00`);
    expect(ctx).toMatchObject({ traceId: TRACE, parentSpanId: 'b7ad6b7169203331', flags: '00' });
    expect(traceparentOf(ctx)).toBe(`00-${TRACE}-${ctx.spanId}-00`);
    for (const bad of [`00-${'0'.repeat(32)}-b7ad6b7169203331-01`, `00-${TRACE}-${'0'.repeat(16)}-01`, `ff-${TRACE}-b7ad6b7169203331-01`, `00-${TRACE}-b7ad6b7169203331-01-extra`, 'garbage', '']) {
      const c = otelContextFor(SLUICE_ID, bad);
      expect(c.traceId, bad).toBe(SLUICE_ID.replace(/-/g, ''));
      expect(c.parentSpanId).toBeUndefined();
    }
    // A later version with extra fields is read as version 00.
    expect(otelContextFor(SLUICE_ID, `01-${TRACE}-b7ad6b7169203331-01-more`).traceId).toBe(TRACE);
    // Every batch of one trace agrees on the request span.
    expect(otelContextFor(SLUICE_ID, undefined).spanId).toBe(ctx.spanId);
  });

  it('nanoseconds keep microseconds exactly', () => {
    expect(nanos(Date.parse('2026-12-07T06:00:00.000Z') + 1.25)).toBe('1796623200001250000');
  });
});

describe('OTLP settings from the standard variables', () => {
  it('endpoint, signal endpoint, protocol, headers, timeout', () => {
    expect(otlpConfigFromEnv({}).url).toBe('http://localhost:4318/v1/traces');
    expect(otlpConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://api.honeycomb.io/' }).url).toBe('https://api.honeycomb.io/v1/traces');
    expect(otlpConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://x/otlp', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://y/custom' }).url).toBe('https://y/custom');
    expect(otlpConfigFromEnv({}).protocol).toBe('http/protobuf');
    expect(otlpConfigFromEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).protocol).toBe('http/json');
    expect(() => otlpConfigFromEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(/gRPC is not supported/);
    expect(() => otlpConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://x' })).toThrow(/http/);
    expect(otlpConfigFromEnv({ OTEL_EXPORTER_OTLP_TIMEOUT: '2500' }).timeoutMs).toBe(2500);
    expect(parseHeaders('Authorization=Basic%20abc%3D, x-a = 1 ,')).toEqual({ authorization: 'Basic abc=', 'x-a': '1' });
    expect(() => parseHeaders('novalue')).toThrow(/key=value/);
    expect(() => otlpConfigFromEnv({ SLUICE_OTEL_REDACT_PATTERNS: '"x"' })).toThrow(/JSON list/);
  });

  it('a malformed header list is refused without echoing its values', () => {
    try {
      parseHeaders('api-key secret-value-123');
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).not.toContain('secret-value-123');
    }
  });
});

describe('redaction of captured text', () => {
  it('masks built-in secret shapes and configured patterns, keeping the length', () => {
    const redact = redactorFor(['ACCT [0-9]{4}']);
    const text = 'key sk-ant-api03-abcdefghijklmnopqrstu, AKIAABCDEFGHIJKLMNOP, Bearer abcdefghijklmnop, ACCT 1234 ok';
    const out = redact(text);
    expect(out).toHaveLength(text.length);
    expect(out).not.toMatch(/sk-ant|AKIA|abcdefghijklmnop|ACCT 1234/);
    expect(out).toContain('ok');
  });
});

describe('the exporter against the receiver', () => {
  let receiver: OtlpReceiver;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
  });
  afterAll(() => receiver?.close());

  const config = (over: Partial<ReturnType<typeof otlpConfigFromEnv>> = {}) => ({ ...otlpConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }), ...over });

  it('protobuf: one span per step plus the request span, parent to child, GenAI attributes', async () => {
    const exporter = createOtlpExporter({ config: config({ headers: { authorization: 'Bearer t' } }) });
    await exporter.write([batch()]);
    const spans = receiver.exports.at(-1)!.spans;
    expect(spans).toHaveLength(5);
    const root = spans.find((s) => s.kind === 2)!;
    const llm = spans.find((s) => s.kind === 3)!;
    const tool = spans.find((s) => s.name === 'execute_tool lookup')!;
    expect(root.name).toBe('chat claude-sonnet-4-5');
    expect(root.parentSpanId).toBe('');
    expect(llm.parentSpanId).toBe(root.spanId);
    expect(tool.parentSpanId).toBe(llm.spanId);
    expect(root.attributes['gen_ai.provider.name']?.stringValue).toBe('anthropic');
    expect(root.attributes['gen_ai.usage.input_tokens']?.intValue).toBe('11');
    expect(root.attributes['gen_ai.usage.output_tokens']?.intValue).toBe('7');
    expect(root.attributes['sluice.property.team']?.stringValue).toBe('a');
    expect(BigInt(llm.startTimeUnixNano) - BigInt(root.startTimeUnixNano)).toBe(1_250_000n);
    expect(BigInt(llm.endTimeUnixNano) - BigInt(llm.startTimeUnixNano)).toBe(10_000_000n);
    expect(BigInt(root.endTimeUnixNano) - BigInt(root.startTimeUnixNano)).toBe(12_500_000n);
    // Tool arguments are content: not exported without capture.
    expect(JSON.stringify(spans)).not.toContain('secret args');
    expect(receiver.exports.at(-1)!.headers.authorization).toBe('Bearer t');
  });

  it('an upstream error is an ERROR status with its code as error.type', async () => {
    const exporter = createOtlpExporter({ config: config() });
    await exporter.write([batch({ status: 429, error: { type: 'rate_limit_error', code: 'rate_limited', message: 'slow down' } })]);
    const root = receiver.exports.at(-1)!.spans.find((s) => s.kind === 2)!;
    expect(root.status).toEqual({ code: 2, message: 'slow down' });
    expect(root.attributes['error.type']?.stringValue).toBe('rate_limited');
  });

  it('retries 503 and succeeds; gives up after three attempts with every row undelivered; a 400 is final', async () => {
    const sleeps: number[] = [];
    const exporter = createOtlpExporter({ config: config(), sleep: async (ms) => void sleeps.push(ms) });
    receiver.failNext(503, 2);
    const before = receiver.requests;
    await exporter.write([batch()]);
    expect(receiver.requests - before).toBe(3);
    expect(sleeps).toEqual([100, 200]);

    receiver.failNext(503, 3);
    const b = batch();
    const err = await exporter.write([b]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UndeliveredRowsError);
    expect((err as UndeliveredRowsError).rows).toHaveLength(b.rows.length);
    expect((err as Error).message).toBe(`OTLP export to ${receiver.url}/v1/traces answered HTTP 503`);

    receiver.failNext(400, 1);
    const n = receiver.requests;
    await expect(exporter.write([batch()])).rejects.toThrow(/HTTP 400/);
    expect(receiver.requests - n).toBe(1);
  });

  it('headers from a secret are added (read once), and an unreachable endpoint is a clean failure', async () => {
    let reads = 0;
    const exporter = createOtlpExporter({ config: config({ headersSecretArn: 'arn:secret' }), readSecret: async () => (reads++, 'x-api-key=from-secret') });
    await exporter.write([batch()]);
    await exporter.write([batch()]);
    expect(receiver.exports.at(-1)!.headers['x-api-key']).toBe('from-secret');
    expect(reads).toBe(1);
    const dead = createOtlpExporter({ config: { ...config(), url: 'http://127.0.0.1:9/v1/traces' }, sleep: async () => {} });
    await expect(dead.write([batch()])).rejects.toThrow(/OTLP export to http:\/\/127\.0\.0\.1:9\/v1\/traces failed/);
  });
});
