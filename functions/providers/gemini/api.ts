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
 * Gemini 2.5 and older: `reasoning_effort` → `thinkingConfig.thinkingBudget` (tokens), the
 * values Google's own OpenAI compatibility layer uses; `none` turns thinking off where the
 * model allows it (not on 2.5 Pro, which only works in thinking mode: see
 * `thinkingOffAllowed`).
 */
export const THINKING_BUDGETS: Record<string, number> = { none: 0, minimal: 1024, low: 1024, medium: 8192, high: 24576 };

export type ThinkingLevel = 'minimal' | 'low' | 'medium' | 'high';
const ALL_LEVELS: readonly ThinkingLevel[] = ['minimal', 'low', 'medium', 'high'];

/** `gemini-3-pro-preview` → [3, 0]; `gemini-2.5-flash` → [2, 5]; not a Gemini model → undefined. */
function geminiVersion(model: string): [number, number] | undefined {
  const m = /^gemini-(\d+)(?:\.(\d+))?-/.exec(geminiModelId(model));
  return m ? [Number(m[1]), Number(m[2] ?? 0)] : undefined;
}

/**
 * The `thinkingConfig.thinkingLevel` values a Gemini 3+ model takes, or undefined for a
 * model that takes `thinkingBudget` instead (2.5 and older, non-Gemini ids). From Google's
 * thinking guide: Gemini 3 Pro takes low and high, Gemini 3 Flash minimal, low, medium and
 * high, Gemini 3.1 Pro low, medium and high. A later Gemini 3+ model this table does not
 * know is sent any of the four and Google judges.
 */
export function thinkingLevelsOf(model: string): readonly ThinkingLevel[] | undefined {
  const version = geminiVersion(model);
  if (!version || version[0] < 3) return undefined;
  const id = geminiModelId(model);
  if (/^gemini-3-pro(-|$)/.test(id)) return ['low', 'high'];
  if (/^gemini-3\.1-pro(-|$)/.test(id)) return ['low', 'medium', 'high'];
  if (/^gemini-3-flash(-|$)/.test(id)) return ALL_LEVELS;
  return ALL_LEVELS;
}

/** Whether `thinkingBudget: 0` is accepted: Pro models (2.5 Pro) only work in thinking mode. */
export function thinkingOffAllowed(model: string): boolean {
  return !/^gemini-[\d.]+-pro(-|$)/.test(geminiModelId(model));
}
