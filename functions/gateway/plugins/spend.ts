import { costOf, type ModelPrice } from '../../pricing/price-book.js';
import { toNano, type BudgetDefinition, type LimitDefinition } from '../../spend/definitions.js';
import { budgetExceeded, rateLimited, spendUnavailable, unpricedModel } from '../../spend/errors.js';
import { outputTokenBound, promptTokenBound, upperBound } from '../../spend/estimate.js';
import type { Hold } from '../../spend/ledger.js';
import { rateKey, type RateOutcome } from '../../spend/rate-limiter.js';
import { releaseAll, reserveAll, settleAll } from '../../spend/reserve-all.js';
import type { SpendServices } from '../../spend/services.js';
import type { GatewayDeps, GatewayResponse, Identity, Plugin, RequestState } from '../types.js';

export type SpendDeps = Pick<GatewayDeps, 'now' | 'logger'> & Partial<Pick<GatewayDeps, 'pricing' | 'spend'>> & {
  /** How long definitions are cached per process (a CLI change applies within this). */
  definitionsTtlMs?: number;
};

interface Admitted {
  holds: Hold[];
  price?: ModelPrice;
  reservedNano: number;
  rate: Array<{ outcome: RateOutcome; limit: LimitDefinition }>;
  done: boolean;
}

interface Definitions {
  budgets: BudgetDefinition[];
  limits: LimitDefinition[];
}

const admitted = new WeakMap<RequestState, Admitted>();

/** The log message of every 429 the spend plugin answers. */
export const REFUSED = 'spend refused';

/**
 * spend — last before the upstream, so a request another plugin refuses reserves
 * nothing. PreLLM: rate limits (requests and token upper bound per minute), then one
 * reservation of the request's worst-case cost on every budget (key, proxy, org),
 * undone everywhere if one refuses. PostLLM: when the body ends, the reservation is
 * settled to the real cost from the usage; it is released when the upstream fails,
 * the stream breaks without usage, or the client disconnects.
 */
