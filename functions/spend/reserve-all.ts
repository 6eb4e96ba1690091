import type { BudgetDefinition } from './definitions.js';
import type { BudgetLedger, Hold } from './ledger.js';

export type ReserveAllOutcome =
  | { ok: true; holds: Hold[] }
  | { ok: false; refusedBy: BudgetDefinition; usedNano: number; limitNano: number; retryAfterMs: number | undefined };

/**
 * Reserves `amountNano` on every budget in order (key, proxy, org). When one refuses,
 * the reservations already made are released before answering, so a refused request
 * holds nothing anywhere.
 */
export async function reserveAll(ledger: BudgetLedger, budgets: readonly BudgetDefinition[], amountNano: number, now: number): Promise<ReserveAllOutcome> {
  const holds: Hold[] = [];
  for (const budget of budgets) {
    let outcome;
    try {
      outcome = await ledger.reserve(budget, amountNano, now);
    } catch (err) {
      await releaseAll(ledger, holds, now);
      throw err;
    }
    if (!outcome.ok) {
      await releaseAll(ledger, holds, now);
      return { ok: false, refusedBy: budget, usedNano: outcome.usedNano, limitNano: outcome.limitNano, retryAfterMs: outcome.retryAfterMs };
    }
    holds.push(outcome.hold);
  }
  return { ok: true, holds };
}

export async function releaseAll(ledger: BudgetLedger, holds: readonly Hold[], now: number): Promise<void> {
  await Promise.all(holds.map((h) => ledger.settle(h, 0, now)));
}

export async function settleAll(ledger: BudgetLedger, holds: readonly Hold[], actualNano: number, now: number): Promise<void> {
  await Promise.all(holds.map((h) => ledger.settle(h, actualNano, now)));
}
