import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { tellEnd, type RelayObserver } from '../upstream/body-relay.js';
import { SseSplitter, type SseEvent } from '../upstream/sse.js';

/** One piece of a translated body: its bytes, and the SSE event it is (for observers). */
export interface Frame {
  bytes: string | Buffer;
  event?: SseEvent;
}

/** `data: <json>\n\n`, as a frame observers see as an SSE event. */
export function dataFrame(payload: unknown): Frame {
  const data = JSON.stringify(payload);
  const raw = `data: ${data}\n\n`;
  return { bytes: raw, event: { data, raw } };
}

export function namedFrame(event: string, payload: unknown): Frame {
  const data = JSON.stringify(payload);
  const raw = `event: ${event}\ndata: ${data}\n\n`;
  return { bytes: raw, event: { event, data, raw } };
}

export const DONE: Frame = { bytes: 'data: [DONE]\n\n', event: { data: '[DONE]', raw: 'data: [DONE]\n\n' } };

export interface TranslateStep {
  frames: Frame[];
  /** The upstream said its last word (a terminal event or an error event): stop reading. */
  final?: boolean;
  /** Why the stream ended early, told to observers. */
  error?: Error;
}

export interface TranslatedBodyOptions<In> {
  source: AsyncIterable<In>;
  translate(item: In): TranslateStep;
  /** Called when the source ends without a final step; throwing reports a cut stream. */
  end(): Frame[];
  /** The closing frames when the source fails mid-stream (error event and [DONE]). */
  terminalError(err: Error): Frame[];
  observers: RelayObserver[];
  /** Aborts the upstream call (client went away, or the stream was stopped early). */
  abort(reason?: Error): void;
}

/**
 * A body produced by translating upstream items one by one, pulled with backpressure:
 * the next upstream item is read only when the client consumed what came before.
 * Observers see every frame (SSE frames as events) and are told once when the body
 * ends. Destroying the body (client disconnect) aborts the upstream call.
 */
export function translatedBody<In>(opts: TranslatedBodyOptions<In>): Readable {
  const iterator = opts.source[Symbol.asyncIterator]();
  let ended = false;
  let pulling = false;
  const finish = (error?: Error) => {
    if (ended) return;
    ended = true;
    tellEnd(opts.observers, error);
  };
  const release = () => {
    void iterator.return?.()?.catch(() => undefined);
  };

  const out = new Readable({
    read() {
      if (pulling || ended) return;
      pulling = true;
      void pump().finally(() => {
        pulling = false;
      });
    },
    destroy(err, cb) {
      if (!ended) {
        const reason = err ?? new Error('client disconnected');
        opts.abort(reason);
        finish(reason);
      }
      release();
      cb(err);
    },
  });

  const emit = (frame: Frame): boolean => {
    const more = out.push(frame.bytes);
    for (const o of opts.observers) {
      if (frame.event) o.onEvent?.(frame.event);
      else o.onChunk?.(typeof frame.bytes === 'string' ? Buffer.from(frame.bytes) : frame.bytes);
    }
    return more;
  };

  async function pump(): Promise<void> {
    try {
      for (;;) {
        const next = await iterator.next();
        if (out.destroyed) return;
        if (next.done) {
          for (const f of opts.end()) emit(f);
          out.push(null);
          finish();
          return;
        }
        const step = opts.translate(next.value);
        let more = true;
        for (const f of step.frames) more = emit(f) && more;
        if (step.final) {
          out.push(null);
          finish(step.error);
          release();
          return;
        }
        if (!more) return;
      }
    } catch (err) {
      if (ended || out.destroyed) return;
      for (const f of opts.terminalError(err as Error)) emit(f);
      out.push(null);
      finish(err as Error);
    }
  }
  return out;
}

/** The SSE events of an upstream body; a body cut before its end is an error. */
export async function* sseEvents(body: IncomingMessage): AsyncGenerator<SseEvent> {
  const splitter = new SseSplitter();
  for await (const chunk of body) {
    for (const event of splitter.push((chunk as Buffer).toString('utf8'))) yield event;
  }
  if (!body.complete) throw new Error('upstream closed the stream early');
  if (splitter.pending.trim() !== '') for (const event of splitter.push('\n\n')) yield event;
}

/** A whole upstream body, bounded: anything past the limit is dropped (error bodies, JSON answers). */
export function readBody(body: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    body.on('end', () => (body.complete ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error('upstream closed the body early'))));
    body.on('error', reject);
  });
}

/** A complete body as a stream observers see (one chunk, then the end). */
export function completeBody(text: string, observers: RelayObserver[]): Readable {
  return translatedBody<string>({
    source: (async function* () {
      yield text;
    })(),
    translate: (t) => ({ frames: [{ bytes: t }] }),
    end: () => [],
    terminalError: () => [],
    observers,
    abort: () => undefined,
  });
}
