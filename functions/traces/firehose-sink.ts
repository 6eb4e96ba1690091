import type { FirehoseClient } from '@aws-sdk/client-firehose';
import type { TraceStepRow } from './rows.js';
import { rowsOf, UndeliveredRowsError, type TraceDestination } from './sink.js';

/** PutRecordBatch limits: records per call, bytes per call, bytes per record. */
export const FIREHOSE_MAX_RECORDS = 500;
export const FIREHOSE_MAX_BATCH_BYTES = 4 * 1024 * 1024;
export const FIREHOSE_MAX_RECORD_BYTES = 1000 * 1024;

export interface FirehoseSinkOptions {
  /** Created lazily so deployments without Firehose never load the SDK client. */
  client: () => Promise<FirehoseClient> | FirehoseClient;
  streamName: string;
  /** Attempts for the records of one batch (default 4). */
  attempts?: number;
  /** First backoff, doubled per attempt with full jitter (default 100 ms). */
  backoffMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

interface Encoded {
  row: TraceStepRow;
  data: Uint8Array;
}

/** Splits records into PutRecordBatch calls of at most 500 records and 4 MiB. */
export function planBatches<T extends { data: Uint8Array }>(records: readonly T[]): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = record.data.byteLength;
    if (current.length > 0 && (current.length >= FIREHOSE_MAX_RECORDS || bytes + size > FIREHOSE_MAX_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length) batches.push(current);
  return batches;
}

/**
 * Firehose (PutRecordBatch). One record per step row, one JSON line each; the row's
 * step id is the idempotency key that trace-ingest and ClickHouse dedupe on. Only the
 * records Firehose reports as failed are retried, with exponential backoff.
 */
export function createFirehoseTraceSink(opts: FirehoseSinkOptions): TraceDestination {
  const attempts = opts.attempts ?? 4;
  const backoff = opts.backoffMs ?? 100;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = opts.random ?? Math.random;
  const encoder = new TextEncoder();

  async function sendBatch(client: FirehoseClient, batch: Encoded[]): Promise<{ undelivered: Encoded[]; lastError?: string }> {
    const { PutRecordBatchCommand } = await import('@aws-sdk/client-firehose');
    let pending = batch;
    let lastError: string | undefined;
    for (let attempt = 0; attempt < attempts && pending.length > 0; attempt++) {
      if (attempt > 0) await sleep(random() * backoff * 2 ** (attempt - 1));
      try {
        const out = await client.send(new PutRecordBatchCommand({ DeliveryStreamName: opts.streamName, Records: pending.map((r) => ({ Data: r.data })) }));
        if (!out.FailedPutCount) return { undelivered: [] };
        const responses = out.RequestResponses ?? [];
        const failed = pending.filter((_, i) => responses[i]?.ErrorCode !== undefined || responses[i] === undefined);
        lastError = responses.find((r) => r.ErrorCode)?.ErrorCode ?? 'partial failure';
        pending = failed;
      } catch (err) {
        lastError = (err as Error).name || (err as Error).message;
      }
    }
    return { undelivered: pending, ...(lastError !== undefined ? { lastError } : {}) };
  }

  return {
    name: 'firehose',
    queue: { concurrency: 4, maxBatchTraces: 100 },
    async write(traces) {
      const rows = rowsOf(traces);
      if (rows.length === 0) return;
      const tooBig: TraceStepRow[] = [];
      const records: Encoded[] = [];
      for (const row of rows) {
        const data = encoder.encode(`${JSON.stringify(row)}\n`);
        if (data.byteLength > FIREHOSE_MAX_RECORD_BYTES) tooBig.push(row);
        else records.push({ row, data });
      }
      const client = await opts.client();
      const undelivered: TraceStepRow[] = [...tooBig];
      let lastError = tooBig.length ? 'record larger than 1000 KiB' : undefined;
      for (const batch of planBatches(records)) {
        const result = await sendBatch(client, batch);
        undelivered.push(...result.undelivered.map((r) => r.row));
        if (result.lastError && result.undelivered.length) lastError = result.lastError;
      }
      if (undelivered.length) throw new UndeliveredRowsError(`Firehose did not accept ${undelivered.length} record(s): ${lastError}`, undelivered);
    },
  };
}
