import { SsrfError } from '../../net/index.js';
import { adapterFor } from '../../providers/registry.js';
import type { UpstreamPlan, UpstreamWire } from '../../upstream/types.js';
import type { UpstreamTarget } from '../../upstream/target.js';
import type { ProxyConfig } from '../../stores/types.js';
import { badGateway, badRequest, forbidden, GatewayError } from '../../upstream/errors.js';
import { resolveCredential } from '../../upstream/adapter.js';
import { parseRequestBody } from '../request-body.js';
import { traceparentOf } from '../../traces/otlp/trace-context.js';
import type { Endpoint } from '../routes.js';
import type { GatewayDeps, Plugin, RequestState } from '../types.js';
import { describeTarget, selectUpstream } from '../upstream-selection.js';

/**
 * routing — the request's upstream (the proxy's, or one picked per request where the
 * proxy allows it): body validation, model aliases and the allow-list, the provider
 * credential (configured or BYOK; Bedrock uses the function's IAM role), an SSRF-checked
 * target address, and the request translated into the provider's API.
 */
export function routingPlugin(deps: GatewayDeps): Plugin {
  return {
    name: 'routing',
    async before(state: RequestState) {
      const { route, proxy } = state;
      if (route.kind !== 'openai' || !proxy) return;
      const target = await selectUpstream(deps, proxy, state.sluiceHeaders, state.providerKey, state.callerAws);
      state.target = target;
      if (target.via !== 'proxy') state.trace.set({ upstream: describeTarget(target) });
      const adapter = adapterFor(target.provider);
      if (!adapter) throw badRequest(`Provider '${target.provider}' is not available in this release.`, 'unsupported_provider');
      // GET /models on an allow-listed proxy is answered by the gateway itself (call-model.ts).
      const answeredHere = route.endpoint === 'models' && !!proxy.allowedModels?.length;
      // On the trace as soon as known, so a request refused below (endpoint, model, credential) keeps them.
      state.trace.set({ provider: target.provider, endpoint: route.endpoint });
      if (!adapter.serves(route) && !answeredHere) {
        throw badRequest(`The ${describe(route.endpoint)} is not available for provider '${target.provider}'; see docs/providers.md for what each provider serves.`, 'unsupported_endpoint');
      }

      if (route.endpoint !== 'models') {
        state.body = parseRequestBody(route.endpoint, state.rawBody);
        const modelRequested = route.ingress === 'bedrock' ? route.modelId : state.body.model;
        state.trace.set({ modelRequested, modelResolved: modelRequested === undefined ? undefined : (proxy.modelAliases?.[modelRequested] ?? modelRequested), stream: state.body.stream ?? false });
      }
      state.upstream = await planTarget(deps, state, proxy, target, answeredHere);
      const { modelRequested, modelResolved } = state.upstream;
      state.trace.set({ provider: target.provider, endpoint: route.endpoint, modelRequested, modelResolved, stream: state.body?.stream ?? false });
    },
    // A configured credential the upstream refused (401) is not reused from any cache.
    onError(state: RequestState) {
      const plan = state.upstream;
      if (!plan || state.target?.callerCredential || state.trace.record.attributes.status !== 401) return;
      adapterFor(plan.provider)?.refused?.(deps, plan);
    },
  };
}

/**
 * One request planned for one target: the model after `models`' aliases (the proxy the
 * target belongs to) and its allow-list, the target's address SSRF-checked, its credential
 * and the request translated into its provider's API. Used for the proxy's own upstream
 * and for each fallback target (functions/gateway/attempts.ts).
 */
export async function planTarget(deps: GatewayDeps, state: RequestState, models: Pick<ProxyConfig, 'modelAliases' | 'allowedModels'>, given: UpstreamTarget, answeredHere = false): Promise<UpstreamPlan> {
  const { route } = state;
  if (route.kind !== 'openai') throw new Error('planTarget reached for a route that is not a model call');
  const adapter = adapterFor(given.provider);
  if (!adapter) throw badRequest(`Provider '${given.provider}' is not available in this release.`, 'unsupported_provider');
  if (!answeredHere && !adapter.serves(route)) throw badRequest(`The ${describe(route.endpoint)} is not available for provider '${given.provider}'.`, 'unsupported_endpoint');
  let modelRequested: string | undefined;
  let modelResolved: string | undefined;
  if (route.endpoint !== 'models' && state.body) {
    modelRequested = route.ingress === 'bedrock' ? route.modelId : state.body.model;
    modelResolved = modelRequested === undefined ? undefined : (models.modelAliases?.[modelRequested] ?? modelRequested);
    if (modelResolved !== undefined && models.allowedModels?.length && !models.allowedModels.includes(modelResolved)) {
      throw forbidden(`Model '${modelRequested}' is not allowed on this proxy.`, 'model_not_allowed');
    }
  }
  // The target's address first (a 400 for a target missing what its provider needs), then its credential.
  const baseUrl = adapter.baseUrl?.(deps, given) ?? given.baseUrl;
  // Several keys in rotation: one live key for this attempt (a 503 when all are benched); loaded only for such targets.
  const { target, key, benched } = answeredHere || !given.credentialRefs ? { target: given } : await (await import('../key-rotation.js')).chooseKey({ resolveCredential, GatewayError }, deps, given, state);
  const credential = answeredHere ? undefined : await adapter.credential(deps, target);
  let checked;
  try {
    checked = await deps.upstreamGuard.check(baseUrl, { allowPrivateNetwork: target.allowPrivateNetwork });
  } catch (err) {
    if (err instanceof SsrfError) throw badGateway(`The proxy's upstream address is not allowed: ${err.message}`, 'upstream_blocked');
    throw err;
  }
  const wire: UpstreamWire = answeredHere
    ? { wire: 'openai', path: '', headers: {} }
    : adapter.plan({ route, ...(state.body ? { body: state.body } : {}), headers: state.headers, target, ...(credential !== undefined ? { credential } : {}), ...(modelResolved !== undefined ? { model: modelResolved } : {}) });
  // W3C trace context for the upstream: the request span as the parent of its call (HTTP wires; Bedrock goes through the SDK).
  const otel = state.trace.record.otel;
  if (otel && wire.wire !== 'bedrock' && !answeredHere) wire.headers = { ...wire.headers, traceparent: traceparentOf(otel) };
  return {
    provider: target.provider,
    target: checked,
    method: route.method,
    ...wire,
    ...(modelRequested !== undefined ? { modelRequested } : {}),
    ...(modelResolved !== undefined ? { modelResolved } : {}),
    key,
    benched,
  };
}

function describe(endpoint: Endpoint): string {
  if (endpoint.startsWith('anthropic.')) return 'native Anthropic Messages endpoint';
  if (endpoint.startsWith('bedrock.')) return 'native Bedrock Converse endpoint';
  return `'${endpoint}' endpoint`;
}

