import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sqlString, type ClickHouseClient } from '../clickhouse/client.js';
import { TRACE_STEPS_TABLE } from './clickhouse-sink.js';
import type { TraceRecord } from './recorder.js';
import { decodeRow, stepRows, type TraceStepRow } from './rows.js';

/** Filters shared by `traces list`, `sessions show` and `spend`. */
export interface StepFilter {
  traceId?: string;
  sessionId?: string;
  proxyId?: string;
  /** Epoch ms: only steps that started at or after this. */
  sinceMs?: number;
  name?: string;
  /** Read the body columns too (only `traces show` needs them). */
  withBodies?: boolean;
  /** Newest first, at most this many rows (`traces list`). */
  latest?: number;
}

/** Where trace rows are read from: the local JSONL store or ClickHouse. */
export interface TraceQuery {
  steps(filter: StepFilter): Promise<TraceStepRow[]>;
  /** Cost and tokens of the traces matching `filter`, grouped. */
  spend(filter: StepFilter, by: SpendGrouping): Promise<SpendLine[]>;
}

function matches(row: TraceStepRow, f: StepFilter): boolean {
  return (
    (f.traceId === undefined || row.trace_id === f.traceId) &&
    (f.sessionId === undefined || row.session_id === f.sessionId) &&
    (f.proxyId === undefined || row.proxy_id === f.proxyId) &&
    (f.sinceMs === undefined || row.started_at_ms >= f.sinceMs) &&
    (f.name === undefined || row.name === f.name)
  );
}

/**
 * The embedded store: `<dataDir>/traces/*.jsonl`, one trace record per line. Day files
 * before `sinceMs` are skipped without reading. A step seen twice (a record written
 * again after a retry) counts once.
 */
export function localTraceQuery(dataDir: string): TraceQuery {
  const dir = join(dataDir, 'traces');
  return {
    async steps(filter) {
      let files: string[];
      try {
        files = (await readdir(dir)).filter((f) => /^\d{4}-\d{2}-\d{2}\.jsonl$/.test(f)).sort();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw err;
      }
      const sinceDay = filter.sinceMs !== undefined ? new Date(filter.sinceMs).toISOString().slice(0, 10) : undefined;
      const seen = new Set<string>();
      const out: TraceStepRow[] = [];
      for (const file of files) {
        if (sinceDay && file.slice(0, 10) < sinceDay) continue;
        const text = await readFile(join(dir, file), 'utf8');
        for (const line of text.split('\n')) {
          if (!line.trim()) continue;
          let record: TraceRecord;
          try {
            record = JSON.parse(line) as TraceRecord;
          } catch {
            continue; // a line cut by a crash mid-append
          }
          if (filter.traceId !== undefined && record.traceId !== filter.traceId) continue;
          for (const row of stepRows(record)) {
            if (seen.has(row.step_id) || !matches(row, filter)) continue;
            seen.add(row.step_id);
            out.push(row);
          }
        }
      }
      out.sort((a, b) => a.started_at_ms - b.started_at_ms || a.offset_ms - b.offset_ms);
      return filter.latest !== undefined ? out.slice(-filter.latest).reverse() : out;
    },
    async spend(filter, by) {
      return spendBy(await this.steps({ ...filter, name: 'request_finished' }), by);
    },
  };
}

/** Every column but the bodies (18.x has no `* EXCEPT`). */
export const SUMMARY_COLUMNS = [
  'step_id', 'trace_id', 'parent_trace_id', 'name', 'started_at_ms', 'offset_ms', 'duration_ms', 'org_id', 'proxy_id', 'key_id',
  'session_id', 'session_strategy', 'session_turn', 'session_path', 'session_refused_id', 'trace_parent_id', 'flow_id', 'properties',
  'endpoint', 'provider', 'model_requested', 'model_resolved', 'status', 'error', 'prompt_tokens', 'completion_tokens', 'cached_tokens',
  'reasoning_tokens', 'cost_usd', 'cost_unknown', 'pricing_version', 'latency_ms', 'ttft_ms', 'attributes',
];

