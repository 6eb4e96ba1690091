import type { Logger } from '../observability/logger.js';
import { SinkQueue, writeWithin, type QueuedTrace } from './sink-queue.js';
import { jsonOf, type TraceBatch, type TraceDestination, type TraceSink } from './sink.js';
import type { TraceSpool } from './spool.js';

export interface TraceWriterOptions {
  /** Where traces go; each destination gets its own queue (a slow one never delays another). */
  sinks: readonly TraceDestination[];
  logger: Pick<Logger, 'warn'>;
  /**
   * Long-running processes: what a queue cannot take (full, or its destination failed)
   * is spilled here and replayed into the destination when it works again. Absent
   * (Lambda): such rows are lost, counted and logged as `trace_rows_lost`.
   */
  spool?: TraceSpool;
  /** Bytes waiting per destination queue at most (default 8 MiB); beyond it traces spill. */
  maxQueueBytes?: number;
  /** Bytes waiting to be spilled per destination at most (default 8 MiB); beyond it rows are lost (counted). */
  maxSpillBytes?: number;
  /**
   * Lambda: `write` resolves once every destination stored the trace, or after this many
   * ms (the environment is frozen once the handler resolves); rows not confirmed by then
   * are counted and logged as `trace_rows_lost`. Absent: `write` resolves at once and
   * the request is never held for its trace.
   */
  awaitDeliveryMs?: number;
  /** A destination call still pending after this long counts as failed (default 15 s). */
  writeTimeoutMs?: number;
  /** First wait before a failed replay of the spool is tried again (default 1 s, doubling to 60 s). */
  replayRetryMs?: number;
}

export interface DestinationStats {
  /** Rows the destination stored (replays included). */
  written: number;
  /** Rows it gave up on (then spooled, or lost). */
  undelivered: number;
  /** Rows spilled to the spool (queue full or destination failed). */
  spooled: number;
  /** Rows later delivered from the spool. */
  replayed: number;
  /** Rows neither stored nor spooled (see `trace_rows_lost`). */
  lost: number;
  /** Traces waiting in the queue, and their bytes (bounded by maxQueueBytes). */
  queuedTraces: number;
  queuedBytes: number;
  /** Traces waiting to be appended to the spool (bounded by maxSpillBytes). */
  spilling: number;
  inFlight: number;
}

export interface TraceWriterStats {
  /** Summed over destinations (one destination: rows stored). */
  written: number;
  undelivered: number;
  spooled: number;
  replayed: number;
  lost: number;
  /** Destination calls in flight. */
  inFlight: number;
  /** Traces waiting in queues (summed over destinations). */
  queued: number;
  queuedBytes: number;
}

interface Lane {
  readonly name: string;
  readonly destination: TraceDestination;
  readonly queue: SinkQueue;
  readonly stats: Omit<DestinationStats, 'queuedTraces' | 'queuedBytes' | 'spilling' | 'inFlight'>;
  spill: QueuedTrace[];
  spillBytes: number;
  spilling: boolean;
  /** Something may be in the spool for this destination. */
  spoolDirty: boolean;
  replaying: boolean;
  retryTimer?: NodeJS.Timeout;
  retryMs: number;
}

/** Per-trace bookkeeping for Lambda's bounded wait. */
interface Awaited extends QueuedTrace {
  outstanding: number;
  abandoned: boolean;
  done?: () => void;
}

/**
 * The trace fan-out, the persistence front every request uses: each finished trace is
 * put in every destination's queue and `write` returns (locally at once; in Lambda once
 * stored, or after `awaitDeliveryMs`). A sink failure never fails a request: rows a
 * destination cannot take are spilled to the spool (local) or counted lost (Lambda).
 */
export class TraceWriter implements TraceSink {
  private readonly lanes: Lane[];
  private readonly spool: TraceSpool | undefined;
  private readonly maxSpillBytes: number;
  private readonly retryMs: number;
  private checkedSpool = false;

