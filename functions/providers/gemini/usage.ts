import { tokenCount as num, type TokenCounts } from '../chat.js';

/**
 * Gemini `usageMetadata` → token counts. `promptTokenCount` includes the cached content
 * (`cachedContentTokenCount`), which is split out as the cache read; tool-use prompt
 * tokens (`toolUsePromptTokenCount`) are input too. Thinking tokens
 * (`thoughtsTokenCount`) are reported apart from `candidatesTokenCount`: both are output,
 * so `completion_tokens` = candidates + thoughts and `reasoning_tokens` = thoughts
 * (an exact count, not an estimate).
 */
export function geminiTokenCounts(usageMetadata: unknown): TokenCounts {
  const u = (usageMetadata ?? {}) as Record<string, unknown>;
  const prompt = num(u.promptTokenCount) + num(u.toolUsePromptTokenCount);
  const cached = Math.min(num(u.cachedContentTokenCount), prompt);
  const thoughts = num(u.thoughtsTokenCount);
  return { input: prompt - cached, output: num(u.candidatesTokenCount) + thoughts, cacheRead: cached, cacheWrite: 0, reasoning: thoughts };
}
