/**
 * The Lambda handler driven exactly as the Lambda runtime drives it: a raw Function URL
 * (payload 2.0) event and a response stream whose bytes are captured with timestamps.
 */
import '../../functions/local/awslambda.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayHandler } from '../../functions/gateway/handler.js';
import { depsFromEnv } from '../../functions/gateway/deps.js';
import { HANDLER_STREAMING, LambdaResponseStream } from '../../functions/local/awslambda.js';
import { FileControlStore } from '../../functions/stores/file-store.js';
import { generateGatewayKey } from '../../functions/stores/keys.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';

let upstream: OpenAIUpstream;
let dataDir: string;
let key: string;
let handler: ReturnType<typeof createGatewayHandler>;

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  dataDir = await mkdtemp(join(tmpdir(), 'sluice-handler-'));
  const store = new FileControlStore({ dataDir });
  await store.putProxy({ id: 'p1', orgId: 'o1', name: 'p1', provider: 'openai-compatible', baseUrl: upstream.url, byok: false, allowPrivateNetwork: true, createdAt: new Date().toISOString() });
  const generated = generateGatewayKey();
  key = generated.key;
  await store.putKey({ id: generated.id, hash: generated.hash, proxyId: 'p1', orgId: 'o1', createdAt: new Date().toISOString() });
  handler = createGatewayHandler({ ...depsFromEnv({ SLUICE_DATA_DIR: dataDir, SLUICE_LOG_LEVEL: 'SILENT' }), store });
});
afterAll(async () => {
  await upstream?.close();
  await rm(dataDir, { recursive: true, force: true });
});

function functionUrlEvent(body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/a/p1/openai/v1/chat/completions',
    rawQueryString: '',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, host: 'abc.lambda-url.us-east-1.on.aws', ...headers },
    requestContext: {
      accountId: 'anonymous', apiId: 'abc', domainName: 'abc.lambda-url.us-east-1.on.aws', domainPrefix: 'abc',
      http: { method: 'POST', path: '/a/p1/openai/v1/chat/completions', protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'test' },
      requestId: 'req-1', routeKey: '$default', stage: '$default', time: '23/Nov/2026:10:00:00 +0000', timeEpoch: 0,
    },
    body: text,
    isBase64Encoded: false,
  };
}

interface Captured {
  at: number;
  bytes: Buffer;
}

function captureStream() {
  const writes: Captured[] = [];
  const stream = new LambdaResponseStream((chunk, done) => {
    writes.push({ at: performance.now(), bytes: Buffer.from(chunk) });
    done();
  });
  return { stream, writes };
}

const context = { getRemainingTimeInMillis: () => 60_000, awsRequestId: 'req-1' };

describe('streaming handler', () => {
  it('is tagged as a streaming handler for the Lambda runtime', () => {
    expect((handler as unknown as Record<symbol, unknown>)[HANDLER_STREAMING]).toBe('response');
  });

  it('writes the exact prelude (JSON, then 8 NUL bytes) before the upstream sends its first chunk, and relays chunks as they come', async () => {
    const { stream, writes } = captureStream();
    const started = performance.now();
    const done = (handler as unknown as (e: unknown, s: unknown, c: unknown) => Promise<void>)(
      functionUrlEvent({ model: 'test-slow@first=400,gap=80', messages: [{ role: 'user', content: 'one two three four five six seven eight' }], stream: true }),
      stream,
      context,
    );
    await done;
    const all = Buffer.concat(writes.map((w) => w.bytes));
    const delimiterAt = all.indexOf(Buffer.alloc(8));
    const prelude = JSON.parse(all.subarray(0, delimiterAt).toString('utf8')) as { statusCode: number; headers: Record<string, string> };
    expect(prelude.statusCode).toBe(200);
    expect(prelude.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(prelude.headers['x-sluice-trace-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(prelude.headers['x-sluice-session-id']).toMatch(/^[0-9a-f-]{36}$/);
    // The first write is the prelude alone; the NUL delimiter follows it exactly.
    expect(writes[0]!.bytes.toString('utf8')).toBe(JSON.stringify(prelude));
    expect(writes[1]!.bytes.equals(Buffer.alloc(8))).toBe(true);

    const preludeAt = writes[0]!.at;
    const bodyWrites = writes.filter((w, i) => i > 1 && w.bytes.length > 0);
    const firstBodyAt = bodyWrites[0]!.at;
    const lastBodyAt = bodyWrites[bodyWrites.length - 1]!.at;
    // Headers went out when the upstream answered, ~400 ms before its first body chunk.
    expect(firstBodyAt - preludeAt).toBeGreaterThan(250);
    expect(preludeAt - started).toBeLessThan(firstBodyAt - started);
    // The first chunk reached the client while the upstream was still sending (gap 80 ms × several events).
    expect(lastBodyAt - firstBodyAt).toBeGreaterThan(300);
    expect(bodyWrites.length).toBeGreaterThan(5);
    const text = all.subarray(delimiterAt + 8).toString('utf8');
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('an upstream error status goes out as the prelude status, with the Sluice headers', async () => {
    const { stream, writes } = captureStream();
    await (handler as unknown as (e: unknown, s: unknown, c: unknown) => Promise<void>)(
      functionUrlEvent({ model: 'test-429', messages: [{ role: 'user', content: 'hi' }], stream: true }),
      stream,
      context,
    );
    const all = Buffer.concat(writes.map((w) => w.bytes));
    const at = all.indexOf(Buffer.alloc(8));
    const prelude = JSON.parse(all.subarray(0, at).toString('utf8')) as { statusCode: number; headers: Record<string, string> };
    expect(prelude.statusCode).toBe(429);
    expect(prelude.headers['retry-after']).toBeTruthy();
    expect(prelude.headers['x-sluice-trace-id']).toBeTruthy();
    // OpenAI-family error bodies pass through as the provider wrote them.
    const body = JSON.parse(all.subarray(at + 8).toString('utf8')) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('rate_limit_exceeded');
    expect(body.error.message).toMatch(/Rate limit reached/);
  });

  it('a malformed session header is a 400 with the trace and a fresh session id', async () => {
    const { stream, writes } = captureStream();
    await (handler as unknown as (e: unknown, s: unknown, c: unknown) => Promise<void>)(
      functionUrlEvent({ model: 'gpt-4o-mini', messages: [] }, { 'x-sluice-session-id': 'not-a-uuid' }),
      stream,
      context,
    );
    const all = Buffer.concat(writes.map((w) => w.bytes));
    const at = all.indexOf(Buffer.alloc(8));
    const prelude = JSON.parse(all.subarray(0, at).toString('utf8')) as { statusCode: number; headers: Record<string, string> };
    expect(prelude.statusCode).toBe(400);
    expect(prelude.headers['x-sluice-session-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(prelude.headers['x-sluice-session-id']).not.toBe('not-a-uuid');
  });
});
