import type { SchemaVariant } from '../clickhouse/client.js';
import type { TraceRecord, TraceStep } from './recorder.js';

/**
 * One step as a flat row: the unit every sink writes and the ClickHouse table stores.
 * Trace-level context (proxy, session, model, status) is repeated on every row so any
 * step can be filtered without a join; the `llm` and `request_finished` rows carry the
 * tokens and cost (`request_finished` is the trace's total, the one spend sums).
 */
export interface TraceStepRow {
  step_id: string;
  trace_id: string;
  /** The node this step hangs under: the trace id, or the `llm` step for tool calls it made. */
  parent_trace_id: string;
  name: string;
  started_at_ms: number;
  offset_ms: number;
  duration_ms: number | null;
  org_id: string;
  proxy_id: string;
  key_id: string;
  session_id: string;
  session_strategy: string;
  session_turn: number;
  session_path: string;
  session_refused_id: string;
  /** The caller's X-Sluice-Parent-Trace-Id (another trace), when given. */
  trace_parent_id: string;
  flow_id: string;
  properties: Record<string, string>;
  endpoint: string;
  provider: string;
  model_requested: string;
  model_resolved: string;
  status: number;
  error: string;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  cost_usd: number | null;
  cost_unknown: number;
  pricing_version: string;
  latency_ms: number | null;
  ttft_ms: number | null;
  request_body: string;
  response_body: string;
  /** The step's own attributes (decisions, scores, tool names) as JSON text. */
  attributes: string;
}

/** What the trace plugin records about cost (functions/pricing). */
export interface TraceCost {
  usd: number | null;
  unknown: boolean;
  pricingVersion: string;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const numOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function errorText(error: unknown): string {
  if (!error) return '';
  if (typeof error === 'string') return error;
  const e = error as Record<string, unknown>;
  return [e.type, e.code, e.message].filter((p) => typeof p === 'string' && p !== '').join(': ');
}

/** The rows of a finished trace, one per step, in step order. */
export function stepRows(record: TraceRecord): TraceStepRow[] {
  const a = record.attributes;
  const t0 = Date.parse(record.startedAt);
  const usage = (a.usage ?? {}) as Record<string, unknown>;
  const cost = a.cost as TraceCost | undefined;
  const base = {
    trace_id: record.traceId,
    org_id: str(a.orgId),
    proxy_id: str(a.proxyId),
    key_id: str(a.keyId),
    session_id: record.sessionId,
    session_strategy: str(a.sessionStrategy),
    session_turn: num(a.sessionTurn),
    session_path: record.sessionPath ?? '',
    session_refused_id: str(a.sessionRefusedId),
    trace_parent_id: record.parentTraceId ?? '',
    flow_id: record.flowId ?? '',
    properties: record.properties,
    endpoint: str(a.endpoint),
    provider: str(a.provider),
    model_requested: str(a.modelRequested),
    model_resolved: str(a.modelResolved),
    status: num(a.status),
    error: errorText(a.error),
  };
  return record.steps.map((step) => {
    const totals = step.name === 'llm' || step.name === 'request_finished';
    const { requestBody, responseBody, ...own } = step.attributes;
    return {
      step_id: step.stepId,
      parent_trace_id: step.parentId ?? record.traceId,
      name: step.name,
      started_at_ms: Math.round(t0 + step.offsetMs),
      offset_ms: step.offsetMs,
      duration_ms: step.durationMs ?? null,
      ...base,
      prompt_tokens: totals ? num(usage.promptTokens) : 0,
      completion_tokens: totals ? num(usage.completionTokens) : 0,
      cached_tokens: totals ? num(usage.cachedTokens) : 0,
      reasoning_tokens: totals ? num(usage.reasoningTokens) : 0,
      cost_usd: totals && cost ? cost.usd : null,
      cost_unknown: totals && cost?.unknown ? 1 : 0,
      pricing_version: totals && cost ? cost.pricingVersion : '',
      latency_ms: latencyOf(step, a),
      ttft_ms: totals ? numOrNull(a.ttftMs) : null,
      request_body: str(requestBody),
      response_body: str(responseBody),
      attributes: JSON.stringify(own),
    };
  });
}

function latencyOf(step: TraceStep, a: Record<string, unknown>): number | null {
  if (step.name === 'request_finished') return numOrNull(a.latencyMs);
  return step.durationMs ?? null;
}

/** The row as the server's table layout wants it: 18.x keeps properties as JSON text. */
export function encodeRow(row: TraceStepRow, variant: SchemaVariant): Record<string, unknown> {
  return variant === 'modern' ? { ...row } : { ...row, properties: JSON.stringify(row.properties) };
}

/** Reads a row back from either layout (64-bit integers arrive as strings in JSON output). */
export function decodeRow(raw: Record<string, unknown>): TraceStepRow {
  const props = typeof raw.properties === 'string' ? (raw.properties ? (JSON.parse(raw.properties) as Record<string, string>) : {}) : ((raw.properties ?? {}) as Record<string, string>);
  const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    ...(raw as unknown as TraceStepRow),
    started_at_ms: Number(raw.started_at_ms),
    offset_ms: Number(raw.offset_ms),
    duration_ms: n(raw.duration_ms),
    session_turn: Number(raw.session_turn ?? 0),
    status: Number(raw.status ?? 0),
    prompt_tokens: Number(raw.prompt_tokens ?? 0),
    completion_tokens: Number(raw.completion_tokens ?? 0),
    cached_tokens: Number(raw.cached_tokens ?? 0),
    reasoning_tokens: Number(raw.reasoning_tokens ?? 0),
    cost_usd: n(raw.cost_usd),
    cost_unknown: Number(raw.cost_unknown ?? 0),
    latency_ms: n(raw.latency_ms),
    ttft_ms: n(raw.ttft_ms),
    request_body: typeof raw.request_body === 'string' ? raw.request_body : '',
    response_body: typeof raw.response_body === 'string' ? raw.response_body : '',
    properties: props,
  };
}
