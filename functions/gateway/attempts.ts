import { setTimeout as sleep } from 'node:timers/promises';
import { CircuitBreakers } from '../routing/breaker.js';
import { weightedOrder } from '../routing/balance.js';
import { DEFAULT_RETRIES, DEFAULT_RETRY_ON, nextStep } from '../routing/retry-policy.js';
import type { ProxyConfig, RoutingConfig } from '../stores/types.js';
import { toUpstreamError } from '../upstream/client.js';
import { GatewayError, gatewayTimeout } from '../upstream/errors.js';
import { proxyTarget, type UpstreamTarget } from '../upstream/target.js';
import type { CallDeps, UpstreamPlan } from '../upstream/types.js';
import { firstChunk, ObserverGate } from './first-chunk.js';
import { requestStage } from './plugins/policy.js';
import { planTarget } from './plugins/routing.js';
import type { GatewayDeps, GatewayResponse, RequestState } from './types.js';
import { namedTarget } from './upstream-selection.js';

/** In-process breakers, one set per handler's deps (functions/routing/breaker.ts). */
const breakerSets = new WeakMap<GatewayDeps, CircuitBreakers>();
export function breakersOf(deps: GatewayDeps): CircuitBreakers {
  if (deps.breakers) return deps.breakers;
  let set = breakerSets.get(deps);
  if (!set) breakerSets.set(deps, (set = new CircuitBreakers(() => deps.now())));
  return set;
}

/** No retry or next target starts with less than this left of the upstream deadline. */
const RESERVE_MS = 2_000;

/** One upstream attempt as the trace records it (`attempts[]`): never a credential. */
export interface AttemptRecord {
  target: string;
  provider?: string;
  status?: number;
  latencyMs?: number;
  error?: string;
  /** Not tried: why (`policy_denied`, `stored_credential`, `unavailable`, …). */
  skipped?: string;
}

/**
 * The model call with the proxy's retries and fallback targets (docs/providers.md):
 * each target is tried with backoff on the statuses in `retryOn`; when it is exhausted,
 * answers `insufficient_quota` or asks for a wait over 5 s, the next target is planned
 * for the same request (its provider, aliases, allow-list and credential) and tried.
 * Everything happens before the client gets a status line; the served attempt's plan
 * stays on `state.upstream`, so spend settles for it. A request that picked its upstream
 * with X-Sluice-Upstream is never re-routed.
 */
