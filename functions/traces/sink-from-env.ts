import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../observability/logger.js';
import { ClickHouseClient } from '../clickhouse/client.js';
import { PriceBook, parsePricingOverrides } from '../pricing/price-book.js';
import { createBatchingSink } from './batching-sink.js';
import { createClickHouseTraceSink } from './clickhouse-sink.js';
import { createFanOutSink } from './fan-out-sink.js';
import { createFirehoseTraceSink } from './firehose-sink.js';
import { createLazyOtlpSink } from './otlp/lazy-sink.js';
import { createJsonlTraceSink, createStdoutTraceSink, type TraceSink } from './sink.js';
import { TraceWriter } from './writer.js';

export const TRACE_SINKS = ['jsonl', 'stdout', 'firehose', 'clickhouse', 'otlp'] as const;
export type TraceSinkKind = (typeof TRACE_SINKS)[number];

/**
 * The trace sink the environment selects (SLUICE_TRACE_SINK, default `jsonl`), behind
 * the writer that bounds concurrency and absorbs failures. No I/O happens here.
 *
 * | SLUICE_TRACE_SINK | needs |
 * |---|---|
 * | `jsonl` | SLUICE_DATA_DIR (default `.sluice`) |
 * | `stdout` | |
 * | `firehose` | SLUICE_TRACE_STREAM (delivery stream name); SLUICE_FIREHOSE_ENDPOINT optional |
 * | `clickhouse` | CLICKHOUSE_URL (`http(s)://user:pass@host:8123/?database=db`) |
 * | `otlp` | OTEL_EXPORTER_OTLP_ENDPOINT and friends (functions/traces/otlp/config.ts) |
 *
 * A comma-separated list writes every trace to each (`jsonl,otlp`).
 *
 * Outside Lambda, undeliverable rows are spooled under `<data dir>/traces/spool/`, and
 * ClickHouse inserts are gathered across requests for SLUICE_TRACE_BATCH_MS (200 ms).
 */
export function traceSinkFromEnv(env: NodeJS.ProcessEnv, logger: Logger, readSecret?: (id: string) => Promise<string>): TraceWriter {
  const dataDir = env.SLUICE_DATA_DIR ?? '.sluice';
  const kinds = [...new Set((env.SLUICE_TRACE_SINK?.trim() || 'jsonl').split(',').map((k) => k.trim()).filter(Boolean))] as TraceSinkKind[];
  const inLambda = Boolean(env.AWS_LAMBDA_FUNCTION_NAME);
  const spoolDir = inLambda ? undefined : join(dataDir, 'traces', 'spool');
  // A long-running process gathers ClickHouse inserts across requests (few large inserts,
  // as ClickHouse wants); the batcher then bounds the I/O, so the writer admits every request.
  const batched = kinds.length === 1 && kinds[0] === 'clickhouse' && !inLambda;
  const sink = createFanOutSink(
    kinds.map((kind) => {
      const one = sinkFor(kind, env, dataDir, readSecret);
      return kind === 'clickhouse' && !inLambda ? createBatchingSink(one, { lingerMs: positive(env.SLUICE_TRACE_BATCH_MS, 200) }) : one;
    }),
  );
  const maxConcurrent = batched ? 100_000 : positive(env.SLUICE_TRACE_CONCURRENCY, 8);
  return new TraceWriter({ sink, logger, maxConcurrent, ...(spoolDir ? { spoolDir } : {}) });
}

function sinkFor(kind: TraceSinkKind, env: NodeJS.ProcessEnv, dataDir: string, readSecret?: (id: string) => Promise<string>): TraceSink {
  switch (kind) {
    case 'otlp':
      return createLazyOtlpSink(env, readSecret);
    case 'jsonl':
      return createJsonlTraceSink(dataDir);
    case 'stdout':
      return createStdoutTraceSink(process.stdout);
    case 'clickhouse': {
      if (!env.CLICKHOUSE_URL) throw new Error('SLUICE_TRACE_SINK=clickhouse needs CLICKHOUSE_URL');
      return createClickHouseTraceSink({ client: new ClickHouseClient({ url: env.CLICKHOUSE_URL }) });
    }
    case 'firehose': {
      const streamName = env.SLUICE_TRACE_STREAM;
      if (!streamName) throw new Error('SLUICE_TRACE_SINK=firehose needs SLUICE_TRACE_STREAM');
      let client: Promise<import('@aws-sdk/client-firehose').FirehoseClient> | undefined;
      return createFirehoseTraceSink({
        streamName,
        client: () =>
          (client ??= import('@aws-sdk/client-firehose').then(
            ({ FirehoseClient }) => new FirehoseClient(env.SLUICE_FIREHOSE_ENDPOINT ? { endpoint: env.SLUICE_FIREHOSE_ENDPOINT } : {}),
          )),
      });
    }
    default:
      throw new Error(`SLUICE_TRACE_SINK must be one of ${TRACE_SINKS.join(', ')} (got '${String(kind)}')`);
  }
}

/**
 * The shipped price file plus SLUICE_PRICING_OVERRIDES: inline JSON, or the path of a
 * JSON file (read once, at start). See docs/traces.md#pricing.
 */
export function pricingFromEnv(env: NodeJS.ProcessEnv): PriceBook {
  const spec = env.SLUICE_PRICING_OVERRIDES?.trim();
  if (!spec) return new PriceBook();
  const text = spec.startsWith('{') ? spec : readFileSync(spec, 'utf8');
  return new PriceBook(undefined, parsePricingOverrides(text));
}

/** SLUICE_TRACE_BODY_BYTES: bytes kept of each body on a trace (default 32 KiB; 0 keeps none). */
export function traceBodyBytesFromEnv(env: NodeJS.ProcessEnv): number {
  const n = Number(env.SLUICE_TRACE_BODY_BYTES);
  return env.SLUICE_TRACE_BODY_BYTES !== undefined && Number.isInteger(n) && n >= 0 ? n : 32 * 1024;
}

function positive(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && Number.isInteger(n) && n > 0 ? n : fallback;
}
