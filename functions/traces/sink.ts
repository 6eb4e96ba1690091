import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TraceRecord } from './recorder.js';
import type { TraceStepRow } from './rows.js';

/** What one persistence call hands a sink: the trace and the rows of its not-yet-written steps. */
export interface TraceBatch {
  /** The trace with exactly the steps in `rows`. */
  record: TraceRecord;
  rows: TraceStepRow[];
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

/** The embedded default: one JSON line per trace under `<dir>/traces/YYYY-MM-DD.jsonl`. */
export function createJsonlTraceSink(dataDir: string): TraceSink {
  const dir = join(dataDir, 'traces');
  let ready: Promise<unknown> | undefined;
  return {
    async write({ record }) {
      ready ??= mkdir(dir, { recursive: true });
      await ready;
      const day = record.startedAt.slice(0, 10);
      await appendFile(join(dir, `${day}.jsonl`), `${JSON.stringify(record)}\n`);
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
