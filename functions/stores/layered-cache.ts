import type { Logger } from '../observability/logger.js';
import type { Cache } from './types.js';

/** A value with its remaining lifetime. */
export interface CacheEntry {
  value: string;
  ttlMs: number;
}

/** A layer that can tell how long a value has left, so upper layers are refilled for exactly that long. */
export interface EntryCache extends Cache {
  getEntry(key: string): Promise<CacheEntry | undefined>;
}

export interface CacheLayer {
  /** For counters and logs: `memory`, `redis`, `dynamodb`. */
  name: string;
  cache: Cache;
  /** Give up on a call after this long and fall through; absent for in-process layers. */
  timeoutMs?: number;
}

export interface LayerStats {
  hits: number;
  misses: number;
  /** Calls that failed or timed out and fell through to the next layer. */
  failures: number;
  /** Calls not even tried because the layer's breaker was open. */
  skipped: number;
}

export interface LayeredCacheOptions {
  logger?: Pick<Logger, 'warn'>;
  now?: () => number;
  /** TTL for refilling upper layers from a layer that cannot tell the remaining TTL. */
  backfillTtlMs?: number;
  /** After this many consecutive failures a layer is skipped for `breakerCooldownMs`. */
  breakerFailures?: number;
  breakerCooldownMs?: number;
}

interface LayerState {
  stats: LayerStats;
  consecutiveFailures: number;
  openUntil: number;
  lastWarnAt: number;
}

const FAILED = Symbol('failed');

/**
 * Cache layers tried in order (in-process LRU → Redis → DynamoDB, as configured). A
 * read returns the first hit and refills the layers above it that answered "absent";
 * writes and deletes go to every layer. A remote layer that errs or does not answer
 * within its timeout is counted and skipped for that call — the cache never fails a
 * request — and after a few consecutive failures it is left alone for a short
 * cooldown, so a dead Redis costs the request path nothing instead of a timeout per call.
 */
export class LayeredCache implements Cache {
  private readonly layers: CacheLayer[];
  private readonly state: LayerState[];
  private readonly logger: Pick<Logger, 'warn'> | undefined;
  private readonly now: () => number;
  private readonly backfillTtlMs: number;
  private readonly breakerFailures: number;
  private readonly breakerCooldownMs: number;

  private readonly options: LayeredCacheOptions;

  constructor(layers: CacheLayer[], options: LayeredCacheOptions = {}, sharedState?: LayerState[]) {
    if (layers.length === 0) throw new RangeError('a layered cache needs at least one layer');
    this.layers = layers;
    this.options = options;
    this.state = sharedState ?? layers.map(() => ({ stats: { hits: 0, misses: 0, failures: 0, skipped: 0 }, consecutiveFailures: 0, openUntil: 0, lastWarnAt: -Infinity }));
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.backfillTtlMs = options.backfillTtlMs ?? 60_000;
    this.breakerFailures = options.breakerFailures ?? 3;
    this.breakerCooldownMs = options.breakerCooldownMs ?? 1000;
  }

  /**
   * The same stack without some layers (sharing their counters and breakers), e.g. session
   * links, which live in DynamoDB already and gain nothing from a DynamoDB cache layer.
   * Undefined when no layer would remain.
   */
  without(...names: string[]): Cache | undefined {
    const keep = this.layers.map((layer, i) => ({ layer, state: this.state[i]! })).filter(({ layer }) => !names.includes(layer.name));
    if (keep.length === this.layers.length) return this;
    if (keep.length === 0) return undefined;
    return new LayeredCache(keep.map((k) => k.layer), this.options, keep.map((k) => k.state));
  }

  /** Counters per layer name. */
  stats(): Record<string, LayerStats> {
    return Object.fromEntries(this.layers.map((l, i) => [l.name, { ...this.state[i]!.stats }]));
  }

  async get(key: string): Promise<string | undefined> {
    const missed: number[] = []; // layers that answered "absent": refilled on a hit below them
    for (let i = 0; i < this.layers.length; i++) {
      const layer = this.layers[i]!;
      const entry = await this.call(i, () => readEntry(layer.cache, key));
      if (entry === FAILED) continue;
      const stats = this.state[i]!.stats;
      if (entry === undefined) {
        stats.misses++;
        missed.push(i);
        continue;
      }
      stats.hits++;
      const ttl = entry.ttlMs ?? this.backfillTtlMs;
      await Promise.all(missed.map((j) => this.call(j, () => this.layers[j]!.cache.set(key, entry.value, ttl))));
      return entry.value;
    }
    return undefined;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await Promise.all(this.layers.map((layer, i) => this.call(i, () => layer.cache.set(key, value, ttlMs))));
  }

  async delete(key: string): Promise<void> {
    await Promise.all(this.layers.map((layer, i) => this.call(i, () => layer.cache.delete(key))));
  }

  /** Runs one layer call within its timeout; FAILED (counted, logged) instead of throwing. */
  private async call<T>(index: number, op: () => Promise<T>): Promise<T | typeof FAILED> {
    const layer = this.layers[index]!;
    const st = this.state[index]!;
    if (st.openUntil > this.now()) {
      st.stats.skipped++;
      return FAILED;
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      const pending = op();
      const result =
        layer.timeoutMs === undefined
          ? await pending
          : await Promise.race([
              pending,
              new Promise<never>((_, reject) => {
                timer = setTimeout(() => reject(new Error(`no answer within ${layer.timeoutMs} ms`)), layer.timeoutMs);
              }),
            ]);
      st.consecutiveFailures = 0;
      return result;
    } catch (err) {
      st.stats.failures++;
      if (++st.consecutiveFailures >= this.breakerFailures) st.openUntil = this.now() + this.breakerCooldownMs;
      const now = this.now();
      if (now - st.lastWarnAt >= 10_000) {
        st.lastWarnAt = now;
        this.logger?.warn('cache layer unavailable: falling through', { layer: layer.name, error: (err as Error).message, failures: st.stats.failures });
      }
      return FAILED;
    } finally {
      clearTimeout(timer);
    }
  }
}

async function readEntry(cache: Cache, key: string): Promise<{ value: string; ttlMs?: number } | undefined> {
  if ('getEntry' in cache && typeof cache.getEntry === 'function') return (cache as EntryCache).getEntry(key);
  const value = await cache.get(key);
  return value === undefined ? undefined : { value };
}
