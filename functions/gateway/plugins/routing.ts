import { OPENAI_FAMILY, upstreamHeaders } from '../../providers/openai/api.js';
import { translateRequest } from '../../providers/openai/request.js';
import { anthropicHeaders, ANTHROPIC_PATHS } from '../../providers/anthropic/api.js';
import { toAnthropicRequest } from '../../providers/anthropic/request.js';
import { toBedrockAnthropicBody, toBedrockCountTokensBody } from '../../providers/anthropic/bedrock.js';
import { anthropicToChatRequest } from '../../providers/anthropic-ingress/request.js';
import { responsesToChatRequest } from '../../providers/responses/request.js';
import { toConverseRequest } from '../../providers/bedrock/request.js';
import { toEmbeddingCalls } from '../../providers/bedrock/embeddings.js';
import { isAnthropicModel } from '../../providers/bedrock/api.js';
import { clientsOf } from '../../providers/bedrock/call.js';
import { regionalBaseUrl } from '../../providers/bedrock/transport.js';
import { geminiHeaders, geminiPath } from '../../providers/gemini/api.js';
import { geminiBodyFor } from '../../providers/gemini/request.js';
import { toGeminiEmbedRequest } from '../../providers/gemini/embeddings.js';
import { gcpOf, vertexBaseUrl } from '../../providers/vertex/api.js';
import { createGoogleTokenSource, vertexAccessToken, type GoogleTokenSource } from '../../providers/vertex/auth.js';
import { vertexRequest } from '../../providers/vertex/plan.js';
import { azureHeaders, azurePath, AZURE_DEFAULT_API_VERSION } from '../../providers/azure-openai/api.js';
import { SsrfError } from '../../net/index.js';
import { badGateway, badRequest, forbidden, GatewayError } from '../errors.js';
import { parseRequestBody } from '../request-body.js';
import { isOpenAIEndpoint, OPENAI_PATHS, type Endpoint, type OpenAIEndpoint, type Route } from '../routes.js';
import type { GatewayDeps, Plugin, RequestState, UpstreamPlan } from '../types.js';
import { describeTarget, selectUpstream } from '../upstream-selection.js';
import type { UpstreamTarget } from '../upstream-target.js';
import type { ProviderName } from '../../stores/types.js';

type ModelRoute = Extract<Route, { kind: 'openai' }>;

/** Providers grouped by the translator that serves them. */
type Family = 'openai-family' | 'anthropic' | 'bedrock' | 'azure-openai' | 'gemini' | 'vertex';

/** What each provider serves, by the endpoint the client called (docs/providers.md has the table). */
const SUPPORTED: Record<Family, ReadonlySet<Endpoint>> = {
  'openai-family': new Set<Endpoint>(['chat.completions', 'responses', 'embeddings', 'completions', 'models', 'anthropic.messages']),
  anthropic: new Set<Endpoint>(['chat.completions', 'responses', 'anthropic.messages', 'anthropic.count_tokens']),
  bedrock: new Set<Endpoint>(['chat.completions', 'responses', 'embeddings', 'bedrock.converse', 'bedrock.converse-stream', 'anthropic.messages', 'anthropic.count_tokens']),
  gemini: new Set<Endpoint>(['chat.completions', 'responses', 'embeddings', 'anthropic.messages']),
  vertex: new Set<Endpoint>(['chat.completions', 'responses', 'embeddings', 'anthropic.messages', 'anthropic.count_tokens']),
  'azure-openai': new Set<Endpoint>(['chat.completions', 'responses', 'embeddings', 'completions', 'models', 'anthropic.messages']),
};

function familyOf(provider: ProviderName): Family | undefined {
  if (OPENAI_FAMILY.has(provider)) return 'openai-family';
  if (provider === 'anthropic' || provider === 'bedrock' || provider === 'azure-openai' || provider === 'gemini' || provider === 'vertex') return provider;
  return undefined;
}

/** The wire piece of an upstream plan: what to send, and the format the answer comes in. */
type Wire = Pick<UpstreamPlan, 'path' | 'headers' | 'body' | 'wire'>;

