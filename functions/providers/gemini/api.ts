/**
 * Google AI Studio / Gemini API: base URL, paths, headers and the per-model facts the
 * translators need. The key goes in `x-goog-api-key` (never in the URL, so it cannot end
 * up in a logged address).
 */
export const GEMINI_BASE_URL = 'https://generativelanguage.googleapis.com/v1beta';

export type GeminiMethod = 'generateContent' | 'streamGenerateContent' | 'batchEmbedContents' | 'countTokens';

/** `models/gemini-2.5-flash` and `gemini-2.5-flash` name the same model. */
export function geminiModelId(model: string): string {
  return model.replace(/^models\//, '');
}

/**
 * The path of a model call under the base URL. Streams ask for SSE (`alt=sse`); the
 * model id is URL-encoded so it can never leave its path segment.
 */
export function geminiPath(model: string, method: GeminiMethod): string {
  const path = `/models/${encodeURIComponent(geminiModelId(model))}:${method}`;
  return method === 'streamGenerateContent' ? `${path}?alt=sse` : path;
}

export function geminiHeaders(credential: string | undefined, body: Buffer, stream: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    accept: stream ? 'text/event-stream' : 'application/json',
    // Compressed bodies could not be observed for usage; ask for identity.
    'accept-encoding': 'identity',
    'user-agent': 'sluice-gateway/0.1',
    'content-type': 'application/json',
    'content-length': String(body.length),
  };
  if (credential) headers['x-goog-api-key'] = credential;
  return headers;
}

/** Gemini accepts temperature in [0, 2], like OpenAI. */
export const TEMPERATURE_RANGE = { min: 0, max: 2 } as const;

/**
 * `reasoning_effort` → `thinkingConfig.thinkingBudget` (tokens), the values Google's own
 * OpenAI compatibility layer uses; `none` turns thinking off where the model allows it.
 */
export const THINKING_BUDGETS: Record<string, number> = { none: 0, minimal: 1024, low: 1024, medium: 8192, high: 24576 };
