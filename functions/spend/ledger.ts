import type { BudgetDefinition } from './definitions.js';
import type { PeriodSlot } from './periods.js';

/** A reservation held on one budget counter until it is settled or released. */
export interface Hold {
  /** Ledger partition of the budget (`budget#<scope>#<id>`). */
  key: string;
  slot: PeriodSlot;
  /** Reserved nano-USD. */
  amount: number;
}

export type ReserveOutcome =
  | { ok: true; hold: Hold }
  | { ok: false; usedNano: number; limitNano: number; retryAfterMs: number | undefined };

/** A budget's counter as the CLI shows it. */
export interface BudgetUsage {
  slot: PeriodSlot;
  /** Settled spend in the period or window, nano-USD. */
  spentNano: number;
  /** Reservations of requests in flight, nano-USD. */
  reservedNano: number;
}

/**
 * The budget counters. `reserve` is one atomic conditional add per budget: it succeeds
 * only when spend + reservations + amount ≤ limit; `settle` swaps the reservation for
 * the real cost (0 to release). Implementations: DynamoDB (shared by every Lambda
 * instance) and in-process (the local runtime).
 */
export interface BudgetLedger {
  reserve(budget: BudgetDefinition, amountNano: number, now: number): Promise<ReserveOutcome>;
  settle(hold: Hold, actualNano: number, now: number): Promise<void>;
  usage(budget: BudgetDefinition, now: number): Promise<BudgetUsage>;
}

export const budgetKey = (b: Pick<BudgetDefinition, 'scope' | 'scopeId'>): string => `budget#${b.scope}#${b.scopeId}`;

/** Calendar counters are kept a while after their period for `budgets show` history; then DynamoDB TTL drops them. */
export const CALENDAR_RETENTION_MS = 40 * 86_400_000;
