import { keyBenchOf, keyHash, keyId } from '../routing/key-bench.js';
import type { ProxyConfig } from '../stores/types.js';
import type { resolveCredential } from '../upstream/adapter.js';
import type { GatewayError } from '../upstream/errors.js';
import type { UpstreamTarget } from '../upstream/target.js';
import type { UpstreamPlan } from '../upstream/types.js';
import type { AttemptKit } from './attempts.js';
import type { GatewayDeps, RequestState } from './types.js';

/*
 * Key rotation (a target with several `--credential`s, docs/providers.md "Key rotation").
 * Loaded with import() only for such targets (plugins/routing.ts, attempts.ts): nothing of
 * it is evaluated at Lambda init. What it uses of the gateway is injected, not imported (a
 * static import from here would make esbuild split those modules into a shared chunk,
 * whose glue costs init bytes).
 */

/** The gateway functions choosing a key needs (plugins/routing.ts passes its own imports). */
export interface RotationKit {
  resolveCredential: typeof resolveCredential;
  GatewayError: typeof GatewayError;
}

/** Every key of a target in rotation is benched: the client's answer (docs/providers.md "Key rotation"). */
export function keysBenched(kit: RotationKit, retryAfterMs: number): GatewayError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new kit.GatewayError(
    503,
    `Every provider key of this upstream is benched after 401 or 429 answers; retry in ${seconds} s.`,
    'api_error',
    'upstream_keys_benched',
    null,
    { 'retry-after': String(seconds) },
  );
}

/**
 * The target with one live key of its rotation chosen (`credentialRef` set), and that
 * key's bench identity; a target without a rotation is returned as it is. Keys are
 * resolved to hash them (the resolver caches); a key no one can read is left out.
 * All benched (or unreadable): a 503 `upstream_keys_benched` with Retry-After — thrown,
 * except for the proxy's own upstream on a request that has later targets (`state`):
 * there it comes back as `benched`, so the plan exists (the policy plugin judges it) and
 * attempts.ts skips it for the next target.
 */
export async function chooseKey(kit: RotationKit, deps: GatewayDeps, target: UpstreamTarget, state: RequestState): Promise<{ target: UpstreamTarget; key?: { hash: string; id: string }; benched?: GatewayError }> {
  const refs = target.credentialRefs;
  if (!refs || refs.length < 2 || target.callerCredential) return { target };
  const bench = keyBenchOf(deps);
  const secrets = await Promise.all(refs.map((ref) => kit.resolveCredential(deps, ref).catch((err: unknown) => (err instanceof kit.GatewayError ? undefined : Promise.reject(err)))));
  const hashes = secrets.map((s) => (s === undefined ? '' : keyHash(s)));
  const live = bench.order(refs.join('\u0000'), hashes).filter((i) => secrets[i] !== undefined);
  const chosen = live[0];
  if (chosen === undefined) {
    if (secrets.every((s) => s === undefined)) return { target: { ...target, credentialRef: refs[0]! } };
    const soonest = Math.min(...hashes.filter((h) => h !== '').map((h) => bench.benchedUntil(h)).filter((u) => u > 0));
    const benched = keysBenched(kit, Number.isFinite(soonest) ? soonest - deps.now() : 1000);
    const routing = state.proxy?.routing;
    if (target === state.target && target.via === 'proxy' && (routing?.fallbacks?.length || routing?.balance)) return { target: { ...target, credentialRef: refs[0]! }, benched };
    throw benched;
  }
  return { target: { ...target, credentialRef: refs[chosen]! }, key: { hash: hashes[chosen]!, id: keyId(secrets[chosen]!) } };
}

/** The rotated key served: its 429 streak ends. */
export function keyServed(deps: GatewayDeps, key: { hash: string }): void {
  keyBenchOf(deps).served(key.hash);
}

/** At most this many keys of one target's rotation are tried for one request. */
const MAX_ROTATIONS = 8;

/**
 * The key of this attempt was answered 401 or 429: it is benched (401 for 10 min, 429 for
 * the answer's Retry-After, or a doubling backoff without one), and the same target is
 * re-planned with its next live key, which attempts.ts tries at once. A GatewayError:
 * every key of the target is benched (503 `upstream_keys_benched`). Undefined: this was
 * the request's `rotated`-th key and no more are tried (the failure takes its usual course).
 */
export async function nextKey(
  kit: Pick<AttemptKit, 'planTarget' | 'GatewayError' | 'retryAfterMs'>,
  deps: GatewayDeps,
  state: RequestState,
  key: { hash: string },
  failed: GatewayError,
  status: number,
  replan: { models: Pick<ProxyConfig, 'modelAliases' | 'allowedModels'>; target: UpstreamTarget },
  rotated: number,
): Promise<UpstreamPlan | GatewayError | undefined> {
  if (status === 401) keyBenchOf(deps).refused(key.hash);
  else keyBenchOf(deps).limited(key.hash, kit.retryAfterMs(failed.headers, deps.now()));
  if (rotated >= MAX_ROTATIONS) return undefined;
  try {
    const plan = await kit.planTarget(deps, state, replan.models, replan.target);
    return plan.benched ?? plan;
  } catch (err) {
    if (err instanceof kit.GatewayError) return err;
    throw err;
  }
}
