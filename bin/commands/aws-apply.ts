import { writeLine, type CliIo, type StoreCommandDeps } from './args.js';
import type { AwsTarget } from './aws-target.js';

/**
 * What a change made with `--aws` means for the deployed gateway: how long it takes to
 * apply (the caches of docs/configuration.md, "When a change applies"), the secret names
 * the gateway may read, and the cache entries the CLI can drop itself.
 */

/** The gateway's identity and proxy cache TTL when nothing overrides it (SLUICE_AUTH_CACHE_TTL_MS). */
export const AUTH_CACHE_TTL_TEXT = '5 minutes';
/** How long a gateway container reuses budget and rate-limit definitions (the spend plugin's definitionsTtlMs). */
export const SPEND_DEFINITIONS_TTL_TEXT = '5 seconds';

/** One line, printed after the change succeeded, saying when the deployed gateway sees it. */
export const APPLIES_IN_AWS = {
  proxy:
    `In AWS this applies within ${AUTH_CACHE_TTL_TEXT} (SLUICE_AUTH_CACHE_TTL_MS): a gateway container that served the proxy keeps its cached copy (memory, and Redis when the cache is on) until then; new containers see it at once.`,
  keyRevoked:
    `In AWS a container that accepted the key in the last ${AUTH_CACHE_TTL_TEXT} (SLUICE_AUTH_CACHE_TTL_MS) may still accept it until its cached identity (memory, and Redis when the cache is on) expires; everywhere else it is refused at once.`,
  keyCreated: 'In AWS the key works at once (a key the gateway has not seen is always read from the table).',
  spend: `In AWS this applies within ${SPEND_DEFINITIONS_TTL_TEXT}: each gateway container rereads budgets and limits that often.`,
} as const;

/** The cache keys (before the cache layer's own `cache:` prefix) the gateway stores a key's identity and a proxy under, in AWS. */
export const authCacheKey = (keyHash: string) => `auth:${keyHash}`;
export const proxyCacheKey = (proxyId: string) => `proxy:${proxyId}`;

/**
 * Why `--credential secret:…` would fail in the deployed stack, or undefined when it is
 * readable: the gateway's role reads only secrets named `<prefix>…` in its own Region
 * (the `ProviderSecretPrefix` output). An ARN is judged by the name it carries.
 */
export function secretRefProblem(ref: string, target: Pick<AwsTarget, 'providerSecretPrefix' | 'region'>): string | undefined {
  if (!ref.startsWith('secret:')) return undefined;
  const id = ref.slice('secret:'.length);
  const prefix = target.providerSecretPrefix;
  const arn = /^arn:[^:]+:secretsmanager:([^:]*):[^:]*:secret:(.+)$/.exec(id);
  const name = arn ? arn[2]! : id;
  if (arn && arn[1] !== target.region) {
    return `${ref}: the gateway reads secrets in its own Region (${target.region}) only; put the key in a secret named ${prefix}<name> there`;
  }
  if (!name.startsWith(prefix) || name.length === prefix.length) {
    return `${ref}: the deployed gateway may read only secrets named ${prefix}<name> (stack output ProviderSecretPrefix); store the key as secret:${prefix}<name>`;
  }
  return undefined;
}

/**
 * Deletes entries of the DynamoDB cache layer (the state table's `cache:<key>` items, used
 * when SLUICE_CACHE_LAYERS names dynamodb; deleting an absent one is a no-op). Memory and
 * Redis layers live inside the stack's network and are out of the CLI's reach.
 */
export async function forgetCachedEntries(target: Pick<AwsTarget, 'stateTable' | 'region'>, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  const [{ DynamoDBClient }, { DynamoCache }] = await Promise.all([import('@aws-sdk/client-dynamodb'), import('../../functions/stores/dynamodb-cache.js')]);
  const client = new DynamoDBClient({ region: target.region });
  try {
    const cache = new DynamoCache({ client, tableName: target.stateTable });
    for (const key of keys) await cache.delete(key);
  } finally {
    client.destroy();
  }
}

/**
 * After a change made with `--aws`: drops the DynamoDB cache layer's copies the change
 * makes stale and prints when the deployed gateway applies it (on stdout, or stderr when
 * stdout carries `--json`). A failed delete is only a warning: the change is made, and the
 * entry expires with its TTL.
 */
export async function reportAwsChange(
  io: CliIo,
  deps: Pick<StoreCommandDeps, 'aws' | 'forgetCached'>,
  change: { note: string; staleCacheKeys?: string[]; json?: boolean },
): Promise<void> {
  if (!deps.aws) return;
  const stale = change.staleCacheKeys ?? [];
  if (stale.length > 0 && deps.forgetCached) {
    try {
      await deps.forgetCached(stale);
    } catch (err) {
      writeLine(io.stderr, `Warning: could not delete the cached copies in the state table (${(err as Error).message}); they expire within ${AUTH_CACHE_TTL_TEXT}.`);
    }
  }
  writeLine(change.json ? io.stderr : io.stdout, change.note);
}
