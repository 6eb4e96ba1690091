import { keyString } from './key.js';
import { MAX_ENTRY_BYTES, type CacheKey, type CachedAnswer, type ResponseCacheStore } from './store.js';

export interface MemoryStoreOptions {
  /** Total payload bytes held (default 64 MiB). */
  maxBytes?: number;
  /** Entries held (default 10,000). */
  maxEntries?: number;
  /** Epoch ms (injected, for TTL tests). */
  now?: () => number;
}

interface Held {
  key: CacheKey;
  entry: CachedAnswer;
}

/**
 * The embedded response store (local runtime, one process): bounded in payload bytes and
 * in entries. When full, the least recently used entries are evicted to make room; a dead
 * entry is dropped when read. Reads and writes never fail.
 */
export class MemoryResponseStore implements ResponseCacheStore {
  private readonly map = new Map<string, Held>();
  private bytes = 0;
  readonly maxBytes: number;
  readonly maxEntries: number;
  private readonly now: () => number;

  constructor(opts: MemoryStoreOptions = {}) {
    this.maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.map.size;
  }

  get heldBytes(): number {
    return this.bytes;
  }

  async get(key: CacheKey): Promise<CachedAnswer | undefined> {
    const id = keyString(key);
    const held = this.map.get(id);
    if (!held) return undefined;
    this.map.delete(id);
    if (held.entry.expiresAt <= this.now()) {
      this.bytes -= held.entry.payload.byteLength;
      return undefined;
    }
    // Re-inserted: the Map's order is the recency order.
    this.map.set(id, held);
    return held.entry;
  }

  async set(key: CacheKey, entry: CachedAnswer): Promise<void> {
    const size = entry.payload.byteLength;
    if (size > MAX_ENTRY_BYTES) throw new Error(`cache entry of ${size} bytes is over the ${MAX_ENTRY_BYTES}-byte limit`);
    if (size > this.maxBytes) return;
    const id = keyString(key);
    this.drop(id);
    while (this.map.size > 0 && (this.map.size >= this.maxEntries || this.bytes + size > this.maxBytes)) {
      this.drop(this.map.keys().next().value!);
    }
    this.map.set(id, { key, entry });
    this.bytes += size;
  }

  async purge(scope: { orgId: string; proxyId: string; digest?: string }): Promise<number> {
    let n = 0;
    for (const [id, held] of this.map) {
      if (held.key.orgId !== scope.orgId || held.key.proxyId !== scope.proxyId) continue;
      if (scope.digest !== undefined && held.key.digest !== scope.digest) continue;
      this.drop(id);
      n++;
    }
    return n;
  }

  private drop(id: string): void {
    const held = this.map.get(id);
    if (!held) return;
    this.map.delete(id);
    this.bytes -= held.entry.payload.byteLength;
  }
}