  constructor(private readonly opts: TraceWriterOptions) {
    if (opts.sinks.length === 0) throw new Error('TraceWriter needs at least one sink');
    const names = new Set(opts.sinks.map((s) => s.name));
    if (names.size !== opts.sinks.length) throw new Error(`trace sink names must be unique (got ${opts.sinks.map((s) => s.name).join(', ')})`);
    this.spool = opts.spool;
    this.maxSpillBytes = opts.maxSpillBytes ?? 8 * 1024 * 1024;
    this.retryMs = opts.replayRetryMs ?? 1_000;
    const inLambda = opts.awaitDeliveryMs !== undefined;
    this.lanes = opts.sinks.map((destination) => {
      const hints = destination.queue ?? {};
      const lane: Lane = {
        name: destination.name,
        destination,
        stats: { written: 0, undelivered: 0, spooled: 0, replayed: 0, lost: 0 },
        spill: [],
        spillBytes: 0,
        spilling: false,
        spoolDirty: false,
        replaying: false,
        retryMs: this.retryMs,
        queue: undefined as unknown as SinkQueue,
      };
      (lane as { queue: SinkQueue }).queue = new SinkQueue(destination, {
        maxBytes: opts.maxQueueBytes ?? 8 * 1024 * 1024,
        concurrency: Math.max(1, hints.concurrency ?? 4),
        // An invocation must not linger for others in Lambda: send in the same tick.
        lingerMs: inLambda ? 0 : (hints.lingerMs ?? 0),
        maxBatchTraces: Math.max(1, hints.maxBatchTraces ?? 500),
        writeTimeoutMs: opts.writeTimeoutMs ?? 15_000,
        stored: (items) => this.stored(lane, items),
        failed: (items, error, undelivered) => this.failed(lane, items, error, undelivered),
      });
      return lane;
    });
  }

  get stats(): TraceWriterStats & { sinks: Record<string, DestinationStats> } {
    const sinks: Record<string, DestinationStats> = {};
    const total: TraceWriterStats = { written: 0, undelivered: 0, spooled: 0, replayed: 0, lost: 0, inFlight: 0, queued: 0, queuedBytes: 0 };
    for (const lane of this.lanes) {
      const s = { ...lane.stats, queuedTraces: lane.queue.queuedTraces, queuedBytes: lane.queue.queuedBytes, spilling: lane.spill.length, inFlight: lane.queue.inFlight };
      sinks[lane.name] = s;
      total.written += s.written;
      total.undelivered += s.undelivered;
      total.spooled += s.spooled;
      total.replayed += s.replayed;
      total.lost += s.lost;
      total.inFlight += s.inFlight;
      total.queued += s.queuedTraces + s.spilling;
      total.queuedBytes += s.queuedBytes;
    }
    return { ...total, sinks };
  }

  write(batch: TraceBatch): Promise<void> {
    const rows = batch.rowCount ?? batch.rows.length;
    if (rows === 0) return Promise.resolve();
    if (!this.checkedSpool) this.checkSpool();
    const item: Awaited = { batch, bytes: jsonOf(batch).length, rows, outstanding: this.lanes.length, abandoned: false };
    for (const lane of this.lanes) if (!lane.queue.push(item)) this.spill(lane, [item], 'queue full');
    const waitMs = this.opts.awaitDeliveryMs;
    if (waitMs === undefined || item.outstanding === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        item.abandoned = true;
        item.done = undefined;
        this.lose(undefined, item.rows * item.outstanding, `not stored within ${waitMs} ms of the last byte`, batch.record.traceId);
        resolve();
      }, waitMs);
      item.done = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Resolves once every queue, spill and replay is idle, or after `timeoutMs` (default 10 s); true when idle. */
  async flush(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.lanes.every((l) => l.queue.idle && !l.spilling && l.spill.length === 0 && !l.replaying)) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Stops the replay timers (for a clean exit). */
  close(): void {
    for (const lane of this.lanes) clearTimeout(lane.retryTimer);
  }

  private settle(items: QueuedTrace[], outcome: 'stored' | 'other'): void {
    for (const i of items as Awaited[]) {
      if (i.abandoned) {
        if (outcome === 'stored') this.lateStored += i.rows;
        continue;
      }
      if (--i.outstanding === 0) i.done?.();
    }
  }

  /** Rows stored after Lambda's wait had already counted them lost (a later thaw). */
  lateStored = 0;

  private stored(lane: Lane, items: QueuedTrace[]): void {
    for (const i of items) lane.stats.written += i.rows;
    this.settle(items, 'stored');
    if (lane.spoolDirty) this.replay(lane);
  }

