import type { Cache } from './types.js';

export interface LruCacheOptions {
  /** Entries beyond this evict the least recently used one. */
  maxEntries: number;
  /** Milliseconds clock; injected so tests can move time. */
  now?: () => number;
}

interface Entry {
  value: string;
  expiresAt: number;
}

/**
 * In-process LRU with a TTL per entry. A Map keeps insertion order, so
 * re-inserting on access makes the first key the least recently used.
 */
export class LruCache implements Cache {
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: LruCacheOptions) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new RangeError('maxEntries must be a positive integer');
    }
    this.maxEntries = options.maxEntries;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  async get(key: string): Promise<string | undefined> {
    return this.getSync(key);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.setSync(key, value, ttlMs);
  }

  async delete(key: string): Promise<void> {
    this.entries.delete(key);
  }

  getSync(key: string): string | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= this.now()) return undefined;
    this.entries.set(key, entry);
    return entry.value;
  }

  setSync(key: string, value: string, ttlMs: number): void {
    this.entries.delete(key);
    if (!(ttlMs > 0)) return; // a non-positive TTL means "do not cache"
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }
}
