import type { TraceStepRow } from './rows.js';
import { UndeliveredRowsError, type TraceBatch, type TraceSink } from './sink.js';

export interface BatchingSinkOptions {
  /** Flush once this many rows are waiting (default 2000). */
  maxRows?: number;
  /** … or this long after the first waiting row arrived (default 200 ms). */
  lingerMs?: number;
}

interface Waiting {
  batch: TraceBatch;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * Gathers the rows of many requests into one sink write, for a long-running process
 * (the local runtime, a container): ClickHouse wants few large inserts, not one per
 * request. Each caller's promise settles with the write that carried its rows; on a
 * failure it rejects with exactly its own rows undelivered. Not for Lambda, where an
 * invocation must not linger waiting for others.
 */
export function createBatchingSink(inner: TraceSink, opts: BatchingSinkOptions = {}): TraceSink {
  const maxRows = opts.maxRows ?? 2_000;
  const lingerMs = opts.lingerMs ?? 200;
  let waiting: Waiting[] = [];
  let rows = 0;
  let timer: NodeJS.Timeout | undefined;

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const taken = waiting;
    waiting = [];
    rows = 0;
    if (taken.length === 0) return;
    const all: TraceStepRow[] = taken.flatMap((w) => w.batch.rows);
    inner.write({ record: taken[0]!.batch.record, rows: all }).then(
      () => {
        for (const w of taken) w.resolve();
      },
      (err: Error) => {
        const failed = err instanceof UndeliveredRowsError ? new Set(err.rows.map((r) => r.step_id)) : undefined;
        for (const w of taken) {
          const mine = failed ? w.batch.rows.filter((r) => failed.has(r.step_id)) : w.batch.rows;
          if (mine.length === 0) w.resolve();
          else w.reject(new UndeliveredRowsError(err.message, mine));
        }
      },
    );
  };

  return {
    write(batch) {
      if (batch.rows.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        waiting.push({ batch, resolve, reject });
        rows += batch.rows.length;
        if (rows >= maxRows) flush();
        else timer ??= setTimeout(flush, lingerMs);
      });
    },
  };
}
