import type { CacheKey } from './store.js';

/**
 * One org+proxy as a key segment: every character outside `[A-Za-z0-9_.-]` is escaped as
 * `%XX`, so a segment never holds the separator, a Redis hash-tag brace or a glob
 * character (`*?[]\`) and `SCAN MATCH <prefix>*` matches exactly one proxy's keys.
 */
export function scopeSegment(scope: { orgId: string; proxyId: string }): string {
  return `${escapeSegment(scope.orgId)}:${escapeSegment(scope.proxyId)}`;
}

function escapeSegment(value: string): string {
  return value.replace(/[^A-Za-z0-9_.-]/g, (c) =>
    [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

const DIGEST = /^[0-9a-f]{64}$/;

/** Refuses a digest that is not 64 lowercase hex characters (store.ts's contract). */
export function assertDigest(digest: string): void {
  if (!DIGEST.test(digest)) throw new Error('cache key digest must be 64 lowercase hex characters');
}

export function assertKey(key: CacheKey): void {
  assertDigest(key.digest);
}

/** The error every store rejects an oversized entry with (the plugin records `too_large`). */
export class CacheEntryTooLargeError extends Error {
  constructor(readonly bytes: number, readonly limit: number) {
    super(`cache entry of ${bytes} bytes is over the store's limit of ${limit} bytes`);
    this.name = 'CacheEntryTooLargeError';
  }
}