/**
 * routing — the request's upstream (the proxy's, or one picked per request where the
 * proxy allows it): body validation, model aliases and the allow-list, the provider
 * credential (configured or BYOK; Bedrock uses the function's IAM role), an SSRF-checked
 * target address, and the request translated into the provider's API.
 */
export function routingPlugin(deps: Pick<GatewayDeps, 'credentials' | 'upstreamGuard' | 'bedrock' | 'googleTokens'>): Plugin {
  const googleTokens = deps.googleTokens ?? createGoogleTokenSource({ guard: deps.upstreamGuard });
  return {
    name: 'routing',
    async before(state: RequestState) {
      const { route, proxy } = state;
      if (route.kind !== 'openai' || !proxy) return;
      const target = await selectUpstream(deps, proxy, state.sluiceHeaders, state.providerKey);
      state.target = target;
      if (target.via !== 'proxy') state.trace.set({ upstream: describeTarget(target) });
      const family = familyOf(target.provider);
      if (!family) throw badRequest(`Provider '${target.provider}' is not available in this release.`, 'unsupported_provider');
      // A model list: the allow-list where one is set; Anthropic's own list for the Anthropic SDK on an Anthropic proxy.
      const allowedHere = route.endpoint === 'models' && (proxy.allowedModels?.length || (family === 'anthropic' && route.ingress === 'anthropic'));
      if (!SUPPORTED[family].has(route.endpoint) && !allowedHere) {
        throw badRequest(`The ${describe(route.endpoint)} is not available for provider '${target.provider}'; see docs/providers.md for what each provider serves.`, 'unsupported_endpoint');
      }

      let modelRequested: string | undefined;
      let modelResolved: string | undefined;
      if (route.endpoint !== 'models') {
        state.body = parseRequestBody(route.endpoint, state.rawBody);
        modelRequested = route.ingress === 'bedrock' ? route.modelId : state.body.model;
        modelResolved = modelRequested === undefined ? undefined : (proxy.modelAliases?.[modelRequested] ?? modelRequested);
        if (modelResolved !== undefined && proxy.allowedModels?.length && !proxy.allowedModels.includes(modelResolved)) {
          throw forbidden(`Model '${modelRequested}' is not allowed on this proxy.`, 'model_not_allowed');
        }
      }

      // Vertex: project and location first (a 400 when missing), before any token is fetched.
      const gcp = family === 'vertex' ? gcpOf(target) : undefined;
      const credential = await credentialFor(deps, googleTokens, family, target);
      let checked;
      try {
        const baseUrl = family === 'bedrock' ? regionalBaseUrl(target.baseUrl, clientsOf(deps).defaultRegion) : gcp ? vertexBaseUrl(target, gcp.location) : target.baseUrl;
        checked = await deps.upstreamGuard.check(baseUrl, { allowPrivateNetwork: target.allowPrivateNetwork });
      } catch (err) {
        if (err instanceof SsrfError) throw badGateway(`The proxy's upstream address is not allowed: ${err.message}`, 'upstream_blocked');
        throw err;
      }
      const wire = gcp ? vertexWire(route, state, gcp, credential ?? '', modelResolved) : family === 'azure-openai' ? azureRequest(route, state, target, credential, modelResolved) : upstreamRequest(family, route, state, credential, modelResolved);
      state.upstream = {
        provider: target.provider,
        target: checked,
        method: route.method,
        ...wire,
        ...(modelRequested !== undefined ? { modelRequested } : {}),
        ...(modelResolved !== undefined ? { modelResolved } : {}),
      };
      state.trace.set({ provider: target.provider, endpoint: route.endpoint, modelRequested, modelResolved, stream: state.body?.stream ?? false });
    },
    // A service-account token Vertex refused (401: revoked before its expiry) is not reused.
    onError(state: RequestState) {
      const plan = state.upstream;
      if (plan?.provider !== 'vertex' || state.target?.callerCredential || state.trace.record.attributes.status !== 401) return;
      const token = /^Bearer (\S+)$/.exec(plan.headers.authorization ?? '')?.[1];
      if (token) googleTokens.forget(token);
    },
  };
}

