import type { Usage } from '../../upstream/types.js';

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/**
 * Normalizes an OpenAI usage object: chat/completions (`prompt_tokens`…) and the
 * Responses API (`input_tokens`…) into one shape. Undefined when there is none.
 */
export function normalizeUsage(raw: unknown): Usage | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const u = raw as Record<string, unknown>;
  const prompt = num(u.prompt_tokens) ?? num(u.input_tokens);
  const completion = num(u.completion_tokens) ?? num(u.output_tokens) ?? 0;
  if (prompt === undefined) return undefined;
  const usage: Usage = { promptTokens: prompt, completionTokens: completion, totalTokens: num(u.total_tokens) ?? prompt + completion };
  const promptDetails = (u.prompt_tokens_details ?? u.input_tokens_details) as Record<string, unknown> | undefined;
  const completionDetails = (u.completion_tokens_details ?? u.output_tokens_details) as Record<string, unknown> | undefined;
  const cached = num(promptDetails?.cached_tokens);
  const reasoning = num(completionDetails?.reasoning_tokens);
  if (cached !== undefined) usage.cachedTokens = cached;
  if (reasoning !== undefined) usage.reasoningTokens = reasoning;
  return usage;
}

/** Usage from a complete JSON response body (chat, completions, responses, embeddings). */
export function usageFromResponseBody(body: unknown): Usage | undefined {
  if (!body || typeof body !== 'object') return undefined;
  return normalizeUsage((body as Record<string, unknown>).usage);
}
