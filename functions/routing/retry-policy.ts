/**
 * What a failed upstream attempt leads to: a retry of the same target after a wait, the
 * next target, or the error for the client. Pure (the random source is injected).
 */

export const DEFAULT_RETRIES = 2;
/** Refused connections answer 502 and timeouts 504 inside the gateway, so both are in here. */
export const DEFAULT_RETRY_ON: readonly number[] = [429, 500, 502, 503, 504, 529];
export const MAX_RETRIES = 5;
const FIRST_BACKOFF_MS = 250;
/** A Retry-After longer than this goes to the next target instead of waiting. */
export const MAX_WAIT_MS = 5_000;
/** All waits of one request together. */
export const MAX_TOTAL_WAIT_MS = 10_000;

export interface FailedAttempt {
  status: number;
  code: string | null;
  type: string;
  headers: Record<string, string>;
}

export interface RetryBudget {
  /** Retries already made on this target. */
  retried: number;
  retries: number;
  retryOn: readonly number[];
  /** Milliseconds already waited by this request. */
  waitedMs: number;
}

export type NextStep = { action: 'retry'; waitMs: number } | { action: 'next' } | { action: 'fail' };

export function nextStep(failure: FailedAttempt, budget: RetryBudget, random: () => number = Math.random): NextStep {
  // OpenAI's quota exhaustion does not heal by waiting: straight to the next target.
  if (failure.code === 'insufficient_quota' || failure.type === 'insufficient_quota') return { action: 'next' };
  if (!budget.retryOn.includes(failure.status)) return { action: 'fail' };
  if (budget.retried >= budget.retries) return { action: 'next' };
  const told = retryAfterMs(failure.headers);
  // Full jitter over an exponential ceiling: 250 ms, 500 ms, 1 s, …
  const waitMs = told ?? Math.floor(random() * FIRST_BACKOFF_MS * 2 ** budget.retried);
  if (waitMs > MAX_WAIT_MS || budget.waitedMs + waitMs > MAX_TOTAL_WAIT_MS) return { action: 'next' };
  return { action: 'retry', waitMs };
}

/** `retry-after-ms`, `retry-after` (seconds or an HTTP date) or the soonest `x-ratelimit-reset-*` (`1s`, `6m0s`, `20ms`), in ms. */
export function retryAfterMs(headers: Record<string, string>, now = Date.now()): number | undefined {
  const ms = Number(headers['retry-after-ms']);
  if (headers['retry-after-ms'] !== undefined && Number.isFinite(ms) && ms >= 0) return ms;
  const after = headers['retry-after'];
  if (after !== undefined) {
    const seconds = Number(after);
    if (after.trim() !== '' && Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    const at = Date.parse(after);
    if (Number.isFinite(at)) return Math.max(0, at - now);
  }
  const resets = ['x-ratelimit-reset-requests', 'x-ratelimit-reset-tokens'].map((n) => headers[n]).filter((v): v is string => v !== undefined).map(duration).filter((v): v is number => v !== undefined);
  return resets.length ? Math.min(...resets) : undefined;
}

function duration(text: string): number | undefined {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text.trim()) return undefined;
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  return parts.reduce((sum, p) => sum + Number(p[1]) * unit[p[2]!]!, 0);
}
