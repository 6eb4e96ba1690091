import type { ProxyConfig } from '../stores/types.js';
import type { GatewayError } from '../upstream/errors.js';
import type { UpstreamTarget } from '../upstream/target.js';
import type { UpstreamPlan } from '../upstream/types.js';
import type { AttemptKit } from './attempts.js';
import { withTimeouts } from './target-timeouts.js';
import type { GatewayDeps, RequestState } from './types.js';

/*
 * A fallback (or balanced) target of the proxy planned for this request — loaded by
 * functions/gateway/attempts.ts with import() only when a request goes past its first
 * target, so none of this is evaluated at Lambda init. What it uses of the gateway is
 * injected (`FallbackKit`), not imported: a static import from here would make esbuild
 * split those modules into a shared chunk, which costs init bytes for its glue.
 */

/** The gateway functions planning a fallback needs (attempts.ts passes its own imports). */
type FallbackKit = Pick<AttemptKit, 'planTarget' | 'requestStage' | 'namedTarget' | 'proxyTarget' | 'GatewayError'>;

export type FallbackPlan =
  | { plan: UpstreamPlan; callDeps: GatewayDeps; target: UpstreamTarget; models: Pick<ProxyConfig, 'modelAliases' | 'allowedModels'> }
  | { skipped: string; provider?: string; denied?: GatewayError };

/**
 * Plans target `name` of the proxy for the request and, the first time this (provider,
 * resolved model) is met (`evaluated`; `judged`: the plan the policy plugin ran on), runs the request-stage policy on it: a deny or
 * hold skips the target. Not planned (unknown, another org, BYOK rules, a planning 4xx):
 * skipped with the reason.
 */
export async function planFallback(kit: FallbackKit, deps: GatewayDeps, state: RequestState, proxy: ProxyConfig, name: string, evaluated: Map<string, GatewayError | undefined>, judged: UpstreamPlan): Promise<FallbackPlan> {
  // The policy plugin judged the proxy's own plan (and may have denied it).
  if (!evaluated.size) evaluated.set(policyKey(judged), state.primaryDenied);
  let planned: FallbackPlan;
  try {
    planned = await plan(kit, deps, state, proxy, name);
  } catch (err) {
    if (err instanceof kit.GatewayError) return { skipped: err.code ?? 'unavailable' };
    throw err;
  }
  if ('skipped' in planned) return planned;
  const key = policyKey(planned.plan);
  if (evaluated.has(key)) {
    // Evaluated once per (provider, resolved model): an earlier deny skips this target too.
    const earlier = evaluated.get(key);
    return earlier ? { skipped: 'policy_denied', provider: planned.plan.provider, denied: earlier } : planned;
  }
  evaluated.set(key, undefined);
  // The policy input's `provider` and model are the planned target's.
  const previous = state.upstream;
  state.upstream = planned.plan;
  try {
    await kit.requestStage(deps, state);
  } catch (err) {
    state.upstream = previous;
    if (!(err instanceof kit.GatewayError)) throw err;
    if (err.status === 403) evaluated.set(key, err);
    return { skipped: err.status === 409 ? 'policy_hold' : 'policy_denied', provider: planned.plan.provider, denied: err };
  }
  return planned;
}

/** The request-stage policy's identity of a plan: its provider and resolved model. */
export function policyKey(plan: UpstreamPlan): string {
  return `${plan.provider}\u0000${plan.modelResolved ?? ''}`;
}

async function plan(kit: FallbackKit, deps: GatewayDeps, state: RequestState, proxy: ProxyConfig, name: string): Promise<FallbackPlan> {
  const callerKey = state.target?.callerCredential;
  const callerAws = state.target?.callerAws;
  const callerRequest = !!(callerKey || callerAws);
  let target: UpstreamTarget;
  let models: Pick<ProxyConfig, 'modelAliases' | 'allowedModels'> = proxy;
  if (proxy.upstreams && Object.hasOwn(proxy.upstreams, name)) target = kit.namedTarget(proxy.upstreams[name]!, name, callerKey, callerAws);
  else {
    const other = await deps.store.getProxy(name);
    if (!other || other.orgId !== proxy.orgId) return { skipped: 'unknown_target' };
    // One level only: the other proxy's own fallbacks are ignored.
    target = { ...kit.proxyTarget(other, other.byok ? callerKey : undefined, other.byok && other.provider === 'bedrock' ? callerAws : undefined), name };
    models = other;
  }
  const usesCaller = !!(target.callerCredential || target.callerAws);
  // A caller's own credential never falls back to a stored one, nor a stored one to a caller's the request lacks.
  if (callerRequest && !usesCaller) return { skipped: 'stored_credential' };
  if (!callerRequest && !target.credentialRef && (models as ProxyConfig).byok) return { skipped: 'needs_caller_credential' };
  // The target's own timeouts: a named upstream's are the proxy's, another proxy's its own.
  return { target, models, plan: await kit.planTarget(deps, state, models, target), callDeps: withTimeouts(deps, (models as ProxyConfig).routing?.timeouts) };
}