/** ClickHouse: the same filters as SQL (string literals quoted: 18.x has no query parameters). */
export function clickhouseTraceQuery(client: ClickHouseClient): TraceQuery {
  return {
    async steps(filter) {
      const where = whereClauses(filter);
      // Bodies are most of a row's bytes: leave them on the server unless asked for.
      const columns = filter.withBodies ? '*' : SUMMARY_COLUMNS.join(', ');
      const order = filter.latest !== undefined ? `ORDER BY started_at_ms DESC, offset_ms DESC LIMIT ${Math.floor(filter.latest)}` : 'ORDER BY started_at_ms, offset_ms';
      const sql = `SELECT ${columns} FROM ${TRACE_STEPS_TABLE} FINAL${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ${order}`;
      return (await client.select(sql)).map(decodeRow);
    },
    // Summed on the server: a month of traces never travels to the CLI.
    async spend(filter, by) {
      const where = [`name = 'request_finished'`, ...whereClauses(filter)];
      const group = {
        key: 'key_id',
        proxy: 'proxy_id',
        model: `if(model_resolved != '', model_resolved, model_requested)`,
        day: `toString(toDate(toDateTime(intDiv(started_at_ms, 1000)), 'UTC'))`,
      }[by];
      const rows = await client.select<Record<string, string | number>>(
        `SELECT ${group} AS grp, count() AS requests, sum(prompt_tokens) AS prompt, sum(completion_tokens) AS completion, sum(ifNull(cost_usd, 0)) AS usd, sum(cost_unknown) AS unpriced FROM ${TRACE_STEPS_TABLE} FINAL WHERE ${where.join(' AND ')} GROUP BY grp`,
      );
      return rows
        .map((r) => ({ group: String(r.grp) || '(none)', requests: Number(r.requests), promptTokens: Number(r.prompt), completionTokens: Number(r.completion), costUsd: Number(r.usd), unpriced: Number(r.unpriced) }))
        .sort((a, b) => b.costUsd - a.costUsd || a.group.localeCompare(b.group));
    },
  };
}

function whereClauses(filter: StepFilter): string[] {
  const where: string[] = [];
  if (filter.traceId !== undefined) where.push(`trace_id = ${sqlString(filter.traceId)}`);
  if (filter.sessionId !== undefined) where.push(`session_id = ${sqlString(filter.sessionId)}`);
  if (filter.proxyId !== undefined) where.push(`proxy_id = ${sqlString(filter.proxyId)}`);
  if (filter.name !== undefined) where.push(`name = ${sqlString(filter.name)}`);
  if (filter.sinceMs !== undefined) where.push(`started_at_ms >= ${Math.floor(filter.sinceMs)}`);
  return where;
}

/** One line of `traces list`: a trace summarized from its `request_finished` row. */
export interface TraceSummary {
  traceId: string;
  startedAtMs: number;
  proxyId: string;
  sessionId: string;
  turn: number;
  model: string;
  status: number;
  latencyMs: number | null;
  promptTokens: number;
  completionTokens: number;
  costUsd: number | null;
  costUnknown: boolean;
}

export function summarize(rows: readonly TraceStepRow[]): TraceSummary[] {
  const byTrace = new Map<string, TraceStepRow[]>();
  for (const r of rows) byTrace.set(r.trace_id, [...(byTrace.get(r.trace_id) ?? []), r]);
  const out: TraceSummary[] = [];
  for (const [traceId, steps] of byTrace) {
    const end = steps.find((s) => s.name === 'request_finished');
    const first = steps.reduce((a, b) => (a.started_at_ms <= b.started_at_ms ? a : b));
    const r = end ?? first;
    out.push({
      traceId,
      startedAtMs: first.started_at_ms - first.offset_ms,
      proxyId: r.proxy_id,
      sessionId: r.session_id,
      turn: r.session_turn,
      model: r.model_resolved || r.model_requested,
      status: r.status,
      latencyMs: end?.latency_ms ?? null,
      promptTokens: end?.prompt_tokens ?? 0,
      completionTokens: end?.completion_tokens ?? 0,
      costUsd: end?.cost_usd ?? null,
      costUnknown: end?.cost_unknown === 1,
    });
  }
  return out.sort((a, b) => a.startedAtMs - b.startedAtMs);
}

export type SpendGrouping = 'key' | 'proxy' | 'model' | 'day';

export interface SpendLine {
  group: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  /** Requests whose model had no price: their cost is not in costUsd. */
  unpriced: number;
}

/** Sums cost and tokens from `request_finished` rows (one per trace). */
export function spendBy(rows: readonly TraceStepRow[], by: SpendGrouping): SpendLine[] {
  const lines = new Map<string, SpendLine>();
  for (const r of rows) {
    if (r.name !== 'request_finished') continue;
    const group = by === 'key' ? r.key_id : by === 'proxy' ? r.proxy_id : by === 'model' ? r.model_resolved || r.model_requested : new Date(r.started_at_ms).toISOString().slice(0, 10);
    const line = lines.get(group) ?? { group: group || '(none)', requests: 0, promptTokens: 0, completionTokens: 0, costUsd: 0, unpriced: 0 };
    line.requests++;
    line.promptTokens += r.prompt_tokens;
    line.completionTokens += r.completion_tokens;
    if (r.cost_usd !== null) line.costUsd += r.cost_usd;
    if (r.cost_unknown) line.unpriced++;
    lines.set(group, line);
  }
  return [...lines.values()].sort((a, b) => b.costUsd - a.costUsd || a.group.localeCompare(b.group));
}
