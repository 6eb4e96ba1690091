import type { ModelPrice } from '../../pricing/price-book.js';
import type { BudgetDefinition, LimitDefinition } from '../../spend/definitions.js';
import type { Hold } from '../../spend/ledger.js';
import type { RateOutcome } from '../../spend/rate-limiter.js';
import type { SpendServices } from '../../spend/services.js';
import type { GatewayDeps, Identity, RequestState } from '../types.js';

export type SpendDeps = Pick<GatewayDeps, 'now' | 'logger'> & Partial<Pick<GatewayDeps, 'pricing' | 'spend'>> & {
  /** How long definitions are cached per process (a CLI change applies within this). */
  definitionsTtlMs?: number;
};

/** The log message of every 429 the rate-limit and budget plugins answer. */
export const REFUSED = 'spend refused';

export interface Definitions {
  budgets: BudgetDefinition[];
  limits: LimitDefinition[];
}

/** One request's admission, shared by the rate-limit plugin (which makes it) and the budget plugin. */
export interface Admitted {
  defs: Definitions;
  promptTokens: number;
  outputTokens: number;
  tokens: number;
  model: string | undefined;
  holds: Hold[];
  price?: ModelPrice;
  reservedNano: number;
  rate: Array<{ outcome: RateOutcome; limit: LimitDefinition }>;
  done: boolean;
}

export const admissions = new WeakMap<RequestState, Admitted>();

export type DefinitionsReader = (services: SpendServices, id: Identity) => Promise<Definitions>;

/** Budgets and limits per identity, cached `definitionsTtlMs`; a failed refresh serves the last good read. */
export function definitionsReader(deps: SpendDeps): DefinitionsReader {
  const ttl = deps.definitionsTtlMs ?? 5_000;
  const cache = new Map<string, { at: number; defs: Promise<Definitions> }>();
  // The last definitions read per identity: used when a refresh fails, so a store hiccup does not refuse every request.
  const lastGood = new Map<string, Definitions>();
  return (services, id) => {
    // The local file store's change generation: a budget or limit the CLI sets applies on the next request.
    const cacheKey = `${id.keyId}|${id.proxyId}|${id.orgId}|${services.config.generation?.() ?? ''}`;
    const now = deps.now();
    const hit = cache.get(cacheKey);
    if (hit && now - hit.at < ttl) return hit.defs;
    const read = Promise.all([
      services.config.getBudgets([
        { scope: 'key', scopeId: id.keyId },
        { scope: 'proxy', scopeId: id.proxyId },
        { scope: 'org', scopeId: id.orgId },
      ]),
      services.config.getLimits([
        { scope: 'key', scopeId: id.keyId },
        { scope: 'proxy', scopeId: id.proxyId },
      ]),
    ]).then(([budgets, limits]) => {
      const defs = { budgets, limits };
      lastGood.set(cacheKey, defs);
      return defs;
    });
    const stale = lastGood.get(cacheKey);
    const defs = stale ? read.catch(() => stale) : read;
    if (cache.size > 10_000) {
      cache.clear();
      lastGood.clear();
    }
    cache.set(cacheKey, { at: now, defs });
    read.catch(() => cache.delete(cacheKey));
    return defs;
  };
}

/** Gives back the rate-limit consumption of a request refused later (by a budget). */
export async function refundRates(spend: SpendServices, entry: Admitted, state: RequestState): Promise<void> {
  await Promise.all(
    entry.rate.map(({ outcome }) =>
      spend.limiter.refund(outcome.window, entry.tokens).catch((err: Error) => state.log.warn('rate limit refund failed', { error: err.message })),
    ),
  );
  entry.rate = [];
}
