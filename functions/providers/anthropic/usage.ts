import { estimateTokens, type TokenCounts } from '../chat.js';

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/**
 * Anthropic usage → token counts. `input_tokens` excludes cache reads and writes, which
 * Anthropic reports separately; thinking tokens are inside `output_tokens` and only
 * estimated from the thinking text.
 */
export function anthropicTokenCounts(usage: unknown, thinkingText = ''): TokenCounts {
  const u = (usage ?? {}) as Record<string, unknown>;
  return {
    input: num(u.input_tokens),
    output: num(u.output_tokens),
    cacheRead: num(u.cache_read_input_tokens),
    cacheWrite: num(u.cache_creation_input_tokens),
    reasoning: thinkingText ? estimateTokens(thinkingText) : 0,
  };
}