function upstreamRequest(family: Family, route: ModelRoute, state: RequestState, credential: string | undefined, model: string | undefined): Wire {
  const body = state.body;
  if (family === 'openai-family') return openaiWire(route, state, model, model, (endpoint) => OPENAI_PATHS[endpoint], (headers, out) => upstreamHeaders(headers, credential, out));
  if (route.endpoint === 'models') {
    // Anthropic's list for the Anthropic SDK; other lists here are the allow-list, answered by the gateway itself.
    if (family === 'anthropic' && route.ingress === 'anthropic' && !state.proxy?.allowedModels?.length) return { wire: 'anthropic', path: ANTHROPIC_PATHS.models, headers: anthropicHeaders(state.headers, credential, undefined, false) };
    return { wire: family === 'anthropic' ? 'anthropic' : family === 'gemini' ? 'gemini' : 'bedrock', path: '', headers: {} };
  }
  if (!body || model === undefined) throw new Error('unreachable: a model call without a body');
  if (family === 'gemini') {
    // Gemini API: chat, Responses and Anthropic Messages through generateContent; embeddings through batchEmbedContents.
    const embed = route.endpoint === 'embeddings';
    const out = Buffer.from(JSON.stringify(embed ? toGeminiEmbedRequest(body.json, model) : geminiBodyFor(route.endpoint, route.ingress, body.json, model)));
    const method = embed ? 'batchEmbedContents' : body.stream ? 'streamGenerateContent' : 'generateContent';
    return { wire: 'gemini', path: geminiPath(model, method), headers: geminiHeaders(credential, out, body.stream), body: out };
  }
  if (family === 'anthropic') {
    if (route.ingress === 'anthropic') {
      // Native Messages: passed through, re-serialized only for an aliased model.
      const out = model === body.model ? body.raw : Buffer.from(JSON.stringify({ ...body.json, model }));
      const path = route.endpoint === 'anthropic.count_tokens' ? ANTHROPIC_PATHS.countTokens : ANTHROPIC_PATHS.messages;
      return { wire: 'anthropic', path, headers: anthropicHeaders(state.headers, credential, out, body.stream), body: out };
    }
    const out = Buffer.from(JSON.stringify(toAnthropicRequest(asChat(route, body.json), model)));
    return { wire: 'anthropic', path: ANTHROPIC_PATHS.messages, headers: anthropicHeaders(state.headers, credential, out, body.stream), body: out };
  }
  // Bedrock: sent through the AWS SDK (path and headers are the SDK's). Native Anthropic
  // Messages go to InvokeModel as Claude-on-Bedrock bodies; everything else is a Converse input.
  if (route.ingress === 'anthropic' && !isAnthropicModel(model)) {
    // Other Bedrock models: Messages → chat → Converse, answered back in Anthropic's format.
    if (route.endpoint === 'anthropic.count_tokens') throw badRequest(`count_tokens on a Bedrock proxy is served for Anthropic models only; '${model}' is not one.`, 'unsupported_model', 'model');
    return { wire: 'bedrock', path: '', headers: {}, body: Buffer.from(JSON.stringify(toConverseRequest(anthropicToChatRequest(body.json, model), model))) };
  }
  if (route.ingress === 'anthropic') {
    const translate = route.endpoint === 'anthropic.count_tokens' ? toBedrockCountTokensBody : toBedrockAnthropicBody;
    return { wire: 'bedrock', path: '', headers: {}, body: Buffer.from(JSON.stringify(translate(body.json, state.headers['anthropic-beta']))) };
  }
  if (route.endpoint === 'embeddings') return { wire: 'bedrock', path: '', headers: {}, body: Buffer.from(JSON.stringify(toEmbeddingCalls(body.json, model))) };
  const input = route.ingress === 'bedrock' ? { ...body.json, modelId: model } : toConverseRequest(asChat(route, body.json), model);
  return { wire: 'bedrock', path: '', headers: {}, body: Buffer.from(JSON.stringify(input)) };
}

/**
 * Azure OpenAI: OpenAI's bodies on deployment-scoped paths with `api-key`. The deployment is
 * the resolved model name unless X-Sluice-Azure-Deployment names one; the Responses API
 * (not deployment-scoped on Azure) gets it as the body's `model`.
 */