export async function callWithRetries(deps: GatewayDeps, state: RequestState, call: (deps: GatewayDeps, elsewhereMs: number) => Promise<GatewayResponse>): Promise<GatewayResponse> {
  const proxy = state.proxy!;
  const routing = proxy.routing ?? {};
  const retries = routing.retries ?? DEFAULT_RETRIES;
  const retryOn = routing.retryOn ?? DEFAULT_RETRY_ON;
  const rerouted = state.target?.via === 'proxy';
  const primaryName = state.target?.name ?? proxy.id;
  const primaryPlan = state.upstream!;
  const balanced = rerouted && routing.balance ? weightedOrder(routing.balance) : [primaryName];
  const order = [...balanced, ...(rerouted ? (routing.fallbacks ?? []) : []).filter((n) => !balanced.includes(n))];
  const attempts: AttemptRecord[] = [];
  const evaluated = new Set<string>([policyKey(state.upstream!)]);
  const callerRequest = !!(state.target?.callerCredential || state.target?.callerAws);
  const breakers = breakersOf(deps);
  const deadline = state.startedAt + deps.upstreamDeadlineMs - RESERVE_MS;
  let waitedMs = 0;
  /** Time of earlier attempts spent upstream or waiting to retry: not the gateway's overhead (X-Sluice-Overhead-Ms). */
  let elsewhereMs = 0;
  let lastError: GatewayError | undefined;
  let denied: GatewayError | undefined;
  const finish = () => {
    state.attempts = attempts.filter((a) => !a.skipped).length;
    state.trace.set({ attempts, servedBy: state.servedBy });
  };

  for (let index = 0; index < order.length; index++) {
    const name = order[index]!;
    const primary = name === primaryName;
    const named = primary ? state.target?.via === 'named' : !!proxy.upstreams && Object.hasOwn(proxy.upstreams, name);
    const breaker = named ? `${proxy.id}/${name}` : name;
    if (index > 0 && deps.now() > deadline) break;
    // An open breaker skips its target at no cost while another target remains; the last one is tried regardless.
    if (index < order.length - 1 && !breakers.allow(breaker)) {
      attempts.push({ target: name, skipped: 'breaker_open' });
      continue;
    }
    let callDeps = withTimeouts(deps, routing.timeouts);
    if (primary) state.upstream = primaryPlan;
    else {
      const planned = await planFallback(deps, state, proxy, name, callerRequest).catch((err: unknown) => {
        if (err instanceof GatewayError) return { skipped: err.code ?? 'unavailable' };
        throw err;
      });
      if ('skipped' in planned) {
        breakers.release(breaker);
        attempts.push({ target: name, skipped: planned.skipped });
        continue;
      }
      state.upstream = planned.plan;
      callDeps = withTimeouts(deps, planned.timeouts);
      const key = policyKey(planned.plan);
      if (!evaluated.has(key)) {
        evaluated.add(key);
        try {
          await requestStage(deps, state);
        } catch (err) {
          if (!(err instanceof GatewayError)) throw err;
          denied = err;
          breakers.release(breaker);
          attempts.push({ target: name, provider: planned.plan.provider, skipped: err.status === 409 ? 'policy_hold' : 'policy_denied' });
          continue;
        }
      }
    }
    for (let retried = 0; ; retried++) {
      const started = deps.now();
      // The model call sets the upstream's own status here once its status line arrives.
      delete state.trace.record.attributes.status;
      // While a later target remains, the status line waits for the body's first chunk, and
      // the plugins' observers see this attempt only once it is committed (first-chunk.ts).
      const gate = index < order.length - 1 ? new ObserverGate(state.observers.slice()) : undefined;
      const observers = gate ? state.observers.splice(0, state.observers.length, gate) : undefined;
      delete state.usage;
      delete state.firstByteAt;
      try {
        const response = await call(callDeps, elsewhereMs);
        if (gate) {
          await heldUntilFirstChunk(state, response, gate, (callDeps as CallDeps).upstreamFirstByteTimeoutMs, started, deps.now);
          gate.openOn(typeof response.body === 'string' ? undefined : response.body);
        }
        attempts.push({ target: name, provider: state.upstream!.provider, status: response.statusCode, latencyMs: round(deps.now() - started) });
        state.servedBy = name;
        breakers.record(breaker, true);
        finish();
        return response;
      } catch (err) {
        if (!(err instanceof GatewayError)) throw err;
        elsewhereMs += deps.now() - started;
        // The upstream's status (500, 529, 307 …) decides, not the client status it maps to; refused connections and timeouts have the gateway's 502 / 504.
        const told = state.trace.record.attributes.status;
        const status = typeof told === 'number' ? told : err.status;
        attempts.push({ target: name, provider: state.upstream!.provider, status, latencyMs: round(deps.now() - started), error: err.code ?? err.type });
        lastError = err;
        const step = nextStep({ status, code: err.code, type: err.type, headers: err.headers }, { retried, retries, retryOn, waitedMs });
        // Only the upstream failing counts against it: never a 4xx (a 429 is the key's limit, not the target's health).
        if (status >= 500) breakers.record(breaker, false);
        if (step.action === 'fail') {
          finish();
          throw err;
        }
        if (step.action === 'next' || deps.now() + step.waitMs > deadline) break;
        waitedMs += step.waitMs;
        elsewhereMs += step.waitMs;
        await sleep(step.waitMs);
      } finally {
        if (observers) state.observers.splice(0, state.observers.length, ...observers);
      }
    }
  }
  finish();
  throw lastError ?? denied ?? new GatewayError(502, 'No target of this proxy could be tried.', 'api_error', 'upstream_error');
}

