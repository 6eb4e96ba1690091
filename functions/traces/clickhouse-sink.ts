import type { ClickHouseClient } from '../clickhouse/client.js';
import { encodeRow } from './rows.js';
import { rowsOf, UndeliveredRowsError, type TraceDestination } from './sink.js';

export const TRACE_STEPS_TABLE = 'sluice_trace_steps';

export interface ClickHouseSinkOptions {
  client: ClickHouseClient;
  /** Attempts per batch (default 3), with exponential backoff from `backoffMs` (default 100). */
  attempts?: number;
  backoffMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Direct inserts (`INSERT … FORMAT JSONEachRow`). Retrying a whole batch is safe: the
 * table is a ReplacingMergeTree keyed on the step id, so a row stored twice collapses.
 */
export function createClickHouseTraceSink(opts: ClickHouseSinkOptions & { lingerMs?: number }): TraceDestination {
  const attempts = opts.attempts ?? 3;
  const backoff = opts.backoffMs ?? 100;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  return {
    name: 'clickhouse',
    // ClickHouse wants few large inserts: traces of many requests are gathered for up to lingerMs.
    queue: { concurrency: 2, lingerMs: opts.lingerMs ?? 200, maxBatchTraces: 1_000 },
    async write(traces) {
      const rows = rowsOf(traces);
      if (rows.length === 0) return;
      let last: unknown;
      for (let attempt = 0; attempt < attempts; attempt++) {
        if (attempt > 0) await sleep(backoff * 2 ** (attempt - 1));
        try {
          const variant = await opts.client.variant();
          await opts.client.insertJsonEachRow(TRACE_STEPS_TABLE, rows.map((r) => encodeRow(r, variant)));
          return;
        } catch (err) {
          last = err;
        }
      }
      throw new UndeliveredRowsError(`ClickHouse insert failed after ${attempts} attempts: ${(last as Error).message}`, rows);
    },
  };
}
