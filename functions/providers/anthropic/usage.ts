import { splitCacheTokenCounts, type TokenCounts } from '../chat.js';

const FIELDS = { input: 'input_tokens', output: 'output_tokens', cacheRead: 'cache_read_input_tokens', cacheWrite: 'cache_creation_input_tokens' };

/**
 * Anthropic usage → token counts. `input_tokens` excludes cache reads and writes, which
 * Anthropic reports separately; thinking tokens are inside `output_tokens` and only
 * estimated from the thinking text.
 */
export const anthropicTokenCounts = (usage: unknown, thinkingText = ''): TokenCounts => splitCacheTokenCounts(usage, FIELDS, thinkingText);
