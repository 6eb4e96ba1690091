import { GatewayError } from '../upstream/errors.js';
import { formatPeriod, toUsd, type BudgetDefinition } from './definitions.js';

const SCOPE_NAMES = { key: "key's", proxy: "proxy's", org: "organization's" } as const;

const usd = (nano: number) => `$${toUsd(nano).toFixed(toUsd(nano) < 1 ? 4 : 2)}`;

/** 429 for a budget that cannot hold this request's worst case; Retry-After when waiting helps. */
export function budgetExceeded(budget: BudgetDefinition, usedNano: number, limitNano: number, requestNano: number, retryAfterMs: number | undefined, now: number): GatewayError {
  const left = Math.max(0, limitNano - usedNano);
  const when =
    retryAfterMs === undefined
      ? 'This request alone can cost more than the whole budget; lower max_tokens or shorten the prompt.'
      : `Room frees up at ${new Date(now + retryAfterMs).toISOString()}.`;
  const message = `Budget exceeded: the ${SCOPE_NAMES[budget.scope]} ${formatPeriod(budget.period)} budget of ${usd(limitNano)} has ${usd(left)} left, and this request may cost up to ${usd(requestNano)}. ${when}`;
  const headers: Record<string, string> = retryAfterMs === undefined ? {} : { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) };
  // OpenAI's SDKs retry a 429 after at most a minute; beyond that a retry only wastes a call.
  if (retryAfterMs === undefined || retryAfterMs > 60_000) headers['x-should-retry'] = 'false';
  return new GatewayError(429, message, 'rate_limit_error', 'budget_exceeded', null, headers);
}

export function rateLimited(scope: 'key' | 'proxy', what: 'requests' | 'tokens', limit: number, retryAfterMs: number, headers: Record<string, string>, tooLarge: boolean): GatewayError {
  const message = tooLarge
    ? `Request too large: it may use more tokens than the ${scope}'s limit of ${limit} tokens per minute allows at all; lower max_tokens or shorten the prompt.`
    : `Rate limit reached: the ${scope}'s limit of ${limit} ${what} per minute is used up. Retry in ${Math.ceil(retryAfterMs / 1000)}s.`;
  // Waiting cannot help a request larger than the whole limit: no Retry-After, and no SDK retries.
  const retry: Record<string, string> = tooLarge ? { 'x-should-retry': 'false' } : { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) };
  return new GatewayError(429, message, 'rate_limit_error', tooLarge ? 'request_too_large' : 'rate_limit_exceeded', null, { ...headers, ...retry });
}

export const spendUnavailable = () => new GatewayError(503, 'Budgets could not be checked; the request was not sent.', 'service_unavailable', 'budget_unavailable');

export const unpricedModel = (model: string) =>
  new GatewayError(403, `No price is known for model "${model}", so its spend cannot be held to a budget. An operator can add one in the pricing overrides.`, 'permission_error', 'budget_unpriced_model');
