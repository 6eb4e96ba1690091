import type { Json } from '../chat.js';
import { VERTEX_ANTHROPIC_VERSION } from './api.js';

/**
 * An Anthropic Messages body (translated from chat/Responses, or the native ingress's
 * own) → the rawPredict body for Claude on Vertex: `model` moves to the URL, the API
 * version goes into the body, and everything else (`stream`, `cache_control` on system
 * blocks, messages and tools, thinking, betas' fields) is kept exactly as it is.
 */
export function toVertexAnthropicBody(body: Json): Json {
  const { model: _model, anthropic_version: version, ...rest } = body;
  return { anthropic_version: typeof version === 'string' && version ? version : VERTEX_ANTHROPIC_VERSION, ...rest };
}

/** count_tokens on Vertex: the same body, with the model kept (the endpoint is shared). */
export function toVertexAnthropicCountTokensBody(body: Json, model: string): Json {
  const { anthropic_version: version, ...rest } = body;
  return { anthropic_version: typeof version === 'string' && version ? version : VERTEX_ANTHROPIC_VERSION, ...rest, model };
}
