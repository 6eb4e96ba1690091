import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Logger } from '../observability/logger.js';
import { DynamoCache } from './dynamodb-cache.js';
import { LayeredCache, type CacheLayer } from './layered-cache.js';
import { LruCache } from './lru-cache.js';
import { RedisCache } from './redis-cache.js';
import type { Cache } from './types.js';

/**
 * The cache stack the environment asks for (docs/sessions.md, "Cache layers"):
 * - `SLUICE_CACHE_LAYERS`: comma-separated, in order, from `memory`, `redis`, `dynamodb`;
 *   default: `memory`, then `redis` when `REDIS_URL` is set. The `dynamodb` layer (on the
 *   state table) is opt-in: what the gateway caches today costs one GetItem to load, the
 *   same as a DynamoDB cache hit, so by default it would only add writes;
 * - `REDIS_URL`: `redis://` or `rediss://` (TLS), credentials in the URL for AUTH;
 * - `SLUICE_CACHE_TIMEOUT_MS`: the bound on a remote layer's call (default 50).
 * No I/O happens here; Redis connects on first use.
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
        return { name, cache: new RedisCache({ url: redisUrl }), timeoutMs };
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

function positive(value: string | undefined): number | undefined {
  const n = value === undefined ? NaN : Number(value);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}
