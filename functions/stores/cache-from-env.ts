import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Logger } from '../observability/logger.js';
import { DynamoCache } from './dynamodb-cache.js';
import { LayeredCache, type CacheEntry, type CacheLayer, type EntryCache } from './layered-cache.js';
import { LruCache } from './lru-cache.js';
import { assertRedisUrl } from './redis-url.js';
import type { Cache } from './types.js';

/**
 * The cache stack the environment asks for (docs/sessions.md, "Cache layers"):
 * - `SLUICE_CACHE_LAYERS`: comma-separated, in order, from `memory`, `redis`, `dynamodb`;
 *   default: `memory`, then `redis` when `REDIS_URL` is set. The `dynamodb` layer (on the
 *   state table) is opt-in: what the gateway caches today costs one GetItem to load, the
 *   same as a DynamoDB cache hit, so by default it would only add writes;
 * - `REDIS_URL`: `redis://` or `rediss://` (TLS), credentials in the URL for AUTH;
 * - `SLUICE_CACHE_TIMEOUT_MS`: the bound on a remote layer's call (default 50).
 * No I/O happens here; the Redis layer (and ioredis) is loaded on its first call, and Redis
 * connects then: a cold start evaluates none of it.
 */
export function cacheFromEnv(env: NodeJS.ProcessEnv, logger: Pick<Logger, 'warn'>, dynamoClient?: DynamoDBClient): Cache {
  const redisUrl = env.REDIS_URL?.trim();
  const stateTable = env.SLUICE_STATE_TABLE?.trim();
  const names = env.SLUICE_CACHE_LAYERS?.trim()
    ? env.SLUICE_CACHE_LAYERS.split(',').map((n) => n.trim()).filter(Boolean)
    : ['memory', ...(redisUrl ? ['redis'] : [])];
  const timeoutMs = positive(env.SLUICE_CACHE_TIMEOUT_MS) ?? 50;
  const layers: CacheLayer[] = names.map((name) => {
    switch (name) {
      case 'memory':
        return { name, cache: new LruCache({ maxEntries: 10_000 }) };
      case 'redis':
        if (!redisUrl) throw new Error('SLUICE_CACHE_LAYERS names redis but REDIS_URL is not set');
        assertRedisUrl(redisUrl);
        return { name, cache: new DeferredCache(async () => new (await import('./redis-cache.js')).RedisCache({ url: redisUrl })), timeoutMs };
      case 'dynamodb': {
        if (!stateTable) throw new Error('SLUICE_CACHE_LAYERS names dynamodb but SLUICE_STATE_TABLE is not set');
        const region = env.AWS_REGION?.trim();
        const client = dynamoClient ?? new DynamoDBClient(region ? { region } : {});
        return { name, cache: new DynamoCache({ client, tableName: stateTable }), timeoutMs };
      }
      default:
        throw new Error(`SLUICE_CACHE_LAYERS: unknown layer "${name}" (memory, redis, dynamodb)`);
    }
  });
  const only = layers.length === 1 ? layers[0] : undefined;
  if (only && only.timeoutMs === undefined) return only.cache; // a lone LRU needs no wrapper
  return new LayeredCache(layers, { logger });
}

/** A cache layer whose module is imported on the first call, then every call goes to it. */
class DeferredCache implements EntryCache {
  private loaded: Promise<EntryCache> | undefined;

  constructor(private readonly load: () => Promise<EntryCache>) {}

  async get(key: string): Promise<string | undefined> {
    return (await this.cache()).get(key);
  }

  async getEntry(key: string): Promise<CacheEntry | undefined> {
    return (await this.cache()).getEntry(key);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    return (await this.cache()).set(key, value, ttlMs);
  }

  async delete(key: string): Promise<void> {
    return (await this.cache()).delete(key);
  }

  private cache(): Promise<EntryCache> {
    return (this.loaded ??= this.load());
  }
}

function positive(value: string | undefined): number | undefined {
  const n = value === undefined ? NaN : Number(value);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}