function azureRequest(route: ModelRoute, state: RequestState, target: UpstreamTarget, credential: string | undefined, model: string | undefined): Wire {
  const deployment = target.azure?.deployment ?? model;
  const apiVersion = target.azure?.apiVersion ?? AZURE_DEFAULT_API_VERSION;
  const bodyModel = route.endpoint === 'responses' ? deployment : model;
  return openaiWire(route, state, model, bodyModel, (endpoint) => azurePath(endpoint, deployment, apiVersion), (headers, out) => azureHeaders(headers, credential, out));
}

/**
 * OpenAI's wire on a provider's paths and headers (the OpenAI family's, Azure OpenAI's):
 * OpenAI bodies passed through with `bodyModel`; the Anthropic ingress's Messages
 * translated to chat.completions.
 */
function openaiWire(
  route: ModelRoute,
  state: RequestState,
  model: string | undefined,
  bodyModel: string | undefined,
  pathOf: (endpoint: OpenAIEndpoint) => string,
  headersOf: (clientHeaders: Record<string, string>, body: Buffer | undefined) => Record<string, string>,
): Wire {
  const body = state.body;
  if (route.endpoint === 'anthropic.messages' && body && model !== undefined) {
    const out = Buffer.from(JSON.stringify(anthropicToChatRequest(body.json, model)));
    return { wire: 'openai', path: pathOf('chat.completions'), headers: headersOf({ accept: body.stream ? 'text/event-stream' : 'application/json' }, out), body: out };
  }
  if (!isOpenAIEndpoint(route.endpoint)) throw new Error('unreachable: a native ingress on an OpenAI-wire upstream');
  const out = body ? translateRequest(body, bodyModel, route.endpoint).body : undefined;
  return { wire: 'openai', path: pathOf(route.endpoint), headers: headersOf(state.headers, out), ...(out ? { body: out } : {}) };
}

/** Vertex: Claude models on rawPredict (wire anthropic), Gemini models on generateContent (wire gemini). */
function vertexWire(route: ModelRoute, state: RequestState, gcp: { project: string; location: string }, accessToken: string, model: string | undefined): Wire {
  const body = state.body;
  // GET /models on an allow-listed proxy is answered by the gateway itself.
  if (!body || model === undefined) return { wire: 'gemini', path: '', headers: {} };
  return vertexRequest({ endpoint: route.endpoint, ingress: route.ingress, json: body.json, stream: body.stream, clientHeaders: state.headers, model, gcp, accessToken });
}

/** The Responses API on providers without one: its request as the chat request the translators take. */
function asChat(route: ModelRoute, json: Record<string, unknown>): Record<string, unknown> {
  return route.endpoint === 'responses' ? responsesToChatRequest(json) : json;
}

function describe(endpoint: Endpoint): string {
  if (endpoint.startsWith('anthropic.')) return 'native Anthropic Messages endpoint';
  if (endpoint.startsWith('bedrock.')) return 'native Bedrock Converse endpoint';
  return `'${endpoint}' endpoint`;
}

/**
 * The credential that goes upstream. Bedrock signs with the function's IAM role: no
 * provider key is read or forwarded. Vertex: an OAuth token, the caller's or one exchanged
 * for the service-account key. Others: the caller's (BYOK), else the configured one.
 */
async function credentialFor(deps: Pick<GatewayDeps, 'credentials'>, googleTokens: GoogleTokenSource, family: Family, target: UpstreamTarget): Promise<string | undefined> {
  if (family === 'bedrock') return undefined;
  const resolve = (ref: string) => resolveCredential(deps, ref);
  if (family === 'vertex') return vertexAccessToken(target, resolve, googleTokens);
  return target.callerCredential ?? (target.credentialRef ? resolve(target.credentialRef) : undefined);
}

async function resolveCredential(deps: Pick<GatewayDeps, 'credentials'>, ref: string): Promise<string> {
  try {
    return await deps.credentials.resolve(ref);
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw badGateway(`The provider credential could not be read: ${(err as Error).message}`, 'upstream_credential_missing');
  }
}

