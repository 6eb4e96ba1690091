/**
 * The local runtime (`sluice dev`) and clients that leave: a client that disconnects
 * after a complete streamed response, or in the middle of one, must not take the
 * server down, and the next request is served. Streamed events still leave one by
 * one (the per-turn socket corking must not hold a stream back).
 */
import net from 'node:net';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let upstream: OpenAIUpstream;
let gateway: TestGateway;
const uncaught: unknown[] = [];
const onUncaught = (err: unknown) => uncaught.push(err);

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  gateway = await startTestGateway({ upstreamUrl: upstream.url });
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
});
afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUncaught);
  await gateway?.close();
  await upstream?.close();
});
afterEach(() => {
  upstream.reset();
});

/** A streamed chat request written by hand on a raw socket; resolves with the socket and what it has read when `until` says so. */
function rawStream(model: string, until: (received: string) => boolean): Promise<{ socket: net.Socket; received: string }> {
  const url = new URL(gateway.url);
  const body = JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'one two three four five six' }] });
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname, () => {
      socket.write(
        [
          'POST /v1/chat/completions HTTP/1.1',
          `Host: ${url.host}`,
          `Authorization: Bearer ${gateway.key}`,
          'Content-Type: application/json',
          `Content-Length: ${Buffer.byteLength(body)}`,
          '',
          body,
        ].join('\r\n'),
      );
    });
    let received = '';
    let done = false;
    socket.on('data', (d: Buffer) => {
      received += d.toString('utf8');
      if (!done && until(received)) {
        done = true;
        resolve({ socket, received });
      }
    });
    socket.on('error', (e) => {
      if (!done) reject(e);
    });
    socket.on('close', () => {
      if (!done) reject(new Error(`connection closed early after: ${received}`));
    });
  });
}

const client = () => new OpenAI({ apiKey: gateway.key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });

async function serverStillServes(): Promise<void> {
  const answer = await client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'still there' }] });
  expect(answer.choices[0]?.message.content).toBeTruthy();
}

describe('local runtime: clients that leave', () => {
  it('a client that disconnects right after a complete streamed response does not crash the server', async () => {
    for (let i = 0; i < 20; i++) {
      const { socket, received } = await rawStream('gpt-4o-mini', (r) => r.endsWith('0\r\n\r\n'));
      socket.destroy();
      expect(received).toMatch(/^HTTP\/1\.1 200 /);
      expect(received).toContain('data: [DONE]');
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(uncaught).toEqual([]);
    await serverStillServes();
  });

  it('a client that disconnects in the middle of a stream does not crash the server', async () => {
    const { socket, received } = await rawStream('test-slow@first=20,gap=100', (r) => r.includes('"content":'));
    socket.destroy();
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    expect(received).not.toContain('data: [DONE]');
    await new Promise((r) => setTimeout(r, 300));
    expect(uncaught).toEqual([]);
    await serverStillServes();
  });
});

describe('local runtime: clients that leave the console', () => {
  it('a client that leaves before a console or admin API answer does not crash the server (its stream has no error listener)', async () => {
    const url = new URL(gateway.url);
    for (let i = 0; i < 20; i++) {
      const target = ['/console/', '/admin/v1/traces', '/admin/v1/approvals', '/console/console.js'][i % 4]!;
      await new Promise<void>((resolve) => {
        const socket = net.connect(Number(url.port), url.hostname, () => {
          socket.write([`GET ${target} HTTP/1.1`, `Host: ${url.host}`, 'Authorization: Bearer sk-sluice-adm_notarealkey0000000000000000000000000000000', '', ''].join('\r\n'));
          // Gone before the answer (the console module is still loading, the store still read).
          setImmediate(() => socket.destroy());
        });
        socket.on('error', () => undefined);
        socket.on('close', () => resolve());
      });
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(uncaught).toEqual([]);
    await serverStillServes();
  });
});

describe('local runtime: streamed events are not held back', () => {
  it('the first SSE event reaches the SDK client before the upstream sends its last one', async () => {
    const gapMs = 120;
    const words = 'one two three four five six seven eight';
    const arrivals: number[] = [];
    const texts: string[] = [];
    const stream = await client().chat.completions.create({
      model: `test-slow@first=50,gap=${gapMs}`,
      stream: true,
      messages: [{ role: 'user', content: words }],
    });
    for await (const chunk of stream) {
      const text = chunk.choices[0]?.delta.content;
      if (text) {
        arrivals.push(Date.now());
        texts.push(text);
      }
    }
    expect(texts.length).toBeGreaterThan(4);
    const received = upstream.requests.at(-1)!.receivedAt;
    // The upstream waits `first`, then `gap` between events: it sends the last content
    // event no earlier than this (upstream/scenario.ts).
    const lastSentNoEarlierThan = received + 50 + (texts.length - 1) * gapMs;
    expect(arrivals[0]!).toBeLessThan(lastSentNoEarlierThan - 2 * gapMs);
    // And they came one by one, spread over the upstream's pacing, not in one burst.
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThan((texts.length - 3) * gapMs);
  });
});

/** One raw HTTP/1.1 request with the target written as given (no client-side normalizing); resolves with the whole answer. */
function rawRequest(target: string): Promise<string> {
  const url = new URL(gateway.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname, () => {
      socket.write([`GET ${target} HTTP/1.1`, `Host: ${url.host}`, `Authorization: Bearer ${gateway.key}`, 'Connection: close', '', ''].join('\r\n'));
    });
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('utf8')));
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
  });
}

describe('local runtime: request targets no URL parser takes', () => {
  it('answer 400 in the gateway error shape and leave the server running', async () => {
    for (const target of ['/%zz', '/v1/models%', '//']) {
      const answer = await rawRequest(target);
      expect(answer, target).toMatch(/^HTTP\/1\.1 400 /);
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: { type: string; code: string } };
      expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_path' });
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(uncaught).toEqual([]);
    await serverStillServes();
  });
});