  private failed(lane: Lane, items: QueuedTrace[], error: Error, rows: number): void {
    let total = 0;
    for (const i of items) total += i.rows;
    lane.stats.written += total - rows;
    lane.stats.undelivered += rows;
    this.opts.logger.warn('trace rows undeliverable', { sink: lane.name, traces: items.length, rows, undeliveredTotal: lane.stats.undelivered, error: error.message });
    this.spill(lane, items, error.message);
  }

  /** Hands traces a destination could not take to the spool (one append in flight per destination); without one, they are lost. */
  private spill(lane: Lane, items: QueuedTrace[], reason: string): void {
    if (!this.spool) {
      let rows = 0;
      // Rows Lambda's wait already counted lost are not counted again.
      for (const i of items as Awaited[]) if (!i.abandoned) rows += i.rows;
      this.lose(lane, rows, reason);
      this.settle(items, 'other');
      return;
    }
    for (const i of items) {
      if (lane.spillBytes + i.bytes > this.maxSpillBytes && lane.spill.length > 0) {
        this.lose(lane, i.rows, `${reason}; spill buffer full`, i.batch.record.traceId);
        this.settle([i], 'other');
        continue;
      }
      lane.spill.push(i);
      lane.spillBytes += i.bytes;
    }
    if (!lane.spilling) void this.drainSpill(lane, reason);
  }

  private async drainSpill(lane: Lane, reason: string): Promise<void> {
    lane.spilling = true;
    try {
      while (lane.spill.length > 0) {
        const taken = lane.spill;
        lane.spill = [];
        lane.spillBytes = 0;
        let rows = 0;
        for (const i of taken) rows += i.rows;
        const ok = await this.spool!.append(
          lane.name,
          taken.map((i) => i.batch),
        ).catch(() => false);
        if (ok) {
          lane.stats.spooled += rows;
          this.scheduleReplay(lane);
        } else this.lose(lane, rows, `${reason}; spool ${this.spool!.dir} full or unwritable`);
        this.settle(taken, 'other');
      }
    } finally {
      lane.spilling = false;
    }
  }

  private lose(lane: Lane | undefined, rows: number, reason: string, traceId?: string): void {
    if (rows <= 0) return;
    if (lane) lane.stats.lost += rows;
    else this.lanes[0]!.stats.lost += rows;
    // The one message the metric filter and alarm count (docs/traces.md#lost-rows).
    this.opts.logger.warn('trace_rows_lost', { trace_rows_lost: rows, ...(lane ? { sink: lane.name } : {}), ...(traceId ? { traceId } : {}), reason });
  }

  private scheduleReplay(lane: Lane, delayMs = lane.retryMs): void {
    lane.spoolDirty = true;
    if (lane.retryTimer || lane.replaying) return;
    lane.retryTimer = setTimeout(() => {
      lane.retryTimer = undefined;
      this.replay(lane);
    }, delayMs);
    lane.retryTimer.unref?.();
  }

  /** Sends the destination's spool back through it; on failure tries again later, backing off. */
  private replay(lane: Lane): void {
    if (!this.spool || lane.replaying) return;
    lane.replaying = true;
    lane.spoolDirty = false;
    clearTimeout(lane.retryTimer);
    lane.retryTimer = undefined;
    const timeoutMs = this.opts.writeTimeoutMs ?? 15_000;
    this.spool
      .replay(lane.name, async (traces) => {
        await writeWithin(lane.destination, traces, timeoutMs);
        let rows = 0;
        for (const t of traces) rows += t.rowCount ?? t.rows.length;
        lane.stats.replayed += rows;
        lane.stats.written += rows;
      })
      .then(
        () => {
          lane.retryMs = this.retryMs;
          lane.replaying = false;
          if (lane.spoolDirty) this.scheduleReplay(lane, 0);
        },
        () => {
          lane.replaying = false;
          lane.retryMs = Math.min(60_000, lane.retryMs * 2);
          this.scheduleReplay(lane, lane.retryMs);
        },
      );
  }

  /** Once, on the first trace: anything spooled by an earlier run is replayed (no I/O at construction). */
  private checkSpool(): void {
    this.checkedSpool = true;
    if (!this.spool) return;
    for (const lane of this.lanes) {
      void this.spool.pending(lane.name).then(
        (pending) => {
          if (pending) this.scheduleReplay(lane, 0);
        },
        () => undefined,
      );
    }
  }
}
