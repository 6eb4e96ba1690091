/**
 * Circuit breakers, one per target, in-process. A breaker opens after 5 consecutive
 * failures, or when at least 50 % of at least 20 calls in the last 30 s failed; it stays
 * open 30 s, then lets one half-open probe through: a success closes it, a failure opens
 * it for another 30 s. Only upstream failures count (5xx, timeouts, refused connections),
 * never a 4xx or a 429. Pure: the clock is injected. Bounded: at most `maxTargets`
 * breakers (the least recently used is dropped, i.e. forgotten as closed) and 30
 * one-second buckets each.
 */

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  consecutiveFailures: number;
  failureRate: number;
  minCalls: number;
  windowMs: number;
  openMs: number;
  maxTargets: number;
}

export const DEFAULT_BREAKER: BreakerOptions = { consecutiveFailures: 5, failureRate: 0.5, minCalls: 20, windowMs: 30_000, openMs: 30_000, maxTargets: 1024 };

interface Breaker {
  consecutive: number;
  /** Per-second buckets of the window: [second, calls, failures]. */
  buckets: Array<[number, number, number]>;
  openedAt?: number;
  probing: boolean;
}

export class CircuitBreakers {
  private readonly breakers = new Map<string, Breaker>();

  constructor(
    private readonly now: () => number,
    private readonly opts: BreakerOptions = DEFAULT_BREAKER,
  ) {}

  state(target: string): BreakerState {
    const b = this.breakers.get(target);
    if (b?.openedAt === undefined) return 'closed';
    return this.now() - b.openedAt >= this.opts.openMs ? 'half-open' : 'open';
  }

  /** Whether a call may go to the target now; in half-open, only the first caller (the probe) is let through. */
  allow(target: string): boolean {
    const state = this.state(target);
    if (state === 'closed') return true;
    if (state === 'open') return false;
    const b = this.breakers.get(target)!;
    if (b.probing) return false;
    b.probing = true;
    return true;
  }

  /** A call let through by `allow` that was not made after all: the probe slot is free again. */
  release(target: string): void {
    const b = this.breakers.get(target);
    if (b) b.probing = false;
  }

  /** The outcome of a call that was let through. */
  record(target: string, ok: boolean): void {
    const b = this.get(target);
    const now = this.now();
    if (b.openedAt !== undefined) {
      // The half-open probe decides.
      b.probing = false;
      if (ok) this.breakers.set(target, fresh());
      else b.openedAt = now;
      return;
    }
    const second = Math.floor(now / 1000);
    const first = second - Math.ceil(this.opts.windowMs / 1000) + 1;
    while (b.buckets.length && b.buckets[0]![0] < first) b.buckets.shift();
    let bucket = b.buckets[b.buckets.length - 1];
    if (!bucket || bucket[0] !== second) b.buckets.push((bucket = [second, 0, 0]));
    bucket[1]++;
    if (!ok) bucket[2]++;
    b.consecutive = ok ? 0 : b.consecutive + 1;
    const calls = b.buckets.reduce((n, x) => n + x[1], 0);
    const failures = b.buckets.reduce((n, x) => n + x[2], 0);
    if (b.consecutive >= this.opts.consecutiveFailures || (calls >= this.opts.minCalls && failures / calls >= this.opts.failureRate)) {
      b.openedAt = now;
      b.probing = false;
    }
  }

  private get(target: string): Breaker {
    let b = this.breakers.get(target);
    if (b) {
      // Most recently used last, so the first is the one to drop.
      this.breakers.delete(target);
    } else {
      b = fresh();
      if (this.breakers.size >= this.opts.maxTargets) this.breakers.delete(this.breakers.keys().next().value!);
    }
    this.breakers.set(target, b);
    return b;
  }
}

function fresh(): Breaker {
  return { consecutive: 0, buckets: [], probing: false };
}
