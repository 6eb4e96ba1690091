import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { streamIncomplete } from './errors.js';
import { SseSplitter, type SseEvent } from './sse.js';

export interface RelayObserver {
  /** Called with each raw chunk forwarded (non-SSE bodies). */
  onChunk?(chunk: Buffer): void;
  /** Called with each complete SSE event forwarded. */
  onEvent?(event: SseEvent): void;
  /** Called once when the body is finished; `error` when it did not complete. */
  onEnd?(outcome: { error?: Error }): void;
}

/** Tells every observer the body ended (`error` when it did not complete); observers never break the stream. */
export function tellEnd(observers: RelayObserver[], error?: Error): void {
  for (const o of observers) {
    try {
      o.onEnd?.(error ? { error } : {});
    } catch {
      // observers never break the stream
    }
  }
}

/**
 * An SSE format's terminal event, watched for as the stream is relayed: a stream that ends
 * (even cleanly) before it is closed with the format's error event, as `stream_incomplete`.
 */
export interface StreamEnd {
  /** What the format ends with, for the error message (`message_stop`, `finish_reason and [DONE]`). */
  readonly terminal: string;
  /**
   * Sees each event before it is forwarded: `done` once the stream has said its last word
   * (the terminal event, or an error event of the upstream's own); `incomplete` when this
   * event would close a stream that never finished (it is not forwarded); `more` otherwise.
   */
  see(event: SseEvent): 'more' | 'done' | 'incomplete';
}

export interface RelayOptions {
  sse: boolean;
  /** SSE only: the format's terminal event; absent, any clean end is complete. */
  streamEnd?: StreamEnd;
  observers: RelayObserver[];
  /** SSE only: the closing bytes sent to the client when the upstream fails mid-stream. */
  terminalError?: (err: Error) => string;
  /** Aborts the upstream call (client went away, or the relay was destroyed). */
  abortUpstream: (reason?: Error) => void;
}

/**
 * Forwards the upstream body chunk by chunk with backpressure. SSE bodies are forwarded
 * as whole events (a half-written event is held until its blank line) so a cut stream
 * can be closed with a well-formed error event and `data: [DONE]` instead of a silent
 * truncation. Destroying the relay (client disconnect) aborts the upstream call.
 */
export function relayBody(source: IncomingMessage, opts: RelayOptions): Readable {
  const splitter = opts.sse ? new SseSplitter() : undefined;
  let ended = false;
  const finish = (error?: Error) => {
    if (ended) return;
    ended = true;
    tellEnd(opts.observers, error);
  };

  const out = new Readable({
    read() {
      source.resume();
    },
    destroy(err, cb) {
      if (!source.complete) opts.abortUpstream(err ?? new Error('client disconnected'));
      finish(err ?? (source.complete ? undefined : new Error('client disconnected')));
      cb(err);
    },
  });

  const forward = (buf: Buffer | string) => {
    if (!out.push(buf)) source.pause();
  };

  let failed = false;
  let sawEnd = false;
  const incomplete = () => {
    const err = streamIncomplete(opts.streamEnd!.terminal);
    fail(err);
    opts.abortUpstream(err);
  };
  const relayEvent = (event: SseEvent): boolean => {
    const verdict = opts.streamEnd?.see(event);
    if (verdict === 'incomplete') {
      incomplete();
      return false;
    }
    if (verdict === 'done') sawEnd = true;
    forward(event.raw);
    for (const o of opts.observers) o.onEvent?.(event);
    return true;
  };

  source.on('data', (chunk: Buffer) => {
    if (failed || ended) return;
    if (!splitter) {
      forward(chunk);
      for (const o of opts.observers) o.onChunk?.(chunk);
      return;
    }
    for (const event of splitter.push(chunk.toString('utf8'))) if (!relayEvent(event)) return;
  });

  const fail = (err: Error) => {
    if (failed || ended) return;
    failed = true;
    if (splitter && opts.terminalError) {
      out.push(opts.terminalError(err));
      out.push(null);
      finish(err);
    } else {
      finish(err);
      out.destroy(err);
    }
  };

  source.on('end', () => {
    if (failed || ended) return;
    if (!source.complete) return fail(new Error('upstream closed the stream early'));
    // The last event without its blank line still counts (and is checked) as an event.
    if (splitter && splitter.pending.trim() !== '') for (const event of splitter.push('\n\n')) if (!relayEvent(event)) return;
    if (opts.streamEnd && !sawEnd) return incomplete();
    out.push(null);
    finish();
  });
  source.on('error', (err) => fail(err));
  source.on('close', () => {
    if (!source.complete && !ended) fail(new Error('upstream closed the stream early'));
  });
  return out;
}
