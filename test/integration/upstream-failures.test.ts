/**
 * Upstream failure modes through the local runtime: hangs before headers and
 * mid-body (idle timeout), the total deadline, and a client that goes away.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let upstream: OpenAIUpstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  gw = await startTestGateway({ upstreamUrl: upstream.url, deps: { upstreamIdleTimeoutMs: 400, upstreamDeadlineMs: 1500 } });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

async function chat(model: string, stream: boolean) {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'one two three four five six seven eight nine ten' }] }),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe('upstream failures', () => {
  it('an upstream that never answers: 504 after the idle timeout', async () => {
    const r = await chat('test-hang@phase=headers', false);
    expect(r.status).toBe(504);
    expect(JSON.parse(r.text).error.type).toBe('timeout_error');
    expect(r.headers.get('x-sluice-trace-id')).toBeTruthy();
  });

  it('a stream that stalls after its headers ends with an error event and [DONE]', async () => {
    const r = await chat('test-hang@phase=body', true);
    expect(r.status).toBe(200);
    const events = r.text.split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    const err = JSON.parse(events.at(-2)!.slice('data: '.length)) as { error: { type: string } };
    expect(err.error.type).toBe('timeout_error');
  });

  it('a stream that outlives the total deadline is stopped with an error event', async () => {
    // About a dozen events 250 ms apart: each gap is under the idle timeout, the whole is over the deadline.
    const r = await chat('test-slow@first=50,gap=250', true);
    expect(r.status).toBe(200);
    const events = r.text.split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    expect(events.at(-2)).toMatch(/"timeout_error"/);
  });

  it('an upstream that refuses connections: 502', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await gw.addProxy({ id: 'dead', baseUrl: `http://127.0.0.1:${port}/v1` });
    const { key } = await gw.addKey({ proxyId: 'dead' });
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/ECONNREFUSED/);
  });

  it('a private upstream address is refused unless the proxy allows private networks', async () => {
    await gw.addProxy({ id: 'private', allowPrivateNetwork: false });
    const { key } = await gw.addKey({ proxyId: 'private' });
    upstream.reset();
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('upstream_blocked');
    expect(upstream.requests).toHaveLength(0);
  });

  it('a client that disconnects mid-stream aborts the upstream request at once', async () => {
    // A slow SSE upstream that records when its response is closed, and whether it had finished.
    let closedAt = 0;
    let finished = true;
    const slow = http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let n = 0;
      const timer = setInterval(() => {
        res.write(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: { content: `t${n++} ` }, finish_reason: null }] })}\n\n`);
        if (n === 50) {
          clearInterval(timer);
          res.end('data: [DONE]\n\n');
        }
      }, 100);
      res.on('close', () => {
        clearInterval(timer);
        closedAt = Date.now();
        finished = res.writableFinished;
      });
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    try {
      const port = (slow.address() as { port: number }).port;
      await gw.addProxy({ id: 'slowstream', baseUrl: `http://127.0.0.1:${port}/v1` });
      const { key } = await gw.addKey({ proxyId: 'slowstream' });
      const controller = new AbortController();
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        signal: controller.signal,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
      });
      const reader = res.body!.getReader();
      await reader.read();
      const abortedAt = Date.now();
      controller.abort();
      await reader.closed.catch(() => undefined);
      for (let i = 0; i < 40 && closedAt === 0; i++) await new Promise((r) => setTimeout(r, 50));
      // The upstream response was torn down long before its 5 s stream could finish.
      expect(closedAt).toBeGreaterThan(0);
      expect(finished).toBe(false);
      expect(closedAt - abortedAt).toBeLessThan(1500);
    } finally {
      slow.closeAllConnections();
      await new Promise<void>((resolve) => slow.close(() => resolve()));
    }
  });
});
