import { badRequest } from '../../upstream/errors.js';
import type { Endpoint, Ingress } from '../../upstream/endpoints.js';
import type { UpstreamPlan } from '../../upstream/types.js';
import { toAnthropicRequest } from '../anthropic/request.js';
import { geminiBodyFor } from '../gemini/request.js';
import { responsesToChatRequest } from '../responses/request.js';
import type { Json } from '../chat.js';
import { isClaudeModel, vertexAnthropicCountTokensPath, vertexHeaders, vertexModelPath } from './api.js';
import { toVertexEmbedRequest } from './embeddings.js';
import { toVertexAnthropicBody, toVertexAnthropicCountTokensBody } from './request.js';

/** The wire piece of a Vertex call (what routing puts in the upstream plan). */
export type VertexWire = Pick<UpstreamPlan, 'path' | 'headers' | 'body' | 'wire'>;

export interface VertexCall {
  endpoint: Endpoint;
  ingress: Ingress;
  /** The client's parsed body. */
  json: Json;
  stream: boolean;
  /** The client's headers (names lower-cased): `anthropic-beta` is forwarded to Claude. */
  clientHeaders: Record<string, string>;
  model: string;
  gcp: { project: string; location: string };
  accessToken: string;
}

/**
 * One request on Vertex: Claude models get Anthropic Messages bodies on rawPredict /
 * streamRawPredict (answered in Anthropic's format, wire 'anthropic'); Gemini models
 * get generateContent bodies (wire 'gemini'); embeddings go to `:predict`.
 */
export function vertexRequest(call: VertexCall): VertexWire {
  const { endpoint, ingress, json, model, gcp } = call;
  if (isClaudeModel(model)) return claudeRequest(call);
  if (endpoint === 'anthropic.count_tokens') throw badRequest(`count_tokens on a Vertex proxy is served for Claude models only; '${model}' is not one.`, 'unsupported_model', 'model');
  if (endpoint === 'embeddings') {
    // Text-embedding models: `:predict` with one instance per input (read by call.ts).
    const out = Buffer.from(JSON.stringify(toVertexEmbedRequest(json)));
    return { wire: 'gemini', path: vertexModelPath(gcp, model, 'predict'), headers: vertexHeaders(call.accessToken, out, false), body: out };
  }
  // Gemini: the generateContent body the Gemini API takes (chat, Responses and Messages
  // translated), without functionCall / functionResponse ids, which Vertex refuses.
  const out = Buffer.from(JSON.stringify(geminiBodyFor(endpoint, ingress, json, model, { callIds: false })));
  const stream = call.stream;
  return { wire: 'gemini', path: vertexModelPath(gcp, model, stream ? 'streamGenerateContent' : 'generateContent'), headers: vertexHeaders(call.accessToken, out, stream), body: out };
}

function claudeRequest(call: VertexCall): VertexWire {
  const { endpoint, ingress, json, model, gcp, stream } = call;
  if (endpoint === 'embeddings') throw badRequest(`Claude models have no embeddings; '${model}' is one.`, 'unsupported_model', 'model');
  const beta = call.clientHeaders['anthropic-beta'];
  const extra: Record<string, string> = beta ? { 'anthropic-beta': beta } : {};
  if (endpoint === 'anthropic.count_tokens') {
    const out = Buffer.from(JSON.stringify(toVertexAnthropicCountTokensBody(json, model)));
    return { wire: 'anthropic', path: vertexAnthropicCountTokensPath(gcp), headers: vertexHeaders(call.accessToken, out, false, extra), body: out };
  }
  // The native Messages body as the client sent it; chat and Responses translated as for Anthropic.
  const messages = ingress === 'anthropic' ? json : (toAnthropicRequest(endpoint === 'responses' ? responsesToChatRequest(json) : json, model) as unknown as Json);
  const out = Buffer.from(JSON.stringify(toVertexAnthropicBody(messages)));
  return { wire: 'anthropic', path: vertexModelPath(gcp, model, stream ? 'streamRawPredict' : 'rawPredict'), headers: vertexHeaders(call.accessToken, out, stream, extra), body: out };
}
