/**
 * The response cache's store contract (issue #20). One interface, several implementations
 * (embedded memory/file locally, Valkey/ElastiCache, DynamoDB with TTL), injected into the
 * cache plugin, so the same plugin runs in Lambda, a container, locally and in tests.
 *
 * Keys are scoped: every entry belongs to one org and one proxy, so `sluice cache purge
 * --proxy ID` can empty a proxy's entries (Redis: one key prefix; DynamoDB: one partition).
 * `digest` is the hex SHA-256 of everything else that makes up the cache key
 * (functions/cache/key.ts): ingress format, endpoint, target, upstream body, and the
 * credential fingerprint on BYOK proxies. `sluice cache purge --key ID` names a digest.
 */
export interface CacheKey {
  orgId: string;
  proxyId: string;
  /** 64 lowercase hex characters. */
  digest: string;
}

export interface CachedAnswer {
  /** Milliseconds since the epoch when the answer was stored. */
  storedAt: number;
  /**
   * Milliseconds since the epoch after which the entry is dead. Stores' own expiry (Redis
   * PX, DynamoDB TTL) is only housekeeping: DynamoDB deletes days late and dynalite never,
   * so every read compares this with the injected clock and treats a dead entry as a miss.
   */
  expiresAt: number;
  /** gzip of the stored answer (functions/cache/answer.ts); at most MAX_ENTRY_BYTES. */
  payload: Uint8Array;
}

/** Entries are at most 1 MiB after gzip; a larger answer is not stored (trace: `too_large`). */
export const MAX_ENTRY_BYTES = 1024 * 1024;

export interface ResponseCacheStore {
  /** The live entry, or undefined (absent or dead). May reject; callers bound the wait. */
  get(key: CacheKey): Promise<CachedAnswer | undefined>;
  /** Stores or replaces the entry. Refuses (rejects) payloads over MAX_ENTRY_BYTES. */
  set(key: CacheKey, entry: CachedAnswer): Promise<void>;
  /** Deletes one entry (digest given) or all of a proxy's entries; resolves to how many. */
  purge(scope: { orgId: string; proxyId: string; digest?: string }): Promise<number>;
}
