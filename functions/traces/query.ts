import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sqlString, type ClickHouseClient } from '../clickhouse/client.js';
import { TRACE_STEPS_TABLE } from './clickhouse-sink.js';
import { sharedLocalIndex } from './local-index.js';
import type { TraceRecord } from './recorder.js';
import { readTraceTail } from './tail-read.js';
import { decodeRow, stepRows, type TraceStepRow } from './rows.js';
import { compareNewestFirst, isAfter, listItemOf, matchesList, pageOf, type TraceListItem, type TraceListQuery, type TracePage } from './trace-list.js';

/**
 * How much of the newest trace files a list reads while the index is first built
 * (about 3,000 traces of the bench's size): bounded, so the first page costs tens of ms.
 */
const TAIL_BYTES = 8 * 1024 * 1024;

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
  /** One page of traces in a time range, newest first, key set on (started_at, trace_id) (trace-list.ts). */
  list(q: TraceListQuery): Promise<TracePage>;
  /** Every step of one trace, bodies included; [] when the trace does not exist (or is another org's). */
  trace(traceId: string, scope?: { orgId?: string }): Promise<TraceStepRow[]>;
  /** Sessions with traces in the range, most recently active first, at most `limit`. */
  sessions(q: TraceRange & { limit: number }): Promise<SessionSummary[]>;
  /** Cost and tokens of the traces in the range, grouped (`hour` and `day` buckets are UTC). */
  spendIn(q: TraceRange, by: SpendGrouping | 'hour'): Promise<SpendLine[]>;
}

/** A list query without its page: what sessions and spend aggregate over. */
export type TraceRange = Omit<TraceListQuery, 'after' | 'limit'>;

