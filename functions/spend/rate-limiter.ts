/**
 * Requests and tokens per minute, counted in fixed one-minute windows (UTC minutes)
 * shared by every instance. A request consumes one request and its token upper bound
 * in one atomic step, or nothing at all.
 */
export interface RateLimits {
  rpm?: number;
  tpm?: number;
}

export const WINDOW_MS = 60_000;

export interface RateWindow {
  /** Counter key (`rate#<scope>#<id>`) and the window's index (epoch ms / 60 000). */
  key: string;
  window: number;
}

export interface RateOutcome {
  ok: boolean;
  window: RateWindow;
  /** Counts in the window after this request (ok) or as found (refused). */
  requests: number;
  tokens: number;
  /** Epoch ms when the window resets. */
  resetsAt: number;
}

export interface RateLimiter {
  consume(key: string, limits: RateLimits, tokens: number, now: number): Promise<RateOutcome>;
  /** Gives back what `consume` took (a later scope or a budget refused the request). */
  refund(window: RateWindow, tokens: number): Promise<void>;
}

export const rateKey = (scope: string, id: string): string => `rate#${scope}#${id}`;
export const windowOf = (now: number): number => Math.floor(now / WINDOW_MS);

/** Whether one more request with `tokens` fits the limits given the window's counts. */
export function fits(limits: RateLimits, requests: number, tokensUsed: number, tokens: number): boolean {
  if (limits.rpm !== undefined && requests + 1 > limits.rpm) return false;
  if (limits.tpm !== undefined && tokensUsed + tokens > limits.tpm) return false;
  return true;
}

/** The local runtime's limiter: one process, so a Map is atomic. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly counts = new Map<string, { requests: number; tokens: number }>();

  async consume(key: string, limits: RateLimits, tokens: number, now: number): Promise<RateOutcome> {
    const window = windowOf(now);
    this.dropOldWindows(window);
    const id = `${key}|${window}`;
    const c = this.counts.get(id) ?? { requests: 0, tokens: 0 };
    const resetsAt = (window + 1) * WINDOW_MS;
    if (!fits(limits, c.requests, c.tokens, tokens)) return { ok: false, window: { key, window }, requests: c.requests, tokens: c.tokens, resetsAt };
    c.requests += 1;
    c.tokens += tokens;
    this.counts.set(id, c);
    return { ok: true, window: { key, window }, requests: c.requests, tokens: c.tokens, resetsAt };
  }

  async refund(w: RateWindow, tokens: number): Promise<void> {
    const c = this.counts.get(`${w.key}|${w.window}`);
    if (!c) return;
    c.requests -= 1;
    c.tokens -= tokens;
  }

  private dropOldWindows(current: number): void {
    for (const id of this.counts.keys()) if (Number(id.slice(id.lastIndexOf('|') + 1)) < current - 1) this.counts.delete(id);
  }
}