/**
 * Waits for the body's first chunk before the status line is committed: a body that
 * fails (stalls past the idle timeout, is cut, or ends without its terminal event) or
 * sends nothing within the target's first-byte timeout (counted from sending) is thrown
 * as the attempt's error, so it fails over like a failed status line. The upstream's 200
 * is then not the attempt's status: the error's 502 / 504 is.
 */
async function heldUntilFirstChunk(state: RequestState, response: GatewayResponse, gate: ObserverGate, firstByteMs: number | undefined, started: number, now: () => number): Promise<void> {
  if (typeof response.body === 'string') return;
  const body = response.body;
  const outcome = await firstChunk(body, gate, firstByteMs ? started + firstByteMs - now() : undefined);
  if (outcome === 'data') return;
  body.on('error', () => undefined);
  body.destroy();
  delete state.trace.record.attributes.status;
  if (outcome === 'timeout') throw gatewayTimeout(`Upstream sent no body within ${firstByteMs} ms.`);
  throw toUpstreamError(gate.endedEarly?.error ?? new Error('upstream body failed before its first byte'));
}

/** A fallback target planned for this request, or why it is skipped. */
async function planFallback(deps: GatewayDeps, state: RequestState, proxy: ProxyConfig, name: string, callerRequest: boolean): Promise<{ plan: UpstreamPlan; timeouts: Timeouts | undefined } | { skipped: string }> {
  const callerKey = state.target?.callerCredential;
  const callerAws = state.target?.callerAws;
  let target: UpstreamTarget;
  let models: Pick<ProxyConfig, 'modelAliases' | 'allowedModels'> = proxy;
  if (proxy.upstreams && Object.hasOwn(proxy.upstreams, name)) target = namedTarget(proxy.upstreams[name]!, name, callerKey, callerAws);
  else {
    const other = await deps.store.getProxy(name);
    if (!other || other.orgId !== proxy.orgId) return { skipped: 'unknown_target' };
    // One level only: the other proxy's own fallbacks are ignored.
    target = { ...proxyTarget(other, other.byok ? callerKey : undefined, other.byok && other.provider === 'bedrock' ? callerAws : undefined), name };
    models = other;
  }
  const usesCaller = !!(target.callerCredential || target.callerAws);
  // A caller's own credential never falls back to a stored one, nor a stored one to a caller's the request lacks.
  if (callerRequest && !usesCaller) return { skipped: 'stored_credential' };
  if (!callerRequest && !target.credentialRef && (models as ProxyConfig).byok) return { skipped: 'needs_caller_credential' };
  return { plan: await planTarget(deps, state, models, target), timeouts: models === proxy ? proxy.routing?.timeouts : (models as ProxyConfig).routing?.timeouts };
}

type Timeouts = NonNullable<RoutingConfig['timeouts']>;

/** The deps a target's call is made with: its own timeouts over the gateway's. */
function withTimeouts(deps: GatewayDeps, t: Timeouts | undefined): GatewayDeps {
  if (!t) return deps;
  return {
    ...deps,
    ...(t.idleMs ? { upstreamIdleTimeoutMs: t.idleMs } : {}),
    ...(t.totalMs ? { upstreamDeadlineMs: Math.min(t.totalMs, deps.upstreamDeadlineMs) } : {}),
    ...(t.connectMs ? { upstreamConnectTimeoutMs: t.connectMs } : {}),
    ...(t.firstByteMs ? { upstreamFirstByteTimeoutMs: t.firstByteMs } : {}),
  };
}

function policyKey(plan: UpstreamPlan): string {
  return `${plan.provider}\u0000${plan.modelResolved ?? ''}`;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
