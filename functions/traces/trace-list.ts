import type { TraceStepRow } from './rows.js';

/**
 * The console's and the CLI's trace list: one row per trace (its `request_finished`
 * step), always inside a time range, newest first, paged by key set on
 * (started_at, trace_id). Pure: both backends (local JSONL index, ClickHouse) answer
 * the same query with the same ordering and the same cursor.
 */
export const MAX_PAGE_ROWS = 200;
export const DEFAULT_RANGE_MS = 3_600_000;

/** A status filter: one code (`429`), a class (`4xx`, `5xx`), or `error` (every status ≥ 400). */
export type StatusFilter = { code: number } | { from: number; to: number };

export interface TraceListQuery {
  /** Epoch ms, inclusive: traces that started at or after this. */
  fromMs: number;
  /** Epoch ms, exclusive. */
  toMs: number;
  orgId?: string;
  proxyId?: string;
  keyId?: string;
  /** The resolved model, else the requested one. */
  model?: string;
  status?: StatusFilter;
  sessionId?: string;
  property?: { key: string; value: string };
  /** The last row of the previous page: this page starts strictly after it. */
  after?: TraceCursor;
  /** 1 to MAX_PAGE_ROWS. */
  limit: number;
}

export interface TraceCursor {
  startedAtMs: number;
  traceId: string;
}

/** One trace in a list. */
export interface TraceListItem {
  traceId: string;
  startedAtMs: number;
  orgId: string;
  proxyId: string;
  keyId: string;
  sessionId: string;
  turn: number;
  endpoint: string;
  provider: string;
  model: string;
  status: number;
  error: string;
  latencyMs: number | null;
  promptTokens: number;
  completionTokens: number;
  costUsd: number | null;
  costUnknown: boolean;
  properties: Record<string, string>;
}

export interface TracePage {
  traces: TraceListItem[];
  /** Present when more rows may follow: pass it as `after` for the next page. */
  next?: string;
  /**
   * Present while the local index is still being built: the page came from the end of
   * the trace files only (tail-read.ts) and may miss traces; reload once it is done.
   */
  partial?: true;
}

/**
 * A trace's start from its `request_finished` row: the row's start minus its whole-ms
 * offset. Integer arithmetic that both backends compute identically, so a cursor taken
 * from one page matches the rows of the next.
 */
export function traceStartOf(row: Pick<TraceStepRow, 'started_at_ms' | 'offset_ms'>): number {
  return row.started_at_ms - Math.floor(row.offset_ms);
}

export function listItemOf(row: TraceStepRow): TraceListItem {
  return {
    traceId: row.trace_id,
    startedAtMs: traceStartOf(row),
    orgId: row.org_id,
    proxyId: row.proxy_id,
    keyId: row.key_id,
    sessionId: row.session_id,
    turn: row.session_turn,
    endpoint: row.endpoint,
    provider: row.provider,
    model: row.model_resolved || row.model_requested,
    status: row.status,
    error: row.error,
    latencyMs: row.latency_ms,
    promptTokens: row.prompt_tokens,
    completionTokens: row.completion_tokens,
    costUsd: row.cost_usd,
    costUnknown: row.cost_unknown === 1,
    properties: row.properties,
  };
}

/** Whether a listed trace matches every filter of `q` except the cursor and the limit. */
export function matchesList(t: TraceListItem, q: Omit<TraceListQuery, 'after' | 'limit'>): boolean {
  if (t.startedAtMs < q.fromMs || t.startedAtMs >= q.toMs) return false;
  if (q.orgId !== undefined && t.orgId !== q.orgId) return false;
  if (q.proxyId !== undefined && t.proxyId !== q.proxyId) return false;
  if (q.keyId !== undefined && t.keyId !== q.keyId) return false;
  if (q.model !== undefined && t.model !== q.model) return false;
  if (q.sessionId !== undefined && t.sessionId !== q.sessionId) return false;
  if (q.status !== undefined && !statusMatches(t.status, q.status)) return false;
  if (q.property !== undefined && t.properties[q.property.key] !== q.property.value) return false;
  return true;
}

export function statusMatches(status: number, f: StatusFilter): boolean {
  return 'code' in f ? status === f.code : status >= f.from && status <= f.to;
}

/** Newest first; equal start times by trace id, descending. */
export function compareNewestFirst(a: TraceCursor, b: TraceCursor): number {
  return b.startedAtMs - a.startedAtMs || (a.traceId < b.traceId ? 1 : a.traceId > b.traceId ? -1 : 0);
}

/** Whether `t` comes strictly after the cursor in newest-first order. */
export function isAfter(t: TraceCursor, cursor: TraceCursor): boolean {
  return compareNewestFirst(cursor, t) < 0;
}

export function encodeCursor(c: TraceCursor): string {
  return Buffer.from(`${c.startedAtMs}.${c.traceId}`, 'utf8').toString('base64url');
}

/** Undefined for anything that is not a cursor this module made. */
export function decodeCursor(text: string): TraceCursor | undefined {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(text)) return undefined;
  const plain = Buffer.from(text, 'base64url').toString('utf8');
  const m = /^(\d{1,16})\.([A-Za-z0-9-]{1,64})$/.exec(plain);
  return m ? { startedAtMs: Number(m[1]), traceId: m[2]! } : undefined;
}

/** A page of at most `limit` rows from candidates already sorted newest first and filtered; `next` when one more exists. */
export function pageOf(sorted: readonly TraceListItem[], limit: number): TracePage {
  const traces = sorted.slice(0, limit);
  const last = traces[traces.length - 1];
  return sorted.length > limit && last ? { traces, next: encodeCursor(last) } : { traces };
}

/** Parses `200`, `4xx`, `5xx` or `error`; undefined when it is none of them. */
export function parseStatusFilter(text: string): StatusFilter | undefined {
  if (/^[1-5]\d\d$/.test(text)) return { code: Number(text) };
  const cls = /^([1-5])xx$/i.exec(text);
  if (cls) return { from: Number(cls[1]) * 100, to: Number(cls[1]) * 100 + 99 };
  if (text === 'error') return { from: 400, to: 599 };
  return undefined;
}
