import type { TraceRecord } from '../traces/recorder.js';

/** CloudWatch units the request metrics use (EMF `Unit`). */
export type MetricUnit = 'Count' | 'Milliseconds' | 'None';

export interface MetricDatum {
  name: string;
  unit: MetricUnit;
  value: number;
}

/** One request's metrics: two bounded dimensions and the values, as a finished trace gives them. */
export interface RequestMetrics {
  /** Kept on the EMF line as a property (not a dimension), to find the trace behind a data point. */
  traceId: string;
  /** The proxy's id; `none` before a key named one (refused by auth). */
  proxy: string;
  /** The resolved model when it is on the proxy's allow-list, else `other`. */
  model: string;
  metrics: MetricDatum[];
}

/** The model dimension of every model not on the proxy's allow-list (or of a proxy without one). */
export const OTHER_MODEL = 'other';
/** The proxy dimension of a request no key tied to a proxy. */
export const NO_PROXY = 'none';

/**
 * Metric names (docs/observability.md). An error code is part of a metric's name
 * (`Errors_<code>`), never a dimension; policy decisions likewise (`Policy_<decision>`).
 */
export const METRIC = {
  requests: 'Requests',
  errors: 'Errors',
  latency: 'LatencyMs',
  ttft: 'TtftMs',
  inputTokens: 'InputTokens',
  outputTokens: 'OutputTokens',
  cost: 'CostUsd',
  unpriced: 'UnpricedRequests',
  attempts: 'Attempts',
  fallbacks: 'Fallbacks',
  policyErrors: 'PolicyErrors',
  cacheHits: 'CacheHits',
  cacheMisses: 'CacheMisses',
  cacheSaved: 'CacheSavedUsd',
} as const;

export const errorMetric = (code: string) => `Errors_${code}`;
export const policyMetric = (decision: string) => `Policy_${decision}`;

/** Codes are the gateway's and providers' snake_case identifiers; anything else counts under `Errors_other`. */
const CODE = /^[a-z][a-z0-9_]{0,47}$/;
const DECISIONS = new Set(['allow', 'deny', 'hold', 'approved']);

/**
 * The metric set of one finished trace. Pure: no clock, no I/O. `allowedModels` is the
 * proxy's allow-list: the model dimension takes only its values or `other`, so its
 * cardinality is bounded by configuration, never by what clients send.
 */
export function metricsFromTrace(record: TraceRecord, allowedModels: readonly string[] | undefined): RequestMetrics {
  const a = record.attributes;
  const proxy = typeof a.proxyId === 'string' && a.proxyId ? a.proxyId : NO_PROXY;
  const resolved = typeof a.modelResolved === 'string' ? a.modelResolved : undefined;
  const model = resolved && allowedModels?.includes(resolved) ? resolved : OTHER_MODEL;
  const out: MetricDatum[] = [{ name: METRIC.requests, unit: 'Count', value: 1 }];
  const add = (name: string, unit: MetricUnit, value: unknown) => {
    if (typeof value === 'number' && Number.isFinite(value)) out.push({ name, unit, value });
  };

  const status = typeof a.status === 'number' ? a.status : undefined;
  const code = errorCodeOf(a);
  if ((status !== undefined && status >= 400) || code !== undefined || a.error !== undefined) {
    add(METRIC.errors, 'Count', 1);
    add(errorMetric(code && CODE.test(code) ? code : code ? 'other' : `http_${status ?? 'unknown'}`), 'Count', 1);
  }
  add(METRIC.latency, 'Milliseconds', a.latencyMs);
  add(METRIC.ttft, 'Milliseconds', a.ttftMs);

  const usage = a.usage as { promptTokens?: unknown; completionTokens?: unknown } | undefined;
  add(METRIC.inputTokens, 'Count', usage?.promptTokens);
  add(METRIC.outputTokens, 'Count', usage?.completionTokens);
  const cost = a.cost as { usd?: unknown; unknown?: unknown } | undefined;
  if (cost) {
    add(METRIC.cost, 'None', cost.usd);
    if (cost.unknown === true) add(METRIC.unpriced, 'Count', 1);
  }

  const attempts = Array.isArray(a.attempts) ? (a.attempts as Array<{ target?: unknown; skipped?: unknown }>) : undefined;
  if (attempts) {
    const tried = attempts.filter((t) => !t.skipped);
    add(METRIC.attempts, 'Count', tried.length);
    // A fallback: the request was served by (or ended on) a target other than the first in its order.
    const first = attempts[0]?.target;
    const last = typeof a.servedBy === 'string' ? a.servedBy : tried.at(-1)?.target;
    add(METRIC.fallbacks, 'Count', first !== undefined && last !== undefined && last !== first ? 1 : 0);
  }

  const decisions = new Map<string, number>();
  let policyErrors = 0;
  for (const step of record.steps) {
    if (step.name !== 'policy') continue;
    if (step.attributes.mode === 'error') policyErrors++;
    const d = step.attributes.decision;
    if (typeof d === 'string' && DECISIONS.has(d)) decisions.set(d, (decisions.get(d) ?? 0) + 1);
  }
  for (const [d, n] of decisions) add(policyMetric(d), 'Count', n);
  if (policyErrors > 0) add(METRIC.policyErrors, 'Count', policyErrors);

  // The response cache (#20): a hit or a miss on a proxy with a cache (a bypass is neither), and what a hit saved.
  if (a.cache === 'hit') add(METRIC.cacheHits, 'Count', 1);
  if (a.cache === 'miss') add(METRIC.cacheMisses, 'Count', 1);
  add(METRIC.cacheSaved, 'None', record.steps.find((s) => s.name === 'cache' && s.attributes.result === 'hit')?.attributes.savedUsd);

  return { traceId: record.traceId, proxy, model, metrics: out };
}

/** The error code a trace carries: `error.code` (refusals, upstream errors) or `errorCode` (a stream that failed after its status line). */
function errorCodeOf(a: Record<string, unknown>): string | undefined {
  if (typeof a.errorCode === 'string') return a.errorCode;
  const e = a.error;
  if (e && typeof e === 'object' && typeof (e as { code?: unknown }).code === 'string') return (e as { code: string }).code;
  return undefined;
}
