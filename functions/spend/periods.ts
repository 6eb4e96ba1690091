import type { BudgetPeriod } from './definitions.js';

export const DAY_MS = 86_400_000;

/** The counter a reservation lands in and when its spend stops counting. */
export interface PeriodSlot {
  /** Ledger sort key: `2026-11-23`, `2026-11`, or `rolling-7d`. */
  id: string;
  /** Calendar periods: epoch ms when the period ends (the budget resets). */
  endsAt?: number;
  /** Rolling windows: the UTC day index (epoch ms / day) of the current bucket. */
  day?: number;
  /** Rolling windows: the first day index still inside the window. */
  firstLiveDay?: number;
}

/** Where `now` falls for a period: pure, clock injected by the caller. Periods roll over by time alone. */
export function slotOf(period: BudgetPeriod, now: number): PeriodSlot {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  switch (period.kind) {
    case 'day':
      return { id: d.toISOString().slice(0, 10), endsAt: Date.UTC(y, m, d.getUTCDate() + 1) };
    case 'month':
      return { id: d.toISOString().slice(0, 7), endsAt: Date.UTC(y, m + 1, 1) };
    case 'rolling': {
      const day = Math.floor(now / DAY_MS);
      return { id: `rolling-${period.days}d`, day, firstLiveDay: day - period.days + 1 };
    }
  }
}

/** When a rolling-window bucket of `day` stops counting. */
export const bucketExpiresAt = (day: number, days: number): number => (day + days) * DAY_MS;

/**
 * Rolling window: how long until enough spend ages out for `needed` nano-USD to fit,
 * given the live buckets (day → amount). Undefined when even an empty window has no
 * room (the request alone is over the limit).
 */
export function rollingRetryAfterMs(buckets: ReadonlyMap<number, number>, days: number, needed: number, now: number): number | undefined {
  let freed = 0;
  for (const day of [...buckets.keys()].sort((a, b) => a - b)) {
    freed += buckets.get(day) ?? 0;
    if (freed >= needed) return Math.max(0, bucketExpiresAt(day, days) - now);
  }
  return undefined;
}
