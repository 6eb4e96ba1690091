import { setTimeout as sleep } from 'node:timers/promises';
import { CircuitBreakers } from '../routing/breaker.js';
import { DEFAULT_RETRIES, DEFAULT_RETRY_ON, nextStep, retryAfterMs } from '../routing/retry-policy.js';
import type { ProxyConfig } from '../stores/types.js';
import { toUpstreamError } from '../upstream/client.js';
import { GatewayError, gatewayTimeout } from '../upstream/errors.js';
import { proxyTarget, type UpstreamTarget } from '../upstream/target.js';
import type { CallDeps } from '../upstream/types.js';
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

/**
 * What the lazily loaded parts (fallback-target.ts, key-rotation.ts, first-chunk.ts) use of
 * the gateway, passed in rather than imported there: a static import from a lazy module
 * makes esbuild split a shared chunk, whose glue costs Lambda init bytes.
 */
const kit = { planTarget, requestStage, namedTarget, proxyTarget, GatewayError, toUpstreamError, gatewayTimeout, retryAfterMs };
export type AttemptKit = typeof kit;
const rotation = () => import('./key-rotation.js');

/** One upstream attempt as the trace records it (`attempts[]`): never a credential. */
export interface AttemptRecord {
  target: string;
  provider?: string;
  status?: number;
  latencyMs?: number;
  error?: string;
  /** The rotated provider key used: the 8-char SHA-256 prefix, never the key. */
  key?: string;
  /** Not tried: why (`policy_denied`, `stored_credential`, `unavailable`, …). */
  skipped?: string;
  /** A skip's explanation, where there is one (the policy's deny reasons). */
  reason?: string;
}

/**
 * The model call with the proxy's retries and fallback targets (docs/providers.md):
 * each target is tried with backoff on the statuses in `retryOn`; when it is exhausted,
 * answers `insufficient_quota` or asks for a wait over 5 s, the next target is planned
 * for the same request (its provider, aliases, allow-list and credential) and tried.
 * Everything happens before the client gets a status line; the served attempt's plan
 * stays on `state.upstream`, so spend settles for it. A request that picked its upstream
 * with X-Sluice-Upstream is never re-routed.
 *
 * What only some requests need is loaded with import() on first use, not at Lambda init:
 * weighted order (balance.ts), planning a later target (fallback-target.ts), key rotation
 * (key-rotation.ts).
 */
export async function callWithRetries(deps: GatewayDeps, state: RequestState, call: (deps: GatewayDeps, elsewhereMs: number) => Promise<GatewayResponse>): Promise<GatewayResponse> {
  const proxy = state.proxy!;
  const routing = proxy.routing ?? {};
  const retries = routing.retries ?? DEFAULT_RETRIES;
  const retryOn = routing.retryOn ?? DEFAULT_RETRY_ON;
  const rerouted = state.target?.via === 'proxy';
  const primaryName = state.target?.name ?? proxy.id;
  const primaryPlan = state.upstream!;
  const balanced = rerouted && routing.balance ? (await import('../routing/balance.js')).weightedOrder(routing.balance) : [primaryName];
  const order = [...balanced, ...(rerouted ? (routing.fallbacks ?? []) : []).filter((n) => !balanced.includes(n))];
  const attempts: AttemptRecord[] = [];
  // The (provider, resolved model) pairs whose request-stage policy ran, with its deny if it denied (fallback-target.ts adds the policy plugin's, for the primary plan).
  const evaluated = new Map<string, GatewayError | undefined>();
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
    // The own upstream with every key benched is skipped (key-rotation.ts); an open breaker skips its target at no
    // cost while another target remains, the last one is tried regardless.
    // The policy plugin denied the own plan: skipped, the deny answers when no other target serves.
    if (primary && state.primaryDenied) {
      denied = state.primaryDenied;
      attempts.push({ target: name, provider: primaryPlan.provider, skipped: 'policy_denied', reason: denied.message });
      continue;
    }
    const skipped = primary && primaryPlan.benched ? 'upstream_keys_benched' : index < order.length - 1 && !breakers.allow(breaker) ? 'breaker_open' : '';
    if (skipped) {
      lastError ??= primaryPlan.benched;
      attempts.push({ target: name, skipped });
      continue;
    }
    // A proxy's own timeouts (--timeout-*) over the gateway's: target-timeouts.ts, loaded only for such proxies.
    let callDeps = routing.timeouts ? (await import('./target-timeouts.js')).withTimeouts(deps, routing.timeouts) : deps;
    // What a re-plan with another key of the target's rotation needs.
    let replan: { models: Pick<ProxyConfig, 'modelAliases' | 'allowedModels'>; target: UpstreamTarget } | undefined = state.target ? { models: proxy, target: state.target } : undefined;
    if (primary) state.upstream = primaryPlan;
    else {
      const planned = await (await import('./fallback-target.js')).planFallback(kit, deps, state, proxy, name, evaluated, primaryPlan);
      if ('skipped' in planned) {
        if (planned.denied) denied = planned.denied;
        breakers.release(breaker);
        attempts.push({ target: name, ...(planned.provider ? { provider: planned.provider } : {}), skipped: planned.skipped, ...(planned.denied ? { reason: planned.denied.message } : {}) });
        continue;
      }
      state.upstream = planned.plan;
      replan = { models: planned.models, target: planned.target };
      callDeps = planned.callDeps;
    }
    let rotated = 0;
    for (let retried = 0; ; retried++) {
      const started = deps.now();
      // The model call sets the upstream's own status here once its status line arrives.
      delete state.trace.record.attributes.status;
      // While a later target remains, the status line waits for the body's first chunk, and
      // the plugins' observers see this attempt only once it is committed (first-chunk.ts, loaded only then).
      const held = index < order.length - 1 ? (await import('./first-chunk.js')).holdAttempt(kit, state, deps.now) : undefined;
      try {
        const response = await call(callDeps, elsewhereMs);
        await held?.commit(response, (callDeps as CallDeps).upstreamFirstByteTimeoutMs, started);
        const key = state.upstream!.key;
        attempts.push({ target: name, provider: state.upstream!.provider, status: response.statusCode, latencyMs: round(deps.now() - started), key: key?.id });
        if (key) (await rotation()).keyServed(deps, key);
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
        const key = state.upstream!.key;
        attempts.push({ target: name, provider: state.upstream!.provider, status, latencyMs: round(deps.now() - started), error: err.code ?? err.type, key: key?.id });
        lastError = err;
        // A key answered 401 or 429 is benched, and the same target is tried at once with another live key of its rotation.
        if (key && replan && (status === 401 || status === 429)) {
          const next = await (await rotation()).nextKey(kit, deps, state, key, err, status, replan, ++rotated);
          if (next && !(next instanceof GatewayError)) {
            state.upstream = next;
            retried--;
            continue;
          }
          // Every key benched: the next target, or this answer when none is left.
          if (next) {
            lastError = next;
            break;
          }
        }
        // A Retry-After the gateway only hints to the client (Bedrock's) is not waited for: the backoff is.
        const step = nextStep({ status, code: err.code, type: err.type, headers: err.retryAfterHint ? {} : err.headers }, { retried, retries, retryOn, waitedMs });
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
        held?.release();
      }
    }
  }
  finish();
  throw lastError ?? denied ?? new GatewayError(502, 'No target of this proxy could be tried.', 'api_error', 'upstream_error');
}


function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
