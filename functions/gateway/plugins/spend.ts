import type { Plugin } from '../types.js';
import { budgetPlugin } from './budget.js';
import { rateLimitPlugin } from './rate-limit.js';
import { definitionsReader, type SpendDeps } from './spend-admission.js';

export { REFUSED, type SpendDeps } from './spend-admission.js';
export { rateHeaders } from './rate-limit.js';

/**
 * Spend: the rate-limit plugin (after the request policy, before the response cache: a
 * hit counts against request rates) and the budget plugin (last before the upstream: a
 * hit or a refused request reserves nothing), sharing one cached read of the budgets and
 * limits per identity.
 */
export function spendPlugins(deps: SpendDeps): { rateLimit: Plugin; budget: Plugin } {
  const definitions = definitionsReader(deps);
  return { rateLimit: rateLimitPlugin(deps, definitions), budget: budgetPlugin(deps) };
}