export function spendPlugin(deps: SpendDeps): Plugin {
  const spend = deps.spend;
  const ttl = deps.definitionsTtlMs ?? 5_000;
  const cache = new Map<string, { at: number; defs: Promise<Definitions> }>();
  // The last definitions read per identity: used when a refresh fails, so a store hiccup does not refuse every request.
  const lastGood = new Map<string, Definitions>();

  const definitionsFor = (services: SpendServices, id: Identity): Promise<Definitions> => {
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

  return {
    name: 'spend',
    async before(state) {
      const { identity, body, route } = state;
      if (!spend || !identity || !body || route.kind !== 'openai' || route.method !== 'POST') return;
      let defs: Definitions;
      try {
        defs = await definitionsFor(spend, identity);
      } catch (err) {
        state.log.error('spend definitions unavailable', { error: (err as Error).message });
        throw spendUnavailable();
      }
      if (defs.budgets.length === 0 && defs.limits.length === 0) return;

      const model = state.upstream?.modelResolved ?? body.model;
      const promptTokens = promptTokenBound(body.raw, body.json);
      const outputTokens = outputTokenBound(route, body.json, model);
      const tokens = promptTokens + outputTokens;
      const now = deps.now();
      const entry: Admitted = { holds: [], reservedNano: 0, rate: [], done: false };

      for (const limit of defs.limits) {
        let outcome: RateOutcome;
        try {
          outcome = await spend.limiter.consume(rateKey(limit.scope, limit.scopeId), limit, tokens, now);
        } catch (err) {
          // Rate limits fail open, like the other governance stages: counted in the log.
          state.log.warn('rate limiter unavailable; request admitted', { error: (err as Error).message });
          continue;
        }
        if (!outcome.ok) {
          await refundRates(spend, entry, tokens, state);
          // Counted by the stack's metric filter (lib/spend-alarms.ts): keep the message and fields stable.
          state.log.info(REFUSED, { reason: 'rate_limit', scope: limit.scope });
          const overRequests = limit.rpm !== undefined && outcome.requests + 1 > limit.rpm;
          const what = overRequests ? 'requests' : 'tokens';
          throw rateLimited(limit.scope, what, overRequests ? limit.rpm! : limit.tpm!, outcome.resetsAt - now, rateHeaders([{ outcome, limit }], now), !overRequests && tokens > limit.tpm!);
        }
        entry.rate.push({ outcome, limit });
      }

      if (defs.budgets.length > 0) {
        const provider = state.upstream?.provider ?? 'openai';
        const found = model && deps.pricing ? deps.pricing.lookup(provider, model, identity.proxyId) : undefined;
        if (!found) {
          await refundRates(spend, entry, tokens, state);
          throw unpricedModel(model ?? '(none)');
        }
        const bound = upperBound(found.price, promptTokens, outputTokens);
        const amount = Math.ceil(bound.usd * 1e9);
        let outcome;
        try {
          outcome = await reserveAll(spend.ledger, defs.budgets, amount, now);
        } catch (err) {
          await refundRates(spend, entry, tokens, state);
          state.log.error('budget reservation failed', { error: (err as Error).message });
          throw spendUnavailable();
        }
        if (!outcome.ok) {
          await refundRates(spend, entry, tokens, state);
          state.log.info(REFUSED, { reason: 'budget', scope: outcome.refusedBy.scope });
          throw budgetExceeded(outcome.refusedBy, outcome.usedNano, outcome.limitNano, amount, outcome.retryAfterMs, now);
        }
        entry.holds = outcome.holds;
        entry.price = found.price;
        entry.reservedNano = amount;
        state.trace.set({ spendReservedUsd: bound.usd });
      }

      admitted.set(state, entry);
      state.observers.push({
        onEnd: ({ error }) => finish(spend, deps, state, entry, error),
      });
    },
    after(state, response: GatewayResponse) {
      const entry = admitted.get(state);
      if (entry && entry.rate.length > 0) Object.assign(response.headers, rateHeaders(entry.rate, deps.now()));
    },
    onError(state) {
      const entry = admitted.get(state);
      if (spend && entry) finish(spend, deps, state, entry, new Error('the model call failed'));
    },
  };
}

/**
 * Settles once: the real cost when the usage is known (even on a broken stream: the
 * provider bills what it produced), a release when the call failed without usage,
 * and the full reservation when a complete answer carried no usage (never less than
 * could have been spent). The write is awaited at the end of the invocation.
 */
function finish(spend: SpendServices, deps: SpendDeps, state: RequestState, entry: Admitted, error: Error | undefined): void {
  if (entry.done || entry.holds.length === 0) return;
  entry.done = true;
  const now = deps.now();
  const actual = state.usage && entry.price ? toNano(costOf(entry.price, state.usage)) : error ? 0 : entry.reservedNano;
  const write = (actual === 0 ? releaseAll(spend.ledger, entry.holds, now) : settleAll(spend.ledger, entry.holds, actual, now)).catch((err: Error) => {
    // The reservation stays counted: budgets err on the side of holding.
    deps.logger.warn('budget settlement failed', { traceId: state.traceId, error: err.message });
  });
  state.pending.push(write);
}

async function refundRates(spend: SpendServices, entry: Admitted, tokens: number, state: RequestState): Promise<void> {
  await Promise.all(
    entry.rate.map(({ outcome }) =>
      spend.limiter.refund(outcome.window, tokens).catch((err: Error) => state.log.warn('rate limit refund failed', { error: err.message })),
    ),
  );
  entry.rate = [];
}

/** OpenAI's x-ratelimit-* headers, from the most constrained scope of each kind. */
export function rateHeaders(rate: ReadonlyArray<{ outcome: RateOutcome; limit: LimitDefinition }>, now: number): Record<string, string> {
  const headers: Record<string, string> = {};
  const pick = (kind: 'rpm' | 'tpm', used: (o: RateOutcome) => number) => {
    let best: { limit: number; remaining: number; resetsAt: number } | undefined;
    for (const { outcome, limit } of rate) {
      const max = limit[kind];
      if (max === undefined) continue;
      const remaining = Math.max(0, max - used(outcome));
      if (!best || remaining < best.remaining) best = { limit: max, remaining, resetsAt: outcome.resetsAt };
    }
    return best;
  };
  const requests = pick('rpm', (o) => o.requests);
  const tokens = pick('tpm', (o) => o.tokens);
  if (requests) {
    headers['x-ratelimit-limit-requests'] = String(requests.limit);
    headers['x-ratelimit-remaining-requests'] = String(requests.remaining);
    headers['x-ratelimit-reset-requests'] = `${Math.max(0, Math.ceil((requests.resetsAt - now) / 1000))}s`;
  }
  if (tokens) {
    headers['x-ratelimit-limit-tokens'] = String(tokens.limit);
    headers['x-ratelimit-remaining-tokens'] = String(tokens.remaining);
    headers['x-ratelimit-reset-tokens'] = `${Math.max(0, Math.ceil((tokens.resetsAt - now) / 1000))}s`;
  }
  return headers;
}
