import type { BudgetLedger } from './ledger.js';
import type { RateLimiter } from './rate-limiter.js';
import type { SpendConfigStore } from './config-store.js';

/** What the spend plugin needs: definitions, budget counters and rate counters. */
export interface SpendServices {
  config: SpendConfigStore;
  ledger: BudgetLedger;
  limiter: RateLimiter;
}
