/** The endpoints whose answers are cached (Responses only when stateless). */
export const CACHED_ENDPOINTS: ReadonlySet<string> = new Set(['chat.completions', 'embeddings', 'completions', 'anthropic.messages', 'responses']);

/** Calls that are not model answers at all (listing models, counting tokens): the cache says nothing about them. */
const NOT_ANSWERS: ReadonlySet<string> = new Set(['models', 'anthropic.count_tokens']);

export type Cacheability = { cacheable: true } | { cacheable: false; reason: string } | { cacheable: false; silent: true };

/**
 * Whether a model call may be answered from the cache. Responses calls only when stateless:
 * `store: false` and no `previous_response_id` (OpenAI defaults `store` to true, so most
 * Responses calls are not cached — a stored response is state the provider keeps).
 */
export function cacheabilityOf(route: { ingress: string; endpoint: string; method: string }, body: Record<string, unknown> | undefined): Cacheability {
  if (route.method !== 'POST' || NOT_ANSWERS.has(route.endpoint)) return { cacheable: false, silent: true };
  if (!CACHED_ENDPOINTS.has(route.endpoint) || (route.ingress !== 'openai' && route.ingress !== 'anthropic')) return { cacheable: false, reason: 'endpoint_not_cached' };
  if (!body) return { cacheable: false, reason: 'no_body' };
  if (route.endpoint === 'responses') {
    if (body.store !== false) return { cacheable: false, reason: 'responses_store' };
    if (body.previous_response_id !== undefined && body.previous_response_id !== null) return { cacheable: false, reason: 'responses_previous_response_id' };
    if (body.conversation !== undefined && body.conversation !== null) return { cacheable: false, reason: 'responses_conversation' };
    if (body.background === true) return { cacheable: false, reason: 'responses_background' };
  }
  return { cacheable: true };
}
