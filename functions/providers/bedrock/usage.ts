import { estimateTokens, type TokenCounts } from '../chat.js';

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Converse usage → token counts: `inputTokens` excludes cache reads and writes, reported apart. */
export function bedrockTokenCounts(usage: unknown, reasoningText = ''): TokenCounts {
  const u = (usage ?? {}) as Record<string, unknown>;
  return {
    input: num(u.inputTokens),
    output: num(u.outputTokens),
    cacheRead: num(u.cacheReadInputTokens),
    cacheWrite: num(u.cacheWriteInputTokens),
    reasoning: reasoningText ? estimateTokens(reasoningText) : 0,
  };
}
