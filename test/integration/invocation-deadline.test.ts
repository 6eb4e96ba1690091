/**
 * The local runtime's invocation time limit (the container server's
 * SLUICE_REQUEST_TIMEOUT_SECONDS): an invocation running past it is stopped, as Lambda
 * stops it, and the client is told in its own API shape. A real node:http server and real
 * HTTP clients; the handlers are stand-ins that begin answering and then stall, so the
 * limit, not the handler, ends each exchange.
 */
import { afterEach, describe, expect, it } from 'vitest';
import '../../functions/local/awslambda.js';
import { awslambdaStandIn, type LambdaResponseStream } from '../../functions/local/awslambda.js';
import { startLocalServer, type LocalServer } from '../../functions/local/server.js';

type Stalled = { aborted: Promise<string> };

/** A streaming handler that writes `first` (if any) under `headers`, then waits until its stream is taken away. */
function stallingHandler(headers: Record<string, string> | undefined, first: string | undefined, seen: Stalled[]) {
  return async (_event: unknown, stream: LambdaResponseStream) => {
    const aborted = new Promise<string>((resolve) => stream.once('close', () => resolve(stream.errored?.message ?? 'closed')));
    seen.push({ aborted });
    if (headers) {
      const s = awslambdaStandIn.HttpResponseStream.from(stream, { statusCode: 200, headers });
      if (first !== undefined) s.write(first);
    }
    await aborted;
    // What a handler does once its stream is gone: further writes go nowhere.
    stream.write('data: late\n\n');
  };
}

let server: LocalServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(handler: unknown, timeoutMs = 300): Promise<string> {
  server = await startLocalServer({ handler, timeoutMs });
  return server.url;
}

const post = (url: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('an invocation past its time limit, before the first byte', () => {
  it('OpenAI routes: 504 with an OpenAI error body; the handler is stopped (its stream destroyed)', async () => {
    const seen: Stalled[] = [];
    const url = await start(stallingHandler(undefined, undefined, seen));
    const res = await post(url, '/v1/chat/completions', { model: 'm', messages: [] });
    expect(res.status).toBe(504);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('x-sluice-trace-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await res.json()).toEqual({
      error: { message: "The request ran past the gateway's 300 ms time limit and was stopped.", type: 'timeout_error', code: 'request_timeout', param: null },
    });
    expect(await seen[0]!.aborted).toMatch(/time limit/);
  });

  it('the Anthropic ingress: 504 with an Anthropic error body', async () => {
    const url = await start(stallingHandler(undefined, undefined, []));
    const res = await post(url, '/v1/messages', { model: 'm', max_tokens: 5, messages: [] }, { 'anthropic-version': '2023-06-01' });
    expect(res.status).toBe(504);
    const body = (await res.json()) as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe('error');
    expect(body.error.message).toMatch(/time limit/);
  });

  it('the Bedrock ingress: 504 with x-amzn-errortype and a {"message"} body', async () => {
    const url = await start(stallingHandler(undefined, undefined, []));
    const res = await post(url, '/a/p1/bedrock/model/m1/converse', { messages: [] });
    expect(res.status).toBe(504);
    expect(res.headers.get('x-amzn-errortype')).toBe('ModelTimeoutException');
    expect(((await res.json()) as { message: string }).message).toMatch(/time limit/);
  });
});

describe('an invocation past its time limit, mid-stream: a closing error event, never a silent cut', () => {
  const sse = { 'content-type': 'text/event-stream' };

  it('chat completions: the chunks sent so far, then an error chunk and [DONE]', async () => {
    const seen: Stalled[] = [];
    const chunk = 'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n';
    const url = await start(stallingHandler(sse, chunk, seen));
    const res = await post(url, '/v1/chat/completions', { model: 'm', stream: true, messages: [] });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text.startsWith(chunk)).toBe(true);
    const events = text.slice(chunk.length).split('\n\n').filter(Boolean);
    expect(events).toHaveLength(2);
    expect(JSON.parse(events[0]!.slice('data: '.length))).toMatchObject({ error: { type: 'timeout_error', code: 'request_timeout' } });
    expect(events[1]).toBe('data: [DONE]');
    expect(text).not.toContain('late');
    expect(await seen[0]!.aborted).toMatch(/time limit/);
  });

  it('the Responses API: an `error` event', async () => {
    const url = await start(stallingHandler(sse, 'event: response.created\ndata: {"type":"response.created"}\n\n', []));
    const text = await (await post(url, '/v1/responses', { model: 'm', stream: true, input: 'x' })).text();
    expect(text).toMatch(/event: error\ndata: \{"type":"error","code":"request_timeout"/);
  });

  it('the Anthropic ingress: an Anthropic `error` event', async () => {
    const url = await start(stallingHandler(sse, 'event: message_start\ndata: {"type":"message_start"}\n\n', []));
    const res = await post(url, '/v1/messages', { model: 'm', max_tokens: 5, stream: true, messages: [] }, { 'anthropic-version': '2023-06-01' });
    const text = await res.text();
    const last = text.trimEnd().split('\n\n').at(-1)!;
    expect(last.split('\n')[0]).toBe('event: error');
    expect(JSON.parse(last.split('\n')[1]!.slice('data: '.length))).toMatchObject({ type: 'error', error: { message: expect.stringMatching(/time limit/) } });
  });

  it('a body that is no stream (no way to say it in-band): the connection is cut, so the client sees an error, not a short body', async () => {
    const url = await start(stallingHandler({ 'content-type': 'application/json' }, '{"id":"x",', []));
    const res = await post(url, '/v1/chat/completions', { model: 'm', messages: [] });
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
  });

  it('an invocation that ends in time is left alone', async () => {
    const handler = async (_event: unknown, stream: LambdaResponseStream) => {
      const s = awslambdaStandIn.HttpResponseStream.from(stream, { statusCode: 200, headers: sse });
      s.write('data: [DONE]\n\n');
      s.end();
    };
    const url = await start(handler, 5_000);
    const res = await post(url, '/v1/chat/completions', { model: 'm', stream: true, messages: [] });
    expect(await res.text()).toBe('data: [DONE]\n\n');
  });
});
