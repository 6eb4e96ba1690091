import { costOf, type ModelPrice } from '../pricing/price-book.js';
import type { Route } from '../gateway/routes.js';

/** A request's worst case: it can never use more tokens, nor cost more, than this. */
export interface UpperBound {
  promptTokens: number;
  outputTokens: number;
  /** USD at the model's highest input and output rates. */
  usd: number;
}

/**
 * Tokens an image part may cost at most. OpenAI's high-detail tiling of a 2048×2048
 * image is 1105 tokens on gpt-4o, Anthropic caps an image near 1600; this stays above both.
 */
export const IMAGE_TOKEN_BOUND = 2000;

/** Output cap used when the request sets none and the model's limit is not known. */
export const DEFAULT_OUTPUT_BOUND = 32_768;

/** Output limits of common models (tokens), for requests that set no max_tokens. */
const OUTPUT_LIMITS: ReadonlyArray<[RegExp, number]> = [
  [/^(gpt-5|o3|o4-mini|o1)/, 128_000],
  [/^gpt-4\.1/, 32_768],
  [/^gpt-4o/, 16_384],
  [/claude-(opus|sonnet)-4|claude-3-7-sonnet/, 64_000],
  [/claude-3-5-haiku|claude-haiku-4/, 64_000],
];

export function outputLimitOf(model: string | undefined): number {
  for (const [pattern, limit] of OUTPUT_LIMITS) if (model && pattern.test(model)) return limit;
  return DEFAULT_OUTPUT_BOUND;
}

/**
 * The prompt bound only over-estimates: every tokenizer in use emits at most one token
 * per UTF-8 byte of text, and the whole JSON body (keys, quotes, role names) is
 * counted, which more than covers the few framing tokens per message. Image parts
 * add IMAGE_TOKEN_BOUND each, whatever their URL's length.
 */
export function promptTokenBound(rawBody: Buffer, json: Record<string, unknown>): number {
  return rawBody.length + countImages(json) * IMAGE_TOKEN_BOUND;
}

/** max_tokens / max_completion_tokens / max_output_tokens (Converse: inferenceConfig.maxTokens), else the model's output limit; 0 for embeddings. */
export function outputTokenBound(route: Route, json: Record<string, unknown>, model: string | undefined): number {
  if (route.kind === 'openai' && route.endpoint === 'embeddings') return 0;
  for (const field of ['max_completion_tokens', 'max_tokens', 'max_output_tokens']) {
    const v = json[field];
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) {
      // n choices each produce up to the cap.
      const n = typeof json.n === 'number' && Number.isInteger(json.n) && json.n > 1 ? json.n : 1;
      return v * n;
    }
  }
  // Bedrock Converse: inferenceConfig.maxTokens.
  const converse = (json.inferenceConfig as { maxTokens?: unknown } | undefined)?.maxTokens;
  if (typeof converse === 'number' && Number.isInteger(converse) && converse > 0) return converse;
  const n = typeof json.n === 'number' && Number.isInteger(json.n) && json.n > 1 ? json.n : 1;
  return outputLimitOf(model) * n;
}

/** The highest rate each token kind can be billed at (a cache write can cost more than fresh input). */
export function worstCasePrice(price: ModelPrice): ModelPrice {
  return {
    input: Math.max(price.input, price.cacheRead ?? 0, price.cacheWrite ?? 0),
    output: Math.max(price.output, price.reasoning ?? 0),
  };
}

export function upperBound(price: ModelPrice, promptTokens: number, outputTokens: number): UpperBound {
  const usd = costOf(worstCasePrice(price), { promptTokens, completionTokens: outputTokens, totalTokens: promptTokens + outputTokens });
  return { promptTokens, outputTokens, usd };
}

function countImages(value: unknown, depth = 0): number {
  if (depth > 8 || value === null || typeof value !== 'object') return 0;
  if (Array.isArray(value)) return value.reduce((sum: number, v) => sum + countImages(v, depth + 1), 0);
  const o = value as Record<string, unknown>;
  const own = o.type === 'image_url' || o.type === 'input_image' || o.type === 'image' ? 1 : 0;
  let nested = 0;
  for (const [k, v] of Object.entries(o)) if (k === 'messages' || k === 'content' || k === 'input') nested += countImages(v, depth + 1);
  return own + nested;
}
