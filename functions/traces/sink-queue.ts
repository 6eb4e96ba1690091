import { UndeliveredRowsError, type TraceBatch, type TraceDestination } from './sink.js';

/** One trace waiting in the queues of the fan-out; the same object sits in every destination's queue. */
export interface QueuedTrace {
  readonly batch: TraceBatch;
  /** Serialized size: what the byte bounds count. */
  readonly bytes: number;
  readonly rows: number;
}

export interface SinkQueueOptions {
  /** Bytes of traces waiting (not yet handed to the destination) at most. */
  maxBytes: number;
  concurrency: number;
  lingerMs: number;
  maxBatchTraces: number;
  /** A call still pending after this long counts as failed (default 15 s). */
  writeTimeoutMs: number;
  /** The destination stored these traces. */
  stored(items: QueuedTrace[]): void;
  /**
   * The destination gave up on `undeliveredRows` rows of these traces (its error says
   * why; the traces' other rows were stored); the fan-out spools the traces whole.
   */
  failed(items: QueuedTrace[], error: Error, undeliveredRows: number): void;
}

/**
 * One destination's queue: bounded in bytes (push refuses what does not fit, so the
 * caller can spill it; nothing waits for room), batching the traces that arrive while
 * earlier batches are in flight or within `lingerMs`, with at most `concurrency` calls
 * in flight.
 */
export class SinkQueue {
  private items: QueuedTrace[] = [];
  private waitingBytes = 0;
  private inFlightCalls = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;

  constructor(
    readonly destination: TraceDestination,
    private readonly opts: SinkQueueOptions,
  ) {}

  get queuedTraces(): number {
    return this.items.length;
  }

  get queuedBytes(): number {
    return this.waitingBytes;
  }

  get inFlight(): number {
    return this.inFlightCalls;
  }

  get idle(): boolean {
    return this.items.length === 0 && this.inFlightCalls === 0;
  }

  /** Queues the trace; false when it does not fit in the byte bound (an empty queue takes any one trace). */
  push(item: QueuedTrace): boolean {
    if (this.items.length > 0 && this.waitingBytes + item.bytes > this.opts.maxBytes) return false;
    this.items.push(item);
    this.waitingBytes += item.bytes;
    this.schedule();
    return true;
  }

  private schedule(): void {
    if (this.inFlightCalls >= this.opts.concurrency || this.items.length === 0) return;
    if (this.items.length >= this.opts.maxBatchTraces) {
      this.send();
      return;
    }
    if (this.timer || this.immediate) return;
    if (this.opts.lingerMs > 0) this.timer = setTimeout(() => this.send(), this.opts.lingerMs);
    else this.immediate = setImmediate(() => this.send());
  }

  private send(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    while (this.inFlightCalls < this.opts.concurrency && this.items.length > 0) {
      const taken = this.items.length <= this.opts.maxBatchTraces ? this.items : this.items.slice(0, this.opts.maxBatchTraces);
      this.items = taken === this.items ? [] : this.items.slice(taken.length);
      for (const t of taken) this.waitingBytes -= t.bytes;
      this.inFlightCalls++;
      void this.call(taken);
      // What is left is less than a full batch: let it gather (or linger) as usual.
      if (this.items.length < this.opts.maxBatchTraces) break;
    }
    this.schedule();
  }

  private async call(items: QueuedTrace[]): Promise<void> {
    let error: Error | undefined;
    try {
      await writeWithin(this.destination, items.map((i) => i.batch), this.opts.writeTimeoutMs);
    } catch (err) {
      error = err instanceof Error ? err : new Error(String(err));
    }
    // The slot is free before anyone hears of the outcome.
    this.inFlightCalls--;
    if (!error) this.opts.stored(items);
    else if (error instanceof UndeliveredRowsError) {
      const failed = new Set(error.rows.map((r) => r.step_id));
      const good: QueuedTrace[] = [];
      const bad: QueuedTrace[] = [];
      let undelivered = 0;
      for (const i of items) {
        const n = i.batch.rows.reduce((k, r) => k + (failed.has(r.step_id) ? 1 : 0), 0);
        if (n === 0) good.push(i);
        else {
          bad.push(i);
          undelivered += n;
        }
      }
      if (good.length) this.opts.stored(good);
      if (bad.length) this.opts.failed(bad, error, undelivered);
    } else {
      let rows = 0;
      for (const i of items) rows += i.rows;
      this.opts.failed(items, error, rows);
    }
    this.schedule();
  }
}

/** `destination.write(traces)`, failed after `timeoutMs` if still pending (a hung sink must not hold its slot). */
export async function writeWithin(destination: TraceDestination, traces: TraceBatch[], timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      destination.write(traces),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${destination.name} write still pending after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
