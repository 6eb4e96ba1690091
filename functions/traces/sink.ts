import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TraceRecord } from './recorder.js';
import type { TraceStepRow } from './rows.js';

/** What one persistence call hands a sink: the trace and the rows of its not-yet-written steps. */
export interface TraceBatch {
  /** The trace with exactly the steps in `rows`. */
  record: TraceRecord;
  /** May be a getter that builds the rows on first read: sinks that only write the record (JSONL) never pay for them. */
  rows: TraceStepRow[];
  /** `rows.length`, when known without building the rows. */
  rowCount?: number;
}

/** Where finished traces go. Writes are asynchronous; a failure must never fail a request. */
export interface TraceSink {
  write(batch: TraceBatch): Promise<void>;
}

/**
 * A sink gave up on some rows (after its own retries). The writer counts, logs and
 * spools exactly these.
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

/**
 * The embedded default: one JSON line per trace under `<dir>/traces/YYYY-MM-DD.jsonl`.
 * Lines written in the same tick are appended together (one open/append/close per file
 * instead of one per request); appends run one after another, so lines keep their order.
 */
export function createJsonlTraceSink(dataDir: string): TraceSink {
  const dir = join(dataDir, 'traces');
  let ready: Promise<unknown> | undefined;
  let queue: { day: string; line: string; done: (err?: Error) => void }[] = [];
  let chain: Promise<void> = Promise.resolve();
  let scheduled = false;

  const flush = async (batch: typeof queue) => {
    ready ??= mkdir(dir, { recursive: true });
    const byDay = new Map<string, typeof queue>();
    for (const item of batch) byDay.set(item.day, [...(byDay.get(item.day) ?? []), item]);
    for (const [day, items] of byDay) {
      try {
        await ready;
        await appendFile(join(dir, `${day}.jsonl`), items.map((i) => i.line).join(''));
        for (const i of items) i.done();
      } catch (err) {
        ready = undefined;
        for (const i of items) i.done(err as Error);
      }
    }
  };

  return {
    write({ record }) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ day: record.startedAt.slice(0, 10), line: `${JSON.stringify(record)}\n`, done: (err) => (err ? reject(err) : resolve()) });
        if (scheduled) return;
        scheduled = true;
        setImmediate(() => {
          scheduled = false;
          const batch = queue;
          queue = [];
          chain = chain.then(() => flush(batch));
        });
      });
    },
  };
}

/** One JSON line per step row on a stream (stdout in a container whose log shipper collects it). */
export function createStdoutTraceSink(out: { write(chunk: string): unknown }): TraceSink {
  return {
    async write({ rows }) {
      if (rows.length) out.write(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    },
  };
}
