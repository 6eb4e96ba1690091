import { toNano, type BudgetDefinition } from './definitions.js';
import { budgetKey, type BudgetLedger, type BudgetUsage, type Hold, type ReserveOutcome } from './ledger.js';
import { rollingRetryAfterMs, slotOf } from './periods.js';

export interface LedgerSnapshot {
  counters: Record<string, { used: number; reserved: number; buckets: Array<[number, number]> }>;
}

interface Counter {
  used: number;
  reserved: number;
  /** Rolling windows: day index → nano-USD (spend and reservations made that day). */
  buckets: Map<number, number>;
}

/**
 * The in-process ledger of the local runtime (one process): the same semantics as the
 * DynamoDB ledger, made atomic by JavaScript's single thread (no await between check
 * and add). Counters live as long as the process.
 */
export class MemoryBudgetLedger implements BudgetLedger {
  private readonly counters = new Map<string, Counter>();

  async reserve(budget: BudgetDefinition, amountNano: number, now: number): Promise<ReserveOutcome> {
    const slot = slotOf(budget.period, now);
    const limitNano = toNano(budget.limitUsd);
    const c = this.counter(`${budgetKey(budget)}|${slot.id}`);
    if (slot.firstLiveDay !== undefined) ageOut(c, slot.firstLiveDay);
    if (c.used + amountNano > limitNano) {
      const retryAfterMs =
        amountNano > limitNano ? undefined : slot.endsAt !== undefined ? slot.endsAt - now : rollingRetryAfterMs(c.buckets, budget.period.kind === 'rolling' ? budget.period.days : 1, c.used + amountNano - limitNano, now);
      return { ok: false, usedNano: c.used, limitNano, retryAfterMs };
    }
    c.used += amountNano;
    c.reserved += amountNano;
    if (slot.day !== undefined) c.buckets.set(slot.day, (c.buckets.get(slot.day) ?? 0) + amountNano);
    return { ok: true, hold: { key: budgetKey(budget), slot, amount: amountNano } };
  }

  async settle(hold: Hold, actualNano: number): Promise<void> {
    const c = this.counter(`${hold.key}|${hold.slot.id}`);
    const delta = actualNano - hold.amount;
    c.reserved -= hold.amount;
    if (hold.slot.day === undefined) {
      c.used += delta;
      return;
    }
    // A bucket that aged out no longer counts: its settlement changes nothing but the reservations.
    const bucket = c.buckets.get(hold.slot.day);
    if (bucket === undefined) return;
    c.buckets.set(hold.slot.day, bucket + delta);
    c.used += delta;
  }

  async usage(budget: BudgetDefinition, now: number): Promise<BudgetUsage> {
    const slot = slotOf(budget.period, now);
    const c = this.counters.get(`${budgetKey(budget)}|${slot.id}`);
    if (c && slot.firstLiveDay !== undefined) ageOut(c, slot.firstLiveDay);
    return { slot, spentNano: c ? c.used - c.reserved : 0, reservedNano: c?.reserved ?? 0 };
  }

  /** The counters as plain JSON (the file-backed ledger writes it). */
  snapshot(): LedgerSnapshot {
    const counters: LedgerSnapshot['counters'] = {};
    for (const [id, c] of this.counters) counters[id] = { used: c.used, reserved: c.reserved, buckets: [...c.buckets] };
    return { counters };
  }

  restore(snapshot: LedgerSnapshot): void {
    this.counters.clear();
    for (const [id, c] of Object.entries(snapshot.counters ?? {})) this.counters.set(id, { used: c.used, reserved: c.reserved, buckets: new Map(c.buckets) });
  }

  private counter(id: string): Counter {
    let c = this.counters.get(id);
    if (!c) this.counters.set(id, (c = { used: 0, reserved: 0, buckets: new Map() }));
    return c;
  }
}

function ageOut(c: Counter, firstLiveDay: number): void {
  for (const [day, amount] of c.buckets) {
    if (day < firstLiveDay) {
      c.buckets.delete(day);
      c.used -= amount;
    }
  }
}
