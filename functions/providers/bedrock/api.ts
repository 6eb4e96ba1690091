/**
 * Bedrock Runtime facts the translators need. Model ids take every form Converse
 * accepts and pass through unchanged: foundation model ids (`anthropic.claude-…-v1:0`),
 * cross-Region inference profiles (`us.`, `eu.`, `apac.`, `global.` prefixes), and
 * inference-profile / application-inference-profile / provisioned-model ARNs.
 */
const MODEL_ID = /^(?:(?:us|eu|apac|us-gov|global|jp|au|ca)\.)?[a-z0-9-]+\.[A-Za-z0-9._:-]+$/;
const MODEL_ARN = /^arn:aws(?:-[a-z]+)*:bedrock:[a-z0-9-]+:\d{12}:(?:application-inference-profile|inference-profile|provisioned-model|custom-model|imported-model|foundation-model|prompt|custom-model-deployment)\/[A-Za-z0-9._:/-]+$/;
const FOUNDATION_ARN = /^arn:aws(?:-[a-z]+)*:bedrock:[a-z0-9-]+::foundation-model\/[A-Za-z0-9._:-]+$/;

export function isBedrockModelId(id: string): boolean {
  return MODEL_ID.test(id) || MODEL_ARN.test(id) || FOUNDATION_ARN.test(id);
}

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
