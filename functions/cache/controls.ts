import { badRequest } from '../upstream/errors.js';
import { MAX_TTL_SECONDS } from './config.js';

/** What one request asks of the cache. */
export interface CacheControls {
  /** `use`: look up, store a miss; `refresh` (Cache-Control: no-cache): skip the lookup, store the answer; `bypass` (no-store): neither. */
  mode: 'use' | 'refresh' | 'bypass';
  /** The TTL for this request: the proxy's, or a lower X-Sluice-Cache-Ttl. Also the oldest entry this request accepts. */
  ttlSeconds: number;
}

export const CACHE_TTL_HEADER = 'x-sluice-cache-ttl';

/**
 * `Cache-Control` (no-store wins over no-cache; other directives are ignored) and
 * `X-Sluice-Cache-Ttl` (whole seconds; it may lower the proxy's TTL, never raise it: a
 * larger value is the proxy's). A malformed TTL header is a 400 naming it.
 */
export function cacheControlsOf(headers: Record<string, string>, proxyTtlSeconds: number): CacheControls {
  const directives = (headers['cache-control'] ?? '')
    .toLowerCase()
    .split(',')
    .map((d) => d.trim().split('=')[0]);
  const mode = directives.includes('no-store') ? 'bypass' : directives.includes('no-cache') ? 'refresh' : 'use';
  let ttlSeconds = proxyTtlSeconds;
  const text = headers[CACHE_TTL_HEADER];
  if (text !== undefined) {
    const n = Number(text.trim());
    if (!/^\d{1,9}$/.test(text.trim()) || n < 1) {
      throw badRequest(`X-Sluice-Cache-Ttl must be a whole number of seconds from 1 to ${MAX_TTL_SECONDS}.`, 'invalid_cache_ttl', CACHE_TTL_HEADER);
    }
    ttlSeconds = Math.min(n, proxyTtlSeconds);
  }
  return { mode, ttlSeconds };
}
