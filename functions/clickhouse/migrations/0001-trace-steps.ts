import type { Migration } from './types.js';

/**
 * One row per trace step, both variants with the same columns. ReplacingMergeTree on a
 * sort key that ends in the step id: a row delivered twice (Firehose redelivery, sink
 * retry) carries the same values and collapses to one on merge or with FINAL.
 * Ordered for "a proxy's sessions over time" queries.
 */
const COLUMNS = (t: { lc: (type: string) => string; startedAt: string; properties: string }) => `
  step_id String,
  trace_id String,
  parent_trace_id String,
  name ${t.lc('String')},
  started_at_ms UInt64,
  started_at ${t.startedAt},
  offset_ms Float64,
  duration_ms Nullable(Float64),
  org_id ${t.lc('String')},
  proxy_id ${t.lc('String')},
  key_id String,
  session_id String,
  session_strategy ${t.lc('String')},
  session_turn UInt32,
  session_path String,
  session_refused_id String,
  trace_parent_id String,
  flow_id String,
  properties ${t.properties},
  endpoint ${t.lc('String')},
  provider ${t.lc('String')},
  model_requested ${t.lc('String')},
  model_resolved ${t.lc('String')},
  status UInt16,
  error String,
  prompt_tokens UInt32,
  completion_tokens UInt32,
  cached_tokens UInt32,
  reasoning_tokens UInt32,
  cost_usd Nullable(Float64),
  cost_unknown UInt8,
  pricing_version String,
  latency_ms Nullable(Float64),
  ttft_ms Nullable(Float64),
  request_body String,
  response_body String,
  attributes String`;

const ORDER = 'ORDER BY (proxy_id, toDate(started_at), session_id, trace_id, step_id)';

export const traceStepsMigration: Migration = {
  version: 1,
  name: 'trace_steps',
  modern: [
    `CREATE TABLE IF NOT EXISTS sluice_trace_steps (${COLUMNS({
      lc: (type) => `LowCardinality(${type})`,
      startedAt: 'DateTime64(3) MATERIALIZED fromUnixTimestamp64Milli(toInt64(started_at_ms))',
      properties: 'Map(String, String)',
    })}
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(started_at)
${ORDER}
TTL toDateTime(started_at) + INTERVAL 180 DAY`,
  ],
  // ClickHouse 18.x: DateTime (seconds) derived from the millisecond column, properties
  // as JSON text (read with visitParamExtractString), no TTL (drop monthly partitions).
  legacy: [
    `CREATE TABLE IF NOT EXISTS sluice_trace_steps (${COLUMNS({
      lc: (type) => type,
      startedAt: 'DateTime MATERIALIZED toDateTime(intDiv(started_at_ms, 1000))',
      properties: 'String',
    })}
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(started_at)
${ORDER}`,
  ],
};
