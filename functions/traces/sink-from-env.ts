import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../observability/logger.js';
import { ClickHouseClient } from '../clickhouse/client.js';
import { PriceBook, parsePricingOverrides } from '../pricing/price-book.js';
import { createClickHouseTraceSink } from './clickhouse-sink.js';
import { createFirehoseTraceSink } from './firehose-sink.js';
import { createLazyOtlpDestination } from './otlp/lazy-sink.js';
import { createJsonlTraceSink, createStdoutTraceSink, type TraceDestination } from './sink.js';
import { TraceSpool } from './spool.js';
import { TraceWriter } from './writer.js';

export const TRACE_SINKS = ['jsonl', 'stdout', 'firehose', 'clickhouse', 'otlp'] as const;
export type TraceSinkKind = (typeof TRACE_SINKS)[number];

/**
 * The trace fan-out the environment selects. SLUICE_TRACE_SINK names one destination or
 * several, comma-separated (default `jsonl`); each gets its own queue. No I/O happens here.
 *
 * | SLUICE_TRACE_SINK | needs |
 * |---|---|
 * | `jsonl` | SLUICE_DATA_DIR (default `.sluice`) |
 * | `stdout` | |
 * | `firehose` | SLUICE_TRACE_STREAM (delivery stream name); SLUICE_FIREHOSE_ENDPOINT optional |
 * | `clickhouse` | CLICKHOUSE_URL (`http(s)://user:pass@host:8123/?database=db`) |
 * | `otlp` | OTEL_EXPORTER_OTLP_ENDPOINT and friends (functions/traces/otlp/config.ts) |
 *
 * Outside Lambda, what a queue cannot take is spilled to SLUICE_TRACE_SPOOL_DIR (default
 * `<data dir>/trace-spool`) and replayed when the destination works again; in Lambda the
 * invocation waits SLUICE_TRACE_FLUSH_WAIT_MS (500) after its last byte for its rows, and
 * counts the rest as `trace_rows_lost`. See docs/traces.md#fan-out.
 */
export function traceSinkFromEnv(env: NodeJS.ProcessEnv, logger: Logger, readSecret?: (id: string) => Promise<string>): TraceWriter {
  const dataDir = env.SLUICE_DATA_DIR ?? '.sluice';
  const kinds = traceSinkKinds(env.SLUICE_TRACE_SINK);
  const inLambda = Boolean(env.AWS_LAMBDA_FUNCTION_NAME);
  const sinks = kinds.map((kind) => sinkFor(kind, env, dataDir, readSecret));
  const maxQueueBytes = positive(env.SLUICE_TRACE_QUEUE_BYTES, 8 * 1024 * 1024);
  if (inLambda) return new TraceWriter({ sinks, logger, maxQueueBytes, awaitDeliveryMs: positive(env.SLUICE_TRACE_FLUSH_WAIT_MS, 500) });
  const spool = new TraceSpool(traceSpoolDir(env, dataDir), { maxBytes: positive(env.SLUICE_TRACE_SPOOL_MAX_BYTES, 1024 ** 3) });
  return new TraceWriter({ sinks, logger, maxQueueBytes, spool });
}

/** SLUICE_TRACE_SPOOL_DIR, default `<data dir>/trace-spool` (outside the traces directory on purpose). */
export function traceSpoolDir(env: NodeJS.ProcessEnv, dataDir: string): string {
  return env.SLUICE_TRACE_SPOOL_DIR?.trim() || join(dataDir, 'trace-spool');
}

/** The destinations SLUICE_TRACE_SINK names, in order, each once. */
export function traceSinkKinds(value: string | undefined): TraceSinkKind[] {
  const kinds = [...new Set((value ?? '').split(',').map((k) => k.trim()).filter(Boolean))];
  if (kinds.length === 0) return ['jsonl'];
  for (const kind of kinds) {
    if (!(TRACE_SINKS as readonly string[]).includes(kind)) throw new Error(`SLUICE_TRACE_SINK must be one or more of ${TRACE_SINKS.join(', ')}, comma-separated (got '${kind}')`);
  }
  return kinds as TraceSinkKind[];
}

function sinkFor(kind: TraceSinkKind, env: NodeJS.ProcessEnv, dataDir: string, readSecret?: (id: string) => Promise<string>): TraceDestination {
  switch (kind) {
    case 'otlp':
      return createLazyOtlpDestination(env, readSecret);
    case 'jsonl':
      return createJsonlTraceSink(dataDir);
    case 'stdout':
      return createStdoutTraceSink(process.stdout);
    case 'clickhouse': {
      if (!env.CLICKHOUSE_URL) throw new Error('SLUICE_TRACE_SINK=clickhouse needs CLICKHOUSE_URL');
      return createClickHouseTraceSink({ client: new ClickHouseClient({ url: env.CLICKHOUSE_URL }), lingerMs: positive(env.SLUICE_TRACE_BATCH_MS, 200) });
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
      throw new Error(`SLUICE_TRACE_SINK must be one or more of ${TRACE_SINKS.join(', ')} (got '${String(kind)}')`);
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
