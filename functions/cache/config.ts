import type { ProxyCacheConfig } from '../stores/types.js';

/** A proxy's cache TTL is at most 7 days. */
export const MAX_TTL_SECONDS = 604_800;

/**
 * A proxy's `cache` setting checked: `ttlSeconds` a whole number from 1 to 604800, `scope`
 * `proxy` or `key`. Throws an Error naming the field (the CLI and the admin API show it).
 */
export function validateCacheConfig(value: unknown): ProxyCacheConfig {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('cache must be an object with ttlSeconds');
  const { ttlSeconds, scope, ...rest } = value as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length) throw new Error(`cache has unknown field ${extra[0]}`);
  if (typeof ttlSeconds !== 'number' || !Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TTL_SECONDS) {
    throw new Error(`cache.ttlSeconds must be a whole number of seconds from 1 to ${MAX_TTL_SECONDS} (7 days)`);
  }
  if (scope !== undefined && scope !== 'proxy' && scope !== 'key') throw new Error("cache.scope must be 'proxy' or 'key'");
  return { ttlSeconds, ...(scope ? { scope } : {}) };
}

/** The proxy's cache setting when it is valid; a malformed stored one turns the cache off rather than failing requests. */
export function cacheConfigOf(proxy: { cache?: unknown } | undefined): ProxyCacheConfig | undefined {
  if (!proxy?.cache) return undefined;
  try {
    return validateCacheConfig(proxy.cache);
  } catch {
    return undefined;
  }
}
