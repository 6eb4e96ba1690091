/**
 * Anthropic Messages API: base URL, paths, headers, and the per-model facts the
 * translators need (max_tokens defaults, the temperature range).
 */
export const ANTHROPIC_BASE_URL = 'https://api.anthropic.com/v1';
export const ANTHROPIC_VERSION = '2023-06-01';

export const ANTHROPIC_PATHS = {
  messages: '/messages',
  countTokens: '/messages/count_tokens',
  models: '/models',
} as const;

/** Client headers forwarded to Anthropic (the SDK's version and beta flags). */
const FORWARDED_HEADERS = ['anthropic-beta', 'idempotency-key'];

/** `body` undefined: a GET (the model list). */
export function anthropicHeaders(clientHeaders: Record<string, string>, credential: string | undefined, body: Buffer | undefined, stream: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    accept: stream ? 'text/event-stream' : 'application/json',
    'accept-encoding': 'identity',
    'user-agent': 'sluice-gateway/0.1',
    'anthropic-version': clientHeaders['anthropic-version'] ?? ANTHROPIC_VERSION,
    ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
  };
  for (const name of FORWARDED_HEADERS) {
    const value = clientHeaders[name];
    if (value !== undefined) headers[name] = value;
  }
  if (credential) headers['x-api-key'] = credential;
  return headers;
}

/**
 * `max_tokens` is required by Anthropic; OpenAI clients usually omit it. The default is
 * the model's maximum output (docs/providers.md lists the table). The first entry whose
 * pattern occurs in the model id wins, so Bedrock ids (`us.anthropic.claude-…-v1:0`)
 * match too; unknown models get 4096.
 */
export const MAX_TOKENS_DEFAULTS: ReadonlyArray<readonly [pattern: string, maxTokens: number]> = [
  ['claude-opus-4-5', 64000],
  ['claude-opus-4-1', 32000],
  ['claude-opus-4', 32000],
  ['claude-sonnet-4', 64000],
  ['claude-haiku-4', 64000],
  ['claude-3-7-sonnet', 64000],
  ['claude-3-5-sonnet', 8192],
  ['claude-3-5-haiku', 8192],
  ['claude-3-opus', 4096],
  ['claude-3-sonnet', 4096],
  ['claude-3-haiku', 4096],
];
export const FALLBACK_MAX_TOKENS = 4096;

export function defaultMaxTokens(model: string): number {
  for (const [pattern, max] of MAX_TOKENS_DEFAULTS) if (model.includes(pattern)) return max;
  return FALLBACK_MAX_TOKENS;
}

/** Anthropic accepts temperature in [0, 1] (OpenAI: [0, 2]); outside it is a 400, never clamped. */
export const TEMPERATURE_RANGE = { min: 0, max: 1 } as const;

/** `reasoning_effort` → an extended-thinking budget (tokens). */
export const THINKING_BUDGETS: Record<string, number> = { minimal: 1024, low: 1024, medium: 2048, high: 4096 };
