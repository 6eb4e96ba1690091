import type { AdapterDeps, ProviderAdapter } from '../../upstream/adapter.js';
import { badRequest } from '../../upstream/errors.js';
import type { Endpoint } from '../../upstream/endpoints.js';
import { toBedrockAnthropicBody, toBedrockCountTokensBody } from '../anthropic/bedrock.js';
import { anthropicToChatRequest } from '../anthropic-ingress/request.js';
import { responsesToChatRequest } from '../responses/request.js';
import { isAnthropicModel } from './api.js';
import { callBedrock, clientsOf } from './call.js';
import { toEmbeddingCalls } from './embeddings.js';
import { toConverseRequest } from './request.js';
import { regionalBaseUrl, type BedrockClients } from './transport.js';

/** What the Bedrock adapter needs beyond the common deps: the Runtime clients (absent: built from the environment). */
export type BedrockDeps = AdapterDeps & { bedrock?: BedrockClients };

const ENDPOINTS: ReadonlySet<Endpoint> = new Set<Endpoint>(['chat.completions', 'responses', 'embeddings', 'bedrock.converse', 'bedrock.converse-stream', 'anthropic.messages', 'anthropic.count_tokens']);

/**
 * Amazon Bedrock through the AWS SDK with the function's IAM role (no provider key is
 * read or forwarded; path and headers are the SDK's). Native Anthropic Messages go to
 * InvokeModel as Claude-on-Bedrock bodies; everything else is a Converse input.
 */
export const bedrockAdapter: ProviderAdapter<BedrockDeps> = {
  name: 'bedrock',
  providers: ['bedrock'],
  serves: ({ endpoint }) => ENDPOINTS.has(endpoint),
  baseUrl: (deps, target) => regionalBaseUrl(target.baseUrl, clientsOf(deps).defaultRegion),
  credential: async () => undefined,
  plan({ route, body, headers, model }) {
    if (!body || model === undefined) throw new Error('unreachable: a model call without a body');
    const json = (value: unknown) => ({ wire: 'bedrock' as const, path: '', headers: {}, body: Buffer.from(JSON.stringify(value)) });
    if (route.ingress === 'anthropic' && !isAnthropicModel(model)) {
      // Other Bedrock models: Messages → chat → Converse, answered back in Anthropic's format.
      if (route.endpoint === 'anthropic.count_tokens') throw badRequest(`count_tokens on a Bedrock proxy is served for Anthropic models only; '${model}' is not one.`, 'unsupported_model', 'model');
      return json(toConverseRequest(anthropicToChatRequest(body.json, model), model));
    }
    if (route.ingress === 'anthropic') {
      const translate = route.endpoint === 'anthropic.count_tokens' ? toBedrockCountTokensBody : toBedrockAnthropicBody;
      return json(translate(body.json, headers['anthropic-beta']));
    }
    if (route.endpoint === 'embeddings') return json(toEmbeddingCalls(body.json, model));
    if (route.ingress === 'bedrock') return json({ ...body.json, modelId: model });
    return json(toConverseRequest(route.endpoint === 'responses' ? responsesToChatRequest(body.json) : body.json, model));
  },
  call: (deps, state, sentAt) => callBedrock(deps, state, sentAt),
};
