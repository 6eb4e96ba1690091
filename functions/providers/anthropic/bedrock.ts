import type { Json } from '../chat.js';

/** The Messages API version Bedrock's Anthropic models take in the body. */
export const BEDROCK_ANTHROPIC_VERSION = 'bedrock-2023-05-31';

/**
 * A native Anthropic Messages body → the InvokeModel body for Claude on Bedrock: the
 * model moves to the path, `stream` to the operation, the version into the body, and
 * `anthropic-beta` header flags into `anthropic_beta`.
 */
export function toBedrockAnthropicBody(body: Json, betaHeader: string | undefined): Json {
  const { model: _model, stream: _stream, ...rest } = body;
  const out: Json = { anthropic_version: BEDROCK_ANTHROPIC_VERSION, ...rest };
  const betas = betaHeader?.split(',').map((b) => b.trim()).filter(Boolean);
  if (betas?.length) out.anthropic_beta = betas;
  return out;
}

/** count_tokens bodies carry no max_tokens, which Claude's InvokeModel body requires: 1 stands in (it bills nothing). */
export function toBedrockCountTokensBody(body: Json, betaHeader: string | undefined): Json {
  const out = toBedrockAnthropicBody(body, betaHeader);
  return out.max_tokens === undefined ? { ...out, max_tokens: 1 } : out;
}