export interface SessionSummary {
  sessionId: string;
  proxyId: string;
  orgId: string;
  firstMs: number;
  lastMs: number;
  /** Traces of the session in the range. */
  turns: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
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
export function localTraceQuery(dataDir: string, tailBytes = TAIL_BYTES): TraceQuery {
  const dir = join(dataDir, 'traces');
  const index = sharedLocalIndex(dir);
  /** A list asked for while the first build runs (the warm-up at start): from the end of the files. */
  const tailPage = async (q: TraceListQuery): Promise<TracePage> => {
    const tail = await readTraceTail(dir, tailBytes);
    const found = tail.items.filter((t) => matchesList(t, q) && (!q.after || isAfter(t, q.after)));
    const page = pageOf(found.sort(compareNewestFirst), q.limit);
    return tail.complete ? page : { ...page, partial: true };
  };
  /** The traces of a range, newest first: from the index, or a file scan for what a full index dropped. */
  const inRange = async (q: TraceRange, self: TraceQuery): Promise<TraceListItem[]> => {
    await index.refresh();
    if (q.fromMs < index.coveredFromMs) {
      const rows = await self.steps({ name: 'request_finished', sinceMs: q.fromMs - 86_400_000 });
      return rows.map(listItemOf).filter((t) => matchesList(t, q)).sort(compareNewestFirst);
    }
    const items = index.items();
    const out: TraceListItem[] = [];
    for (let i = index.lowerBound(q.toMs) - 1; i >= 0 && items[i]!.startedAtMs >= q.fromMs; i--) {
      if (matchesList(items[i]!, q)) out.push(items[i]!);
    }
    return out;
  };
  return {
    async list(q) {
      if (index.firstBuildRunning) return tailPage(q);
      await index.refresh();
      if (q.fromMs < index.coveredFromMs) {
        const all = await inRange(q, this);
        return pageOf(q.after ? all.filter((t) => isAfter(t, q.after!)) : all, q.limit);
      }
      // Walk down from the cursor (or the range's end) and stop after limit + 1 matches.
      const items = index.items();
      const out: TraceListItem[] = [];
      let i = index.lowerBound(q.after ? Math.min(q.toMs, q.after.startedAtMs + 1) : q.toMs) - 1;
      for (; i >= 0 && items[i]!.startedAtMs >= q.fromMs && out.length <= q.limit; i--) {
        const t = items[i]!;
        if (q.after && !isAfter(t, q.after)) continue;
        if (matchesList(t, q)) out.push(t);
      }
      return pageOf(out, q.limit);
    },
    async trace(traceId, scope = {}) {
      await index.refresh();
      const records = await index.records(traceId);
      const seen = new Set<string>();
      const rows: TraceStepRow[] = [];
      for (const record of records) {
        for (const row of stepRows(record)) {
          if (seen.has(row.step_id)) continue;
          seen.add(row.step_id);
          rows.push(row);
        }
      }
      if (rows.length === 0 && index.locations(traceId).length === 0) {
        // Not in the index (a full index dropped it): scan.
        rows.push(...(await this.steps({ traceId, withBodies: true })));
      }
      if (scope.orgId !== undefined && rows.some((r) => r.org_id !== scope.orgId)) return [];
      return rows.sort((a, b) => a.offset_ms - b.offset_ms);
    },
    async sessions(q) {
      return sessionsOf(await inRange(q, this), q.limit);
    },
    async spendIn(q, by) {
      return spendOfItems(await inRange(q, this), by);
    },
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
    async list(q) {
      const where = await rangeClauses(client, q);
      if (q.after) {
        const t = Math.floor(q.after.startedAtMs);
        where.push(`(${TRACE_START} < ${t} OR (${TRACE_START} = ${t} AND trace_id < ${sqlString(q.after.traceId)}))`);
      }
      const rows = await client.select(
        `SELECT ${SUMMARY_COLUMNS.join(', ')} FROM ${TRACE_STEPS_TABLE} FINAL WHERE ${where.join(' AND ')} ORDER BY ${TRACE_START} DESC, trace_id DESC LIMIT ${Math.floor(q.limit) + 1}`,
      );
      return pageOf(rows.map((r) => listItemOf(decodeRow(r))), q.limit);
    },
    async trace(traceId, scope = {}) {
      const where = [`trace_id = ${sqlString(traceId)}`];
      if (scope.orgId !== undefined) where.push(`org_id = ${sqlString(scope.orgId)}`);
      const rows = (await client.select(`SELECT * FROM ${TRACE_STEPS_TABLE} FINAL WHERE ${where.join(' AND ')} ORDER BY offset_ms`)).map(decodeRow);
      // A trace is one org's: a row of another org means the caller may not see it.
      return scope.orgId !== undefined && rows.some((r) => r.org_id !== scope.orgId) ? [] : rows;
    },
    async sessions(q) {
      const where = await rangeClauses(client, q);
      const rows = await client.select<Record<string, string | number>>(
        `SELECT session_id, any(proxy_id) AS proxy, any(org_id) AS org, min(${TRACE_START}) AS first, max(${TRACE_START}) AS last, count() AS turns, sum(prompt_tokens) AS prompt, sum(completion_tokens) AS completion, sum(ifNull(cost_usd, 0)) AS usd FROM ${TRACE_STEPS_TABLE} FINAL WHERE ${where.join(' AND ')} GROUP BY session_id ORDER BY last DESC, session_id DESC LIMIT ${Math.floor(q.limit)}`,
      );
      return rows.map((r) => ({ sessionId: String(r.session_id), proxyId: String(r.proxy), orgId: String(r.org), firstMs: Number(r.first), lastMs: Number(r.last), turns: Number(r.turns), promptTokens: Number(r.prompt), completionTokens: Number(r.completion), costUsd: Number(r.usd) }));
    },
    async spendIn(q, by) {
      const where = await rangeClauses(client, q);
      const group = {
        key: 'key_id',
        proxy: 'proxy_id',
        model: `if(model_resolved != '', model_resolved, model_requested)`,
        day: `toString(intDiv(${TRACE_START}, 86400000))`,
        hour: `toString(intDiv(${TRACE_START}, 3600000))`,
      }[by];
      const rows = await client.select<Record<string, string | number>>(
        `SELECT ${group} AS grp, count() AS requests, sum(prompt_tokens) AS prompt, sum(completion_tokens) AS completion, sum(ifNull(cost_usd, 0)) AS usd, sum(cost_unknown) AS unpriced FROM ${TRACE_STEPS_TABLE} FINAL WHERE ${where.join(' AND ')} GROUP BY grp`,
      );
      const label = (g: string) => (by === 'day' ? bucketLabel(Number(g) * 86_400_000, 'day') : by === 'hour' ? bucketLabel(Number(g) * 3_600_000, 'hour') : g);
      return sortSpend(rows.map((r) => ({ group: label(String(r.grp)) || '(none)', requests: Number(r.requests), promptTokens: Number(r.prompt), completionTokens: Number(r.completion), costUsd: Number(r.usd), unpriced: Number(r.unpriced) })), by);
    },
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

/** A trace's start on its request_finished row, as trace-list.ts traceStartOf computes it. */
const TRACE_START = '(toInt64(started_at_ms) - toInt64(floor(offset_ms)))';

/** The WHERE of a range query on request_finished rows (string literals quoted; 18.x has no parameters). */
async function rangeClauses(client: ClickHouseClient, q: TraceRange): Promise<string[]> {
  const from = Math.floor(q.fromMs);
  const to = Math.floor(q.toMs);
  // started_at_ms ≥ trace start: the first clause prunes partitions, the second is exact.
  const where = [`name = 'request_finished'`, `started_at_ms >= ${from}`, `${TRACE_START} >= ${from}`, `${TRACE_START} < ${to}`];
  if (q.orgId !== undefined) where.push(`org_id = ${sqlString(q.orgId)}`);
  if (q.proxyId !== undefined) where.push(`proxy_id = ${sqlString(q.proxyId)}`);
  if (q.keyId !== undefined) where.push(`key_id = ${sqlString(q.keyId)}`);
  if (q.sessionId !== undefined) where.push(`session_id = ${sqlString(q.sessionId)}`);
  if (q.model !== undefined) where.push(`if(model_resolved != '', model_resolved, model_requested) = ${sqlString(q.model)}`);
  if (q.status !== undefined) where.push('code' in q.status ? `status = ${Math.floor(q.status.code)}` : `status >= ${Math.floor(q.status.from)} AND status <= ${Math.floor(q.status.to)}`);
  if (q.property !== undefined) {
    const value = (await client.variant()) === 'modern' ? `properties[${sqlString(q.property.key)}]` : `visitParamExtractString(properties, ${sqlString(q.property.key)})`;
    where.push(`${value} = ${sqlString(q.property.value)}`);
  }
  return where;
}

/** `2026-12-07` (day) or `2026-12-07T14:00Z` (hour), UTC. */
export function bucketLabel(ms: number, by: 'day' | 'hour'): string {
  const iso = new Date(ms).toISOString();
  return by === 'day' ? iso.slice(0, 10) : `${iso.slice(0, 13)}:00Z`;
}

/** Time buckets in time order; every other grouping by cost, most expensive first. */
function sortSpend(lines: SpendLine[], by: SpendGrouping | 'hour'): SpendLine[] {
  return by === 'day' || by === 'hour' ? lines.sort((a, b) => a.group.localeCompare(b.group)) : lines.sort((a, b) => b.costUsd - a.costUsd || a.group.localeCompare(b.group));
}

export function spendOfItems(items: readonly TraceListItem[], by: SpendGrouping | 'hour'): SpendLine[] {
  const lines = new Map<string, SpendLine>();
  for (const t of items) {
    const group = by === 'key' ? t.keyId : by === 'proxy' ? t.proxyId : by === 'model' ? t.model : bucketLabel(t.startedAtMs, by);
    const line = lines.get(group) ?? { group: group || '(none)', requests: 0, promptTokens: 0, completionTokens: 0, costUsd: 0, unpriced: 0 };
    line.requests++;
    line.promptTokens += t.promptTokens;
    line.completionTokens += t.completionTokens;
    if (t.costUsd !== null) line.costUsd += t.costUsd;
    if (t.costUnknown) line.unpriced++;
    lines.set(group, line);
  }
  return sortSpend([...lines.values()], by);
}

/** Sessions of newest-first traces, most recently active first. */
export function sessionsOf(items: readonly TraceListItem[], limit: number): SessionSummary[] {
  const byId = new Map<string, SessionSummary>();
  for (const t of items) {
    let s = byId.get(t.sessionId);
    if (!s) {
      if (byId.size >= limit) continue; // items are newest first: the first `limit` sessions seen are the most recent
      s = { sessionId: t.sessionId, proxyId: t.proxyId, orgId: t.orgId, firstMs: t.startedAtMs, lastMs: t.startedAtMs, turns: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 };
      byId.set(t.sessionId, s);
    }
    s.firstMs = Math.min(s.firstMs, t.startedAtMs);
    s.lastMs = Math.max(s.lastMs, t.startedAtMs);
    s.turns++;
    s.promptTokens += t.promptTokens;
    s.completionTokens += t.completionTokens;
    s.costUsd += t.costUsd ?? 0;
  }
  return [...byId.values()];
}
