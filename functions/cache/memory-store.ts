import { MAX_ENTRY_BYTES, type CacheKey, type CachedAnswer, type ResponseCacheStore } from './store.js';
import { CacheEntryTooLargeError, assertDigest, assertKey, scopeSegment } from './scope-key.js';

/**
 * The embedded response cache (local runtime, tests): in-process, bounded by total payload
 * bytes; when full, the least recently used entries are evicted. Dead entries are misses.
 */
export interface MemoryResponseCacheStoreOptions {
  /** @default 64 MiB */
  maxBytes?: number;
  now?: () => number;
}

export class MemoryResponseCacheStore implements ResponseCacheStore {
  private readonly entries = new Map<string, CachedAnswer>();
  private bytes = 0;
  private readonly maxBytes: number;
  private readonly now: () => number;

  constructor(options: MemoryResponseCacheStoreOptions = {}) {
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.now = options.now ?? Date.now;
  }

  async get(key: CacheKey): Promise<CachedAnswer | undefined> {
    assertKey(key);
    const id = idOf(key);
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (!(entry.expiresAt > this.now())) {
      this.remove(id);
      return undefined;
    }
    this.entries.delete(id); // most recently used last
    this.entries.set(id, entry);
    return entry;
  }

  async set(key: CacheKey, entry: CachedAnswer): Promise<void> {
    assertKey(key);
    const limit = Math.min(MAX_ENTRY_BYTES, this.maxBytes);
    if (entry.payload.byteLength > limit) throw new CacheEntryTooLargeError(entry.payload.byteLength, limit);
    const id = idOf(key);
    this.remove(id);
    if (!(entry.expiresAt > this.now())) return;
    this.entries.set(id, entry);
    this.bytes += entry.payload.byteLength;
    for (const oldest of this.entries.keys()) {
      if (this.bytes <= this.maxBytes) break;
      this.remove(oldest);
    }
  }

  async purge(scope: { orgId: string; proxyId: string; digest?: string }): Promise<number> {
    if (scope.digest !== undefined) {
      assertDigest(scope.digest);
      return this.remove(idOf({ ...scope, digest: scope.digest })) ? 1 : 0;
    }
    const prefix = `${scopeSegment(scope)}/`;
    let n = 0;
    for (const id of [...this.entries.keys()]) if (id.startsWith(prefix) && this.remove(id)) n++;
    return n;
  }

  private remove(id: string): boolean {
    const old = this.entries.get(id);
    if (!old) return false;
    this.entries.delete(id);
    this.bytes -= old.payload.byteLength;
    return true;
  }
}

const idOf = (key: CacheKey) => `${scopeSegment(key)}/${key.digest}`;
