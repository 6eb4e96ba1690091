/**
 * Budget and rate-limit definitions: what an operator sets per key, proxy or org.
 * Amounts are USD; the ledgers count integer nano-USD so that sums are exact.
 */
export type BudgetScope = 'key' | 'proxy' | 'org';
export type LimitScope = 'key' | 'proxy';

/** A calendar day or month (UTC), or a rolling window of N whole days. */
export type BudgetPeriod = { kind: 'day' } | { kind: 'month' } | { kind: 'rolling'; days: number };

export interface BudgetDefinition {
  scope: BudgetScope;
  scopeId: string;
  limitUsd: number;
  period: BudgetPeriod;
  updatedAt: string;
}

export interface LimitDefinition {
  scope: LimitScope;
  scopeId: string;
  /** Requests per minute. */
  rpm?: number;
  /** Tokens per minute (the request's upper bound: prompt bound + max output). */
  tpm?: number;
  updatedAt: string;
}

export const BUDGET_SCOPES: readonly BudgetScope[] = ['key', 'proxy', 'org'];
export const LIMIT_SCOPES: readonly LimitScope[] = ['key', 'proxy'];

export const NANO_PER_USD = 1_000_000_000;
export const toNano = (usd: number): number => Math.round(usd * NANO_PER_USD);
export const toUsd = (nano: number): number => nano / NANO_PER_USD;

/** Parses `day`, `month` or `rolling:<N>d` (e.g. `rolling:7d`). */
export function parsePeriod(text: string): BudgetPeriod {
  if (text === 'day' || text === 'month') return { kind: text };
  const m = /^rolling:(\d{1,3})d$/.exec(text);
  if (m) {
    const days = Number(m[1]);
    if (days >= 1 && days <= 366) return { kind: 'rolling', days };
  }
  throw new Error(`period must be "day", "month" or "rolling:<N>d" with 1 ≤ N ≤ 366, not "${text}"`);
}

export function formatPeriod(period: BudgetPeriod): string {
  return period.kind === 'rolling' ? `rolling:${period.days}d` : period.kind;
}

export function validateBudget(b: BudgetDefinition): BudgetDefinition {
  if (!BUDGET_SCOPES.includes(b.scope)) throw new Error(`budget scope must be key, proxy or org, not "${String(b.scope)}"`);
  if (!b.scopeId) throw new Error('budget scope id is required');
  if (!(typeof b.limitUsd === 'number' && Number.isFinite(b.limitUsd) && b.limitUsd >= 0)) throw new Error('budget limit must be a number of USD ≥ 0');
  parsePeriod(formatPeriod(b.period));
  return b;
}

export function validateLimit(l: LimitDefinition): LimitDefinition {
  if (!LIMIT_SCOPES.includes(l.scope)) throw new Error(`limit scope must be key or proxy, not "${String(l.scope)}"`);
  if (!l.scopeId) throw new Error('limit scope id is required');
  for (const [name, v] of [['rpm', l.rpm], ['tpm', l.tpm]] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new Error(`${name} must be a whole number > 0`);
  }
  if (l.rpm === undefined && l.tpm === undefined) throw new Error('a limit needs rpm, tpm or both');
  return l;
}
