/**
 * Bedrock Runtime facts the translators need. Model ids take every form Converse
 * accepts and pass through unchanged: foundation model ids (`anthropic.claude-…-v1:0`),
 * cross-Region inference profiles (`us.`, `eu.`, `apac.`, `global.` prefixes), and
 * inference-profile / application-inference-profile / provisioned-model ARNs. The
 * gateway does not second-guess them: Bedrock answers an unknown id with a
 * ValidationException or ResourceNotFoundException, mapped like any other error.
 */

/** Whether a model id names an Anthropic model (for Anthropic-only fields such as top_k and thinking). */
export const isAnthropicModel = (id: string): boolean => /anthropic\.claude|claude-/.test(id);

/** Converse's temperature range for the models it serves. */
export const TEMPERATURE_RANGE = { min: 0, max: 1 } as const;

/** Converse image formats by media type. */
export const IMAGE_FORMATS: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

/**
 * What is inserted when a conversation starts with an assistant turn: Converse requires
 * the first message to come from the user (docs/providers.md).
 */
export const LEADING_USER_TEXT = '.';
