import { configuredCredential, type ProviderAdapter } from '../../upstream/adapter.js';
import type { Endpoint } from '../../upstream/endpoints.js';
import { responsesToChatRequest } from '../responses/request.js';
import { anthropicHeaders, ANTHROPIC_PATHS } from './api.js';
import { callAnthropicWire } from './call.js';
import { toAnthropicRequest } from './request.js';

const ENDPOINTS: ReadonlySet<Endpoint> = new Set<Endpoint>(['chat.completions', 'responses', 'anthropic.messages', 'anthropic.count_tokens']);

/** Anthropic's Messages API: native Messages passed through; chat and Responses translated. */
export const anthropicAdapter: ProviderAdapter = {
  name: 'anthropic',
  providers: ['anthropic'],
  // The model list too, for the Anthropic SDK (answered in Anthropic's shape).
  serves: ({ endpoint, ingress }) => ENDPOINTS.has(endpoint) || (endpoint === 'models' && ingress === 'anthropic'),
  credential: configuredCredential,
  plan({ route, body, headers, credential, model }) {
    if (route.endpoint === 'models') return { wire: 'anthropic', path: ANTHROPIC_PATHS.models, headers: anthropicHeaders(headers, credential, undefined, false) };
    if (!body || model === undefined) throw new Error('unreachable: a model call without a body');
    if (route.ingress === 'anthropic') {
      // Native Messages: passed through, re-serialized only for an aliased model.
      const out = model === body.model ? body.raw : Buffer.from(JSON.stringify({ ...body.json, model }));
      const path = route.endpoint === 'anthropic.count_tokens' ? ANTHROPIC_PATHS.countTokens : ANTHROPIC_PATHS.messages;
      return { wire: 'anthropic', path, headers: anthropicHeaders(headers, credential, out, body.stream), body: out };
    }
    const chat = route.endpoint === 'responses' ? responsesToChatRequest(body.json) : body.json;
    const out = Buffer.from(JSON.stringify(toAnthropicRequest(chat, model)));
    return { wire: 'anthropic', path: ANTHROPIC_PATHS.messages, headers: anthropicHeaders(headers, credential, out, body.stream), body: out };
  },
  call: (deps, state, sentAt) => callAnthropicWire(deps, state, sentAt),
};
