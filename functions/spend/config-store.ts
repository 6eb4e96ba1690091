import type { BudgetDefinition, BudgetScope, LimitDefinition, LimitScope } from './definitions.js';

export interface ScopeRef<S extends string> {
  scope: S;
  scopeId: string;
}

/**
 * Where budget and limit definitions live: a small store of their own (the control
 * store's contract stays as it is), in the control table on AWS and in
 * `<data dir>/spend.json` locally. See docs/data-model.md.
 */
export interface SpendConfigStore {
  getBudgets(refs: readonly ScopeRef<BudgetScope>[]): Promise<BudgetDefinition[]>;
  listBudgets(): Promise<BudgetDefinition[]>;
  putBudget(budget: BudgetDefinition): Promise<void>;
  deleteBudget(ref: ScopeRef<BudgetScope>): Promise<boolean>;
  getLimits(refs: readonly ScopeRef<LimitScope>[]): Promise<LimitDefinition[]>;
  listLimits(): Promise<LimitDefinition[]>;
  putLimit(limit: LimitDefinition): Promise<void>;
  deleteLimit(ref: ScopeRef<LimitScope>): Promise<boolean>;
  /** Changes whenever another process changed the definitions (the local file, watched); see ControlStore.generation. */
  generation?(): number | undefined;
}

export const refId = (r: ScopeRef<string>): string => `${r.scope}#${r.scopeId}`;
