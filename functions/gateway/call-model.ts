import { anthropicModelList } from '../providers/anthropic-ingress/models.js';
import { adapterFor } from '../providers/registry.js';
import { callWithRetries } from './attempts.js';
import type { GatewayDeps, GatewayResponse, RequestState } from './types.js';

/**
 * The model call: the routed provider's adapter sends the planned request and answers as
 * soon as the upstream's status and headers arrive, with the body relayed (or translated)
 * as it comes. GET /models on an allow-listed proxy is answered here, without a call.
 */
export async function callModel(deps: GatewayDeps, state: RequestState): Promise<GatewayResponse> {
  const { route, proxy } = state;
  if (route.kind !== 'openai' || !proxy || !state.upstream) throw new Error('callModel reached without a routed request');
  if (route.endpoint === 'models' && proxy.allowedModels?.length) return allowedModelsList(proxy.allowedModels, proxy.modelAliases, proxy.id, route.ingress);

  return callWithRetries(deps, state, (deps, elsewhereMs) => {
    const adapter = adapterFor(state.upstream!.provider);
    if (!adapter) throw new Error(`callModel reached for provider '${state.upstream!.provider}' without an adapter`);
    const sentAt = deps.now();
    // The gateway's own time, earlier attempts' included, without their upstream time and retry waits.
    state.overheadMs = sentAt - state.startedAt - elsewhereMs;
    return adapter.call(deps, state, sentAt);
  });
}

function allowedModelsList(allowed: string[], aliases: Record<string, string> | undefined, ownedBy: string, ingress: string): GatewayResponse {
  const ids = new Set(allowed);
  for (const [alias, target] of Object.entries(aliases ?? {})) if (ids.has(target)) ids.add(alias);
  if (ingress === 'anthropic') return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(anthropicModelList([...ids].map((id) => ({ id })))) };
  const data = [...ids].map((id) => ({ id, object: 'model', created: 0, owned_by: ownedBy }));
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ object: 'list', data }) };
}
