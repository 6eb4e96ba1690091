/**
 * On Lambda the invocation must not resolve before its trace is written (Node 24 Lambda
 * does not wait for dangling promises), yet the client's last byte must not wait for
 * the write. The handler is driven as the runtime drives it.
 */
import '../../functions/local/awslambda.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayHandler } from '../../functions/gateway/handler.js';
import { depsFromEnv } from '../../functions/gateway/deps.js';
import { LambdaResponseStream } from '../../functions/local/awslambda.js';
import { FileControlStore } from '../../functions/stores/file-store.js';
import { generateGatewayKey } from '../../functions/stores/keys.js';
import { TraceWriter } from '../../functions/traces/writer.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';

const SINK_DELAY_MS = 400;
const FLUSH_WAIT_MS = 500;
let sinkDelayMs = SINK_DELAY_MS;
const warnings: Record<string, unknown>[] = [];
let writer: TraceWriter;
let upstream: OpenAIUpstream;
let dataDir: string;
let key: string;
let sinkDoneAt = 0;
let rowsWritten = 0;
let handler: (e: unknown, s: unknown, c: unknown) => Promise<void>;

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  dataDir = await mkdtemp(join(tmpdir(), 'sluice-flush-'));
  const store = new FileControlStore({ dataDir });
  await store.putProxy({ id: 'p1', orgId: 'o1', name: 'p1', provider: 'openai-compatible', baseUrl: upstream.url, byok: false, allowPrivateNetwork: true, createdAt: new Date().toISOString() });
  const generated = generateGatewayKey();
  key = generated.key;
  await store.putKey({ id: generated.id, hash: generated.hash, proxyId: 'p1', orgId: 'o1', createdAt: new Date().toISOString() });
  const traceSink = new TraceWriter({
    sinks: [
      {
        name: 'delayed',
        write: (traces) =>
          new Promise<void>((r) =>
            setTimeout(() => {
              sinkDoneAt = performance.now();
              for (const t of traces) rowsWritten += t.rows.length;
              r();
            }, sinkDelayMs),
          ),
      },
    ],
    logger: { warn: (message: unknown, ...rest: unknown[]) => void warnings.push({ message, ...(rest[0] as Record<string, unknown>) }) },
    awaitDeliveryMs: FLUSH_WAIT_MS,
  });
  writer = traceSink;
  handler = createGatewayHandler({ ...depsFromEnv({ SLUICE_DATA_DIR: dataDir, SLUICE_LOG_LEVEL: 'SILENT' }), store, traceSink }) as unknown as typeof handler;
});
afterAll(async () => {
  await upstream?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('trace flush on Lambda', () => {
  it('the response stream ends first; the invocation resolves only after the trace is written', async () => {
    sinkDelayMs = SINK_DELAY_MS;
    let streamEndedAt = 0;
    const stream = new LambdaResponseStream((_chunk, done) => done());
    stream.on('finish', () => (streamEndedAt = performance.now()));
    const event = {
      version: '2.0',
      rawPath: '/a/p1/openai/v1/chat/completions',
      rawQueryString: '',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      requestContext: { http: { method: 'POST', path: '/a/p1/openai/v1/chat/completions', protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'test' }, requestId: 'r1' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }], stream: true }),
      isBase64Encoded: false,
    };
    const started = performance.now();
    await handler(event, stream, { getRemainingTimeInMillis: () => 60_000, awsRequestId: 'r1' });
    const resolvedAt = performance.now();
    expect(streamEndedAt).toBeGreaterThan(0);
    expect(streamEndedAt - started).toBeLessThan(SINK_DELAY_MS);
    expect(rowsWritten).toBeGreaterThanOrEqual(3);
    expect(sinkDoneAt).toBeGreaterThan(streamEndedAt);
    expect(resolvedAt).toBeGreaterThanOrEqual(sinkDoneAt);
  });

  it('a sink slower than the 500 ms rule: the invocation resolves after the wait, its rows counted and logged as trace_rows_lost', async () => {
    sinkDelayMs = 3_000;
    const lostBefore = writer.stats.lost;
    const doneBefore = sinkDoneAt;
    let streamEndedAt = 0;
    const stream = new LambdaResponseStream((_chunk, done) => done());
    stream.on('finish', () => (streamEndedAt = performance.now()));
    const event = {
      version: '2.0',
      rawPath: '/a/p1/openai/v1/chat/completions',
      rawQueryString: '',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      requestContext: { http: { method: 'POST', path: '/a/p1/openai/v1/chat/completions', protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'test' }, requestId: 'r2' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }], stream: true }),
      isBase64Encoded: false,
    };
    await handler(event, stream, { getRemainingTimeInMillis: () => 60_000, awsRequestId: 'r2' });
    // Resolved while the sink still had the rows: the wait is bounded, not the sink's pace.
    expect(streamEndedAt).toBeGreaterThan(0);
    expect(sinkDoneAt).toBe(doneBefore);
    expect(writer.stats.lost - lostBefore).toBeGreaterThanOrEqual(3);
    expect(warnings).toContainEqual(expect.objectContaining({ message: 'trace_rows_lost', trace_rows_lost: writer.stats.lost - lostBefore }));
  });
});
