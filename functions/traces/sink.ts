import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { TraceRecord } from './recorder.js';
import type { TraceStepRow } from './rows.js';

/** One request's trace as handed to persistence: the trace and the rows of its not-yet-written steps. */
export interface TraceBatch {
  /** The trace with exactly the steps in `rows`. */
  record: TraceRecord;
  /** May be a getter that builds the rows on first read: sinks that only write the record (JSONL) never pay for them. */
  rows: TraceStepRow[];
  /** `rows.length`, when known without building the rows. */
  rowCount?: number;
  /** `JSON.stringify(record)`, when already computed (the fan-out computes it once for its byte bounds). */
  json?: string;
}

/**
 * What the gateway hands each finished trace to (GatewayDeps.traceSink): the fan-out
 * (TraceWriter), or a test's in-memory sink. A failure must never fail a request.
 */
export interface TraceSink {
  write(batch: TraceBatch): Promise<void>;
}

/**
 * One destination of the fan-out (JSONL file, stdout, Firehose, ClickHouse, OTLP …).
 * The fan-out gives each destination its own queue, bounded in bytes, and calls `write`
 * with the traces of many requests gathered across ticks, up to `concurrency` calls at
 * once. `write` resolves once every trace is stored; it rejects with an
 * UndeliveredRowsError naming the rows it gave up on (any other rejection: all of them).
 */
export interface TraceDestination {
  /** Names the destination in stats, logs and its spool directory: `[a-z0-9-]+`, unique per process. */
  readonly name: string;
  write(traces: readonly TraceBatch[]): Promise<void>;
  /** Queue tuning this destination wants (the fan-out's defaults otherwise). */
  readonly queue?: DestinationQueueHints;
}

export interface DestinationQueueHints {
  /** Batches in flight at once (default 4; a file appender wants 1 to keep its lines in order). */
  concurrency?: number;
  /** How long the first waiting trace may wait for others to join its batch (default 0: the same tick). */
  lingerMs?: number;
  /** Traces per call at most (default 500). */
  maxBatchTraces?: number;
}

/**
 * A sink gave up on some rows (after its own retries). The fan-out counts, logs and
 * spools the traces these rows belong to.
 */
export class UndeliveredRowsError extends Error {
  constructor(
    message: string,
    readonly rows: TraceStepRow[],
  ) {
    super(message);
    this.name = 'UndeliveredRowsError';
  }
}

/** The rows of many traces, in order (builds lazy rows). */
export function rowsOf(traces: readonly TraceBatch[]): TraceStepRow[] {
  const out: TraceStepRow[] = [];
  for (const t of traces) for (const r of t.rows) out.push(r);
  return out;
}

/** The trace as one JSON line (without the newline), computed once per batch. */
export function jsonOf(batch: TraceBatch): string {
  return (batch.json ??= JSON.stringify(batch.record));
}

/**
 * The embedded default: one JSON line per trace under `<dir>/traces/YYYY-MM-DD.jsonl`,
 * appended through a file handle kept open per day (reopened after an error, closed
 * when the day changes). One call appends all its traces in one write; the fan-out runs
 * one call at a time, so lines keep their order.
 */
export function createJsonlTraceSink(dataDir: string): TraceDestination & { close(): Promise<void> } {
  const dir = join(dataDir, 'traces');
  let current: { day: string; handle: Promise<FileHandle> } | undefined;

  const handleFor = (day: string): Promise<FileHandle> => {
    if (current?.day === day) return current.handle;
    const previous = current;
    void previous?.handle.then((h) => h.close()).catch(() => {});
    const handle = mkdir(dir, { recursive: true }).then(() => open(join(dir, `${day}.jsonl`), 'a'));
    current = { day, handle };
    return handle;
  };

  return {
    name: 'jsonl',
    queue: { concurrency: 1, lingerMs: 5, maxBatchTraces: 2_000 },
    async write(traces) {
      const byDay = new Map<string, string[]>();
      for (const t of traces) {
        const day = t.record.startedAt.slice(0, 10);
        let lines = byDay.get(day);
        if (!lines) byDay.set(day, (lines = []));
        lines.push(jsonOf(t), '\n');
      }
      for (const [day, lines] of byDay) {
        const handle = handleFor(day);
        try {
          await (await handle).write(lines.join(''));
        } catch (err) {
          // A broken directory or file: the next call opens it again.
          if (current?.handle === handle) current = undefined;
          void handle.then((h) => h.close()).catch(() => {});
          throw err;
        }
      }
    },
    async close() {
      const open = current;
      current = undefined;
      await open?.handle.then((h) => h.close()).catch(() => {});
    },
  };
}

/** One JSON line per step row on a stream (stdout in a container whose log shipper collects it). */
export function createStdoutTraceSink(out: { write(chunk: string): unknown }): TraceDestination {
  return {
    name: 'stdout',
    queue: { concurrency: 1 },
    async write(traces) {
      const rows = rowsOf(traces);
      if (rows.length) out.write(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    },
  };
}
