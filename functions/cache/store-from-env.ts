import { MemoryResponseStore } from './memory-store.js';
import type { ResponseCacheStore } from './store.js';

/**
 * The response cache's store for this runtime. Today: the embedded memory store, bounded
 * by SLUICE_RESPONSE_CACHE_MAX_BYTES (default 64 MiB) and SLUICE_RESPONSE_CACHE_MAX_ENTRIES
 * (default 10,000). Remote stores (Valkey, DynamoDB) are chosen here too, loaded lazily.
 * Nothing connects here: stores open on first use.
 */
export function responseCacheFromEnv(env: NodeJS.ProcessEnv, now: () => number = Date.now): ResponseCacheStore {
  return new MemoryResponseStore({
    now,
    maxBytes: positive(env.SLUICE_RESPONSE_CACHE_MAX_BYTES, 64 * 1024 * 1024),
    maxEntries: positive(env.SLUICE_RESPONSE_CACHE_MAX_ENTRIES, 10_000),
  });
}

function positive(value: string | undefined, fallback: number): number {
  const n = value === undefined ? NaN : Number(value);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}
