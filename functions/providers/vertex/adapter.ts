import { resolveCredential, type AdapterDeps, type ProviderAdapter } from '../../upstream/adapter.js';
import type { Endpoint } from '../../upstream/endpoints.js';
import { callAnthropicWire } from '../anthropic/call.js';
import { callGemini } from '../gemini/call.js';
import { gcpOf, vertexBaseUrl } from './api.js';
import { createGoogleTokenSource, vertexAccessToken, type GoogleTokenSource } from './auth.js';
import { callVertexEmbeddings } from './call.js';
import { isAnthropicErrorBody, mapVertexError } from './errors.js';
import { vertexRequest } from './plan.js';

/** What the Vertex adapter needs beyond the common deps: the OAuth token source (absent: one per SSRF guard, on the system clock). */
export type VertexDeps = AdapterDeps & { googleTokens?: GoogleTokenSource };

const builtTokenSources = new WeakMap<object, GoogleTokenSource>();

function tokensOf(deps: VertexDeps): GoogleTokenSource {
  if (deps.googleTokens) return deps.googleTokens;
  let tokens = builtTokenSources.get(deps.upstreamGuard);
  if (!tokens) {
    tokens = createGoogleTokenSource({ guard: deps.upstreamGuard });
    builtTokenSources.set(deps.upstreamGuard, tokens);
  }
  return tokens;
}

const ENDPOINTS: ReadonlySet<Endpoint> = new Set<Endpoint>(['chat.completions', 'responses', 'embeddings', 'anthropic.messages', 'anthropic.count_tokens']);

/**
 * Vertex AI: Claude models on rawPredict (Anthropic's wire), Gemini models on
 * generateContent (Gemini's wire), embeddings on :predict. The project and location come
 * from the target (a 400 when missing, before any token is fetched); the credential is an
 * OAuth token, the caller's or one exchanged for the configured service-account key.
 */
export const vertexAdapter: ProviderAdapter<VertexDeps> = {
  name: 'vertex',
  providers: ['vertex'],
  serves: ({ endpoint }) => ENDPOINTS.has(endpoint),
  baseUrl: (_deps, target) => vertexBaseUrl(target, gcpOf(target).location),
  credential: (deps, target) => vertexAccessToken(target, (ref) => resolveCredential(deps, ref), tokensOf(deps)),
  plan({ route, body, headers, target, credential, model }) {
    if (!body || model === undefined) throw new Error('unreachable: a model call without a body');
    return vertexRequest({ endpoint: route.endpoint, ingress: route.ingress, json: body.json, stream: body.stream, clientHeaders: headers, model, gcp: gcpOf(target), accessToken: credential ?? '' });
  },
  call(deps, state, sentAt) {
    const route = state.route;
    if (route.kind === 'openai' && route.endpoint === 'embeddings') return callVertexEmbeddings(deps, state, sentAt);
    if (state.upstream?.wire === 'gemini') return callGemini(deps, state, sentAt);
    // Claude on Vertex: Google's error bodies mapped; Anthropic's own handled as on Anthropic.
    return callAnthropicWire(deps, state, sentAt, (status, text, headers) => (route.kind === 'openai' && route.ingress === 'anthropic' && isAnthropicErrorBody(text) ? undefined : mapVertexError(status, text, headers)));
  },
  // A service-account token Vertex refused (401: revoked before its expiry) is not reused.
  refused(deps, plan) {
    const token = /^Bearer (\S+)$/.exec(plan.headers.authorization ?? '')?.[1];
    if (token) tokensOf(deps).forget(token);
  },
};
