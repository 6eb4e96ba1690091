import type { RelayObserver } from '../upstream/body-relay.js';
import type { SseEvent } from '../upstream/sse.js';
import { aggregatorFor, type StreamAggregator } from './aggregate.js';

/** Bytes of answer a capture keeps before it gives up (before gzip; the entry limit applies after). */
export const MAX_CAPTURE_BYTES = 8 * 1024 * 1024;

export type CaptureResult =
  | { ok: true; body: Record<string, unknown> }
  | { ok: false; reason: 'too_large' | 'incomplete' | 'unreadable' };

/**
 * A bounded copy of the answer the adapter hands the client, kept as a body observer (the
 * hook the trace and session captures use: no extra stream stage, nothing waits on it).
 * Plain bodies are kept as bytes, streamed ones folded event by event into the plain
 * answer (functions/cache/aggregate.ts). Past MAX_CAPTURE_BYTES the copy is dropped and
 * the result is `too_large`; a body that ended with an error, or a stream without its
 * clean terminator, is `incomplete`: never stored.
 */
export class AnswerCapture implements RelayObserver {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private aggregator: StreamAggregator | undefined;
  private mode: 'unknown' | 'plain' | 'sse' | 'mixed' = 'unknown';
  private over = false;
  private outcome: CaptureResult | undefined;

  constructor(
    private readonly endpoint: string,
    private readonly done: (result: CaptureResult) => void,
    private readonly limit = MAX_CAPTURE_BYTES,
  ) {}

  onChunk(chunk: Buffer): void {
    if (this.over || this.outcome) return;
    if (this.mode === 'sse') return void (this.mode = 'mixed');
    this.mode = 'plain';
    if (!this.count(chunk.length)) return;
    this.chunks.push(chunk);
  }

  onEvent(event: SseEvent): void {
    if (this.over || this.outcome) return;
    if (this.mode === 'plain') return void (this.mode = 'mixed');
    if (this.mode === 'unknown') {
      this.mode = 'sse';
      this.aggregator = aggregatorFor(this.endpoint);
    }
    if (!this.count(event.data.length)) return;
    this.aggregator?.push(event);
  }

  onEnd({ error }: { error?: Error }): void {
    if (this.outcome) return;
    this.outcome = error ? { ok: false, reason: 'incomplete' } : this.over ? { ok: false, reason: 'too_large' } : this.read();
    this.chunks = [];
    this.aggregator = undefined;
    this.done(this.outcome);
  }

  private count(n: number): boolean {
    this.bytes += n;
    if (this.bytes <= this.limit) return true;
    this.over = true;
    this.chunks = [];
    this.aggregator = undefined;
    return false;
  }

  private read(): CaptureResult {
    if (this.mode === 'plain') {
      try {
        const body = JSON.parse(Buffer.concat(this.chunks).toString('utf8')) as unknown;
        if (body && typeof body === 'object' && !Array.isArray(body)) return { ok: true, body: body as Record<string, unknown> };
      } catch {
        // fall through
      }
      return { ok: false, reason: 'unreadable' };
    }
    if (this.mode === 'sse') {
      const body = this.aggregator?.result();
      return body ? { ok: true, body } : { ok: false, reason: 'incomplete' };
    }
    return { ok: false, reason: 'unreadable' };
  }
}
