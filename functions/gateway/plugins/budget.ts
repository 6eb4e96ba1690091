import { costOf } from '../../pricing/price-book.js';
import { toNano } from '../../spend/definitions.js';
import { budgetExceeded, spendUnavailable, unpricedModel } from '../../spend/errors.js';
import { upperBound } from '../../spend/estimate.js';
import { releaseAll, reserveAll, settleAll } from '../../spend/reserve-all.js';
import type { SpendServices } from '../../spend/services.js';
import type { Plugin, RequestState } from '../types.js';
import { admissions, refundRates, REFUSED, type Admitted, type SpendDeps } from './spend-admission.js';

/**
 * budget — last before the upstream, so a request another plugin refuses (or the cache
 * answers) reserves nothing. PreLLM: one reservation of the request's worst-case cost on
 * every budget (key, proxy, org), undone everywhere if one refuses (and the rate-limit
 * consumption refunded). PostLLM: when the body ends, the reservation is settled to the
 * real cost from the usage; it is released when the upstream fails, the stream breaks
 * without usage, or the client disconnects.
 */
export function budgetPlugin(deps: SpendDeps): Plugin {
  const spend = deps.spend;
  return {
    name: 'budget',
    async before(state) {
      const entry = admissions.get(state);
      const identity = state.identity;
      if (!spend || !entry || !identity || entry.defs.budgets.length === 0) return;
      // A cache hit is served without a model call: nothing to reserve.
      if (state.cache?.result === 'hit') return;
      const now = deps.now();
      const provider = state.upstream?.provider ?? 'openai';
      const model = entry.model;
      const found = model && deps.pricing ? deps.pricing.lookup(provider, model, identity.proxyId) : undefined;
      if (!found) {
        await refundRates(spend, entry, state);
        throw unpricedModel(model ?? '(none)');
      }
      const bound = upperBound(found.price, entry.promptTokens, entry.outputTokens);
      const amount = Math.ceil(bound.usd * 1e9);
      let outcome;
      try {
        outcome = await reserveAll(spend.ledger, entry.defs.budgets, amount, now);
      } catch (err) {
        await refundRates(spend, entry, state);
        state.log.error('budget reservation failed', { error: (err as Error).message });
        throw spendUnavailable();
      }
      if (!outcome.ok) {
        await refundRates(spend, entry, state);
        state.log.info(REFUSED, { reason: 'budget', scope: outcome.refusedBy.scope });
        throw budgetExceeded(outcome.refusedBy, outcome.usedNano, outcome.limitNano, amount, outcome.retryAfterMs, now);
      }
      entry.holds = outcome.holds;
      entry.price = found.price;
      entry.reservedNano = amount;
      state.trace.set({ spendReservedUsd: bound.usd });
      state.observers.push({
        onEnd: ({ error }) => finish(spend, deps, state, entry, error),
      });
    },
    onError(state) {
      const entry = admissions.get(state);
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
