import { configuredCredential, type ProviderAdapter } from '../../upstream/adapter.js';
import type { Endpoint } from '../../upstream/endpoints.js';
import { GatewayError } from '../../upstream/errors.js';
import { callOpenAIWire } from '../openai/call.js';
import { openaiWire } from '../openai/plan.js';
import { azureHeaders, azurePath, AZURE_DEFAULT_API_VERSION } from './api.js';
import { mapAzureError } from './errors.js';

const ENDPOINTS: ReadonlySet<Endpoint> = new Set<Endpoint>(['chat.completions', 'responses', 'embeddings', 'completions', 'models', 'anthropic.messages']);

/**
 * Azure OpenAI: OpenAI's bodies on deployment-scoped paths with `api-key`. The deployment is
 * the resolved model name unless X-Sluice-Azure-Deployment names one; the Responses API
 * (not deployment-scoped on Azure) gets it as the body's `model`.
 */
export const azureOpenAIAdapter: ProviderAdapter = {
  name: 'azure-openai',
  providers: ['azure-openai'],
  serves: ({ endpoint }) => ENDPOINTS.has(endpoint),
  credential: configuredCredential,
  plan(request) {
    const { target, route, model } = request;
    const deployment = target.azure?.deployment ?? model;
    const apiVersion = target.azure?.apiVersion ?? AZURE_DEFAULT_API_VERSION;
    const bodyModel = route.endpoint === 'responses' ? deployment : model;
    return openaiWire(request, bodyModel, (endpoint) => azurePath(endpoint, deployment, apiVersion), (headers, out) => azureHeaders(headers, request.credential, out));
  },
  call: (deps, state, sentAt) =>
    callOpenAIWire(deps, state, sentAt, (status, text, headers) => {
      const error = mapAzureError(status, text);
      return new GatewayError(error.status, error.message, error.type, error.code, error.param, headers);
    }),
};
