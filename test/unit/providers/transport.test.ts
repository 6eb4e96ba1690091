/** translatedBody: backpressure, observers, the terminal error, and aborting on client disconnect. */
import { describe, expect, it } from 'vitest';
import type { RelayObserver } from '../../../functions/upstream/body-relay.js';
import { dataFrame, DONE, translatedBody } from '../../../functions/providers/transport.js';

function recorder() {
  const seen: { events: string[]; chunks: number; ends: Array<string | undefined> } = { events: [], chunks: 0, ends: [] };
  const observer: RelayObserver = {
    onEvent: (e) => seen.events.push(e.data),
    onChunk: () => seen.chunks++,
    onEnd: ({ error }) => seen.ends.push(error?.message),
  };
  return { seen, observer };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

describe('translatedBody', () => {
  it('pulls the source only as fast as the client reads (backpressure)', async () => {
    let produced = 0;
    async function* source() {
      for (let i = 0; i < 10_000; i++) {
        produced++;
        yield i;
      }
    }
    const { seen, observer } = recorder();
    const body = translatedBody<number>({
      source: source(),
      translate: (i) => ({ frames: [dataFrame({ i, pad: 'x'.repeat(1000) })] }),
      end: () => [DONE],
      terminalError: () => [],
      observers: [observer],
      abort: () => undefined,
    });
    body.read(0);
    await new Promise((r) => setTimeout(r, 20));
    // ~1 KB frames against a 16 KB high-water mark: far from all 10 000 were pulled.
    expect(produced).toBeLessThan(100);
    const text = await readAll(body);
    expect(produced).toBe(10_000);
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(seen.events).toHaveLength(10_001);
    expect(seen.ends).toEqual([undefined]);
  });

  it('a failing source ends with the terminal frames, and observers hear the error once', async () => {
    async function* source() {
      yield 1;
      throw new Error('connection reset');
    }
    const { seen, observer } = recorder();
    const text = await readAll(
      translatedBody<number>({
        source: source(),
        translate: (i) => ({ frames: [dataFrame({ i })] }),
        end: () => [DONE],
        terminalError: (err) => [{ bytes: `data: {"error":"${err.message}"}\n\n` }, DONE],
        observers: [observer],
        abort: () => undefined,
      }),
    );
    expect(text).toBe('data: {"i":1}\n\ndata: {"error":"connection reset"}\n\ndata: [DONE]\n\n');
    expect(seen.ends).toEqual(['connection reset']);
  });

  it('a final step stops reading; an end() that throws is a cut stream', async () => {
    let returned = false;
    async function* source() {
      try {
        yield 1;
        yield 2;
        yield 3;
      } finally {
        returned = true;
      }
    }
    const stopped = await readAll(
      translatedBody<number>({
        source: source(),
        translate: (i) => ({ frames: [dataFrame({ i })], final: i === 2 }),
        end: () => [],
        terminalError: () => [],
        observers: [],
        abort: () => undefined,
      }),
    );
    expect(stopped).toBe('data: {"i":1}\n\ndata: {"i":2}\n\n');
    await new Promise((r) => setImmediate(r));
    expect(returned).toBe(true);

    async function* short() {
      yield 1;
    }
    const cut = await readAll(
      translatedBody<number>({
        source: short(),
        translate: (i) => ({ frames: [dataFrame({ i })] }),
        end: () => {
          throw new Error('no terminal event');
        },
        terminalError: (err) => [{ bytes: `error: ${err.message}\n` }],
        observers: [],
        abort: () => undefined,
      }),
    );
    expect(cut).toBe('data: {"i":1}\n\nerror: no terminal event\n');
  });

  it('destroying the body (client gone) aborts the upstream and tells observers', async () => {
    let aborted: Error | undefined;
    async function* endless() {
      for (let i = 0; ; i++) {
        yield i;
        await new Promise((r) => setTimeout(r, 1));
      }
    }
    const { seen, observer } = recorder();
    const body = translatedBody<number>({
      source: endless(),
      translate: (i) => ({ frames: [dataFrame({ i })] }),
      end: () => [],
      terminalError: () => [],
      observers: [observer],
      abort: (reason) => {
        aborted = reason;
      },
    });
    body.on('data', () => undefined);
    await new Promise((r) => setTimeout(r, 20));
    body.destroy();
    await new Promise((r) => setTimeout(r, 10));
    expect(aborted?.message).toBe('client disconnected');
    expect(seen.ends).toEqual(['client disconnected']);
  });
});
