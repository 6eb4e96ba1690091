import { splitCacheTokenCounts, type TokenCounts } from '../chat.js';

const FIELDS = { input: 'inputTokens', output: 'outputTokens', cacheRead: 'cacheReadInputTokens', cacheWrite: 'cacheWriteInputTokens' };

/** Converse usage → token counts: `inputTokens` excludes cache reads and writes, reported apart. */
export const bedrockTokenCounts = (usage: unknown, reasoningText = ''): TokenCounts => splitCacheTokenCounts(usage, FIELDS, reasoningText);
