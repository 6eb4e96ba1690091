import { configuredCredential, type ProviderAdapter } from '../../upstream/adapter.js';
import type { Endpoint } from '../../upstream/endpoints.js';
import { geminiHeaders, geminiPath } from './api.js';
import { callGemini } from './call.js';
import { toGeminiEmbedRequest } from './embeddings.js';
import { geminiBodyFor } from './request.js';

const ENDPOINTS: ReadonlySet<Endpoint> = new Set<Endpoint>(['chat.completions', 'responses', 'embeddings', 'anthropic.messages']);

/** The Gemini API: chat, Responses and Anthropic Messages through generateContent; embeddings through batchEmbedContents. */
export const geminiAdapter: ProviderAdapter = {
  name: 'gemini',
  providers: ['gemini'],
  serves: ({ endpoint }) => ENDPOINTS.has(endpoint),
  credential: configuredCredential,
  plan({ route, body, credential, model }) {
    if (!body || model === undefined) throw new Error('unreachable: a model call without a body');
    const embed = route.endpoint === 'embeddings';
    const out = Buffer.from(JSON.stringify(embed ? toGeminiEmbedRequest(body.json, model) : geminiBodyFor(route.endpoint, route.ingress, body.json, model)));
    const method = embed ? 'batchEmbedContents' : body.stream ? 'streamGenerateContent' : 'generateContent';
    return { wire: 'gemini', path: geminiPath(model, method), headers: geminiHeaders(credential, out, body.stream), body: out };
  },
  call: (deps, state, sentAt) => callGemini(deps, state, sentAt),
};
