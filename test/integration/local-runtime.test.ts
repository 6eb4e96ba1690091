/**
 * The local runtime's Function URL emulation: the event it builds from a real HTTP
 * request, the prelude it parses, and the write coalescing switch.
 */
import '../../functions/local/awslambda.js';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalServer, type LocalServer } from '../../functions/local/server.js';
import type { FunctionUrlEvent } from '../../functions/gateway/types.js';
import type { LambdaResponseStream } from '../../functions/local/awslambda.js';

type Awslambda = {
  streamifyResponse: <T>(h: T) => T;
  HttpResponseStream: { from(s: LambdaResponseStream, p: Record<string, unknown>): LambdaResponseStream };
};
const awslambda = (globalThis as unknown as { awslambda: Awslambda }).awslambda;

let server: LocalServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Writes the request bytes by hand so repeated headers and cookies arrive exactly as written. */
function rawRequest(port: number, lines: string[], body = ''): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      const head = ['POST /a/p/openai/v1/chat/completions?x=1&y=2&x=3 HTTP/1.1', 'Host: 127.0.0.1', ...lines, `Content-Length: ${Buffer.byteLength(body, 'latin1')}`, 'Connection: close', '', ''].join('\r\n');
      socket.write(Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body, 'latin1')]));
    });
    let raw = '';
    socket.on('data', (d: Buffer) => (raw += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('end', () => {
      const [headText = '', ...rest] = raw.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = headText.split('\r\n');
      const headers: http.IncomingHttpHeaders = {};
      for (const line of headerLines) {
        const i = line.indexOf(':');
        const name = line.slice(0, i).toLowerCase();
        const value = line.slice(i + 1).trim();
        if (name === 'set-cookie') headers['set-cookie'] = [...(headers['set-cookie'] ?? []), value];
        else headers[name] = value;
      }
      let bodyText = rest.join('\r\n\r\n');
      if (/chunked/i.test(String(headers['transfer-encoding']))) bodyText = dechunk(bodyText);
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: bodyText });
    });
  });
}

function dechunk(text: string): string {
  let out = '';
  let rest = text;
  for (;;) {
    const eol = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, eol), 16);
    if (!size) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}

describe('Function URL event emulation', () => {
  it('lower-cases and comma-joins headers, splits cookies, keeps the raw query, passes JSON as text', async () => {
    let seen: FunctionUrlEvent | undefined;
    const handler = awslambda.streamifyResponse(async (event: FunctionUrlEvent, stream: LambdaResponseStream) => {
      seen = event;
      const out = awslambda.HttpResponseStream.from(stream, { statusCode: 201, headers: { 'x-test': 'yes' }, cookies: ['a=1; Path=/'] });
      out.write('ok');
      out.end();
    });
    server = await startLocalServer({ handler });
    const res = await rawRequest(server.port, ['X-Multi: one', 'X-Multi: two', 'Cookie: a=1; b=2', 'Content-Type: application/json'], '{"hello":"world"}');
    expect(res.status).toBe(201);
    expect(res.headers['x-test']).toBe('yes');
    expect(res.headers['set-cookie']).toEqual(['a=1; Path=/']);
    expect(res.body).toBe('ok');
    expect(seen!.version).toBe('2.0');
    expect(seen!.rawPath).toBe('/a/p/openai/v1/chat/completions');
    expect(seen!.rawQueryString).toBe('x=1&y=2&x=3');
    expect(seen!.queryStringParameters).toEqual({ x: '1,3', y: '2' });
    expect(seen!.headers['x-multi']).toBe('one,two');
    expect(seen!.headers['cookie']).toBeUndefined();
    expect(seen!.cookies).toEqual(['a=1', 'b=2']);
    expect(seen!.isBase64Encoded).toBe(false);
    expect(seen!.body).toBe('{"hello":"world"}');
    expect(seen!.requestContext.http.method).toBe('POST');
  });

  it('delivers a binary body base64-encoded', async () => {
    let seen: FunctionUrlEvent | undefined;
    const handler = awslambda.streamifyResponse(async (event: FunctionUrlEvent, stream: LambdaResponseStream) => {
      seen = event;
      awslambda.HttpResponseStream.from(stream, { statusCode: 200 }).end();
    });
    server = await startLocalServer({ handler });
    await rawRequest(server.port, ['Content-Type: application/octet-stream'], '\u0000\u0001binary');
    expect(seen!.isBase64Encoded).toBe(true);
    expect(Buffer.from(seen!.body!, 'base64').toString('latin1')).toBe('\u0000\u0001binary');
  });

  it('nothing reaches the client before the first write, and then the status comes from the prelude', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const handler = awslambda.streamifyResponse(async (_e: FunctionUrlEvent, stream: LambdaResponseStream) => {
      const out = awslambda.HttpResponseStream.from(stream, { statusCode: 418, headers: { 'content-type': 'text/plain' } });
      await gate;
      out.write('teapot');
      out.end();
    });
    server = await startLocalServer({ handler });
    let headersAt = 0;
    const started = Date.now();
    const pending = new Promise<number>((resolve) => {
      http.get({ port: server!.port, host: '127.0.0.1', path: '/x' }, (res) => {
        headersAt = Date.now();
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(headersAt).toBe(0);
    release();
    expect(await pending).toBe(418);
    expect(headersAt - started).toBeGreaterThanOrEqual(190);
  });

  it('SLUICE_LOCAL_COALESCE_BYTES holds small writes until enough bytes accumulate', async () => {
    const makeHandler = () =>
      awslambda.streamifyResponse(async (_e: FunctionUrlEvent, stream: LambdaResponseStream) => {
        const out = awslambda.HttpResponseStream.from(stream, { statusCode: 200, headers: { 'content-type': 'text/event-stream' } });
        for (let i = 0; i < 5; i++) {
          out.write(`data: ${i}\n\n`);
          await new Promise((r) => setTimeout(r, 60));
        }
        out.end();
      });
    const firstChunkDelay = async (coalesceBytes: number) => {
      const s = await startLocalServer({ handler: makeHandler(), coalesceBytes });
      try {
        const started = Date.now();
        const res = await fetch(`${s.url}/x`);
        const reader = res.body!.getReader();
        await reader.read();
        const first = Date.now() - started;
        while (!(await reader.read()).done);
        return first;
      } finally {
        await s.close();
      }
    };
    const streamed = await firstChunkDelay(0);
    const coalesced = await firstChunkDelay(16_384);
    expect(streamed).toBeLessThan(150);
    // Held until the stream ended: five writes 60 ms apart.
    expect(coalesced).toBeGreaterThanOrEqual(250);
  });
});
