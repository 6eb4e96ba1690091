import { keyBenchOf, keyHash, keyId } from '../routing/key-bench.js';
import { resolveCredential } from '../upstream/adapter.js';
import { GatewayError } from '../upstream/errors.js';
import type { UpstreamTarget } from '../upstream/target.js';
import type { GatewayDeps } from './types.js';

/** Every key of a target in rotation is benched: the client's answer (docs/providers.md "Key rotation"). */
export function keysBenched(retryAfterMs: number): GatewayError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new GatewayError(
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
 * All benched (or unreadable): a 503 `upstream_keys_benched` with Retry-After.
 */
export async function chooseKey(deps: GatewayDeps, target: UpstreamTarget): Promise<{ target: UpstreamTarget; key?: { hash: string; id: string } }> {
  const refs = target.credentialRefs;
  if (!refs || refs.length < 2 || target.callerCredential) return { target };
  const bench = keyBenchOf(deps);
  const secrets = await Promise.all(refs.map((ref) => resolveCredential(deps, ref).catch((err: unknown) => (err instanceof GatewayError ? undefined : Promise.reject(err)))));
  const hashes = secrets.map((s) => (s === undefined ? '' : keyHash(s)));
  const live = bench.order(refs.join('\u0000'), hashes).filter((i) => secrets[i] !== undefined);
  const chosen = live[0];
  if (chosen === undefined) {
    if (secrets.every((s) => s === undefined)) return { target: { ...target, credentialRef: refs[0]! } };
    const soonest = Math.min(...hashes.filter((h) => h !== '').map((h) => bench.benchedUntil(h)).filter((u) => u > 0));
    throw keysBenched(Number.isFinite(soonest) ? soonest - deps.now() : 1000);
  }
  return { target: { ...target, credentialRef: refs[chosen]! }, key: { hash: hashes[chosen]!, id: keyId(secrets[chosen]!) } };
}
