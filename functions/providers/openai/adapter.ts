import { configuredCredential, type ProviderAdapter } from '../../upstream/adapter.js';
import { OPENAI_PATHS, type Endpoint } from '../../upstream/endpoints.js';
import { GatewayError } from '../../upstream/errors.js';
import { OPENAI_FAMILY, upstreamHeaders } from './api.js';
import { callOpenAIWire } from './call.js';
import { mapUpstreamError } from './errors.js';
import { openaiWire } from './plan.js';

const ENDPOINTS: ReadonlySet<Endpoint> = new Set<Endpoint>(['chat.completions', 'responses', 'embeddings', 'completions', 'models', 'anthropic.messages']);

/** The OpenAI-compatible family (OpenAI, Groq, OpenRouter, Together, vLLM, any OpenAI-wire server). */
export const openaiAdapter: ProviderAdapter = {
  name: 'openai',
  providers: [...OPENAI_FAMILY],
  serves: ({ endpoint }) => ENDPOINTS.has(endpoint),
  credential: configuredCredential,
  plan: (request) => openaiWire(request, request.model, (endpoint) => OPENAI_PATHS[endpoint], (headers, out) => upstreamHeaders(headers, request.credential, out)),
  call: (deps, state, sentAt) =>
    callOpenAIWire(deps, state, sentAt, (status, text, headers) => {
      const error = mapUpstreamError(status, text, state.upstream?.provider ?? 'upstream');
      return new GatewayError(error.status, error.message, error.type, error.code, error.param, headers);
    }),
};
