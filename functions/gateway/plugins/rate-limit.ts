import { spendUnavailable, rateLimited } from '../../spend/errors.js';
import { outputTokenBound, promptTokenBound } from '../../spend/estimate.js';
import { rateKey, type RateOutcome } from '../../spend/rate-limiter.js';
import type { LimitDefinition } from '../../spend/definitions.js';
import type { GatewayResponse, Plugin } from '../types.js';
import { admissions, refundRates, REFUSED, type Admitted, type DefinitionsReader, type SpendDeps } from './spend-admission.js';

/**
 * rate-limit — requests and the token upper bound per minute (key and proxy limits),
 * before the response cache: a cache hit counts against the limits too. Rate limits
 * fail open when the limiter is unreachable (logged). PostLLM: OpenAI's x-ratelimit-*
 * headers for the most constrained scope. The budget plugin refunds what this consumed
 * when a budget refuses the request.
 */
export function rateLimitPlugin(deps: SpendDeps, definitionsFor: DefinitionsReader): Plugin {
  const spend = deps.spend;
  return {
    name: 'rate-limit',
    async before(state) {
      const { identity, body, route } = state;
      if (!spend || !identity || !body || route.kind !== 'openai' || route.method !== 'POST') return;
      let defs;
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
      const entry: Admitted = { defs, promptTokens, outputTokens, tokens, model, holds: [], reservedNano: 0, rate: [], done: false };

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
          await refundRates(spend, entry, state);
          // Counted by the stack's metric filter (lib/spend-alarms.ts): keep the message and fields stable.
          state.log.info(REFUSED, { reason: 'rate_limit', scope: limit.scope });
          const overRequests = limit.rpm !== undefined && outcome.requests + 1 > limit.rpm;
          const what = overRequests ? 'requests' : 'tokens';
          throw rateLimited(limit.scope, what, overRequests ? limit.rpm! : limit.tpm!, outcome.resetsAt - now, rateHeaders([{ outcome, limit }], now), !overRequests && tokens > limit.tpm!);
        }
        entry.rate.push({ outcome, limit });
      }
      admissions.set(state, entry);
    },
    after(state, response: GatewayResponse) {
      const entry = admissions.get(state);
      if (entry && entry.rate.length > 0) Object.assign(response.headers, rateHeaders(entry.rate, deps.now()));
    },
  };
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
