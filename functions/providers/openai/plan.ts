import type { PlanRequest } from '../../upstream/adapter.js';
import { isOpenAIEndpoint, type OpenAIEndpoint } from '../../upstream/endpoints.js';
import type { UpstreamWire } from '../../upstream/types.js';
import { anthropicToChatRequest } from '../anthropic-ingress/request.js';
import { translateRequest } from './request.js';

/**
 * OpenAI's wire on a provider's paths and headers (the OpenAI family's, Azure OpenAI's):
 * OpenAI bodies passed through with `bodyModel`; the Anthropic ingress's Messages
 * translated to chat.completions.
 */
export function openaiWire(
  request: PlanRequest,
  bodyModel: string | undefined,
  pathOf: (endpoint: OpenAIEndpoint) => string,
  headersOf: (clientHeaders: Record<string, string>, body: Buffer | undefined) => Record<string, string>,
): UpstreamWire {
  const { route, body, model } = request;
  if (route.endpoint === 'anthropic.messages' && body && model !== undefined) {
    const out = Buffer.from(JSON.stringify(anthropicToChatRequest(body.json, model)));
    return { wire: 'openai', path: pathOf('chat.completions'), headers: headersOf({ accept: body.stream ? 'text/event-stream' : 'application/json' }, out), body: out };
  }
  if (!isOpenAIEndpoint(route.endpoint)) throw new Error('unreachable: a native ingress on an OpenAI-wire upstream');
  const out = body ? translateRequest(body, bodyModel, route.endpoint).body : undefined;
  return { wire: 'openai', path: pathOf(route.endpoint), headers: headersOf(request.headers, out), ...(out ? { body: out } : {}) };
}
