import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Logger } from '../observability/logger.js';
import { assertRedisUrl } from '../stores/redis-url.js';
import { BoundedResponseCacheStore } from './bounded-store.js';
import { MemoryResponseCacheStore } from './memory-store.js';
import type { CacheKey, CachedAnswer, ResponseCacheStore } from './store.js';

export type ResponseCacheStoreKind = 'memory' | 'redis' | 'dynamodb';

/**
 * The response cache's store, from the environment (docs/cache.md, "Stores"):
 * - `SLUICE_RESPONSE_CACHE_STORE` = `memory` | `redis` | `dynamodb` chooses explicitly;
 * - otherwise `REDIS_URL` set (ElastiCache when the stack's cache context is on) → Redis;
 *   in Lambda without it → DynamoDB on the state table (`SLUICE_STATE_TABLE`); locally → memory;
 * - `SLUICE_RESPONSE_CACHE_TIMEOUT_MS` bounds each remote call (default 100): a store that is
 *   down or slow is a miss, a failed write is dropped (bounded-store.ts).
 * No I/O and no driver is evaluated here: the Redis and DynamoDB stores are loaded with a
 * dynamic `import()` on their first call.
 */
export function responseCacheFromEnv(env: NodeJS.ProcessEnv, logger: Pick<Logger, 'warn'>, dynamoClient?: DynamoDBClient): ResponseCacheStore {
  const kind = responseCacheStoreKind(env);
  if (kind === 'memory') return new MemoryResponseCacheStore();
  const timeoutMs = positive(env.SLUICE_RESPONSE_CACHE_TIMEOUT_MS) ?? 100;
  if (kind === 'redis') {
    const url = env.REDIS_URL?.trim();
    if (!url) throw new Error('SLUICE_RESPONSE_CACHE_STORE is redis but REDIS_URL is not set');
    assertRedisUrl(url);
    const store = new DeferredStore(async () => new (await import('./redis-store.js')).RedisResponseCacheStore({ url }));
    return new BoundedResponseCacheStore(store, { name: 'redis', timeoutMs, logger });
  }
  const tableName = env.SLUICE_STATE_TABLE?.trim();
  if (!tableName) throw new Error('the response cache on DynamoDB needs SLUICE_STATE_TABLE');
  const region = env.AWS_REGION?.trim();
  const store = new DeferredStore(async () => {
    const client = dynamoClient ?? new DynamoDBClient(region ? { region } : {});
    return new (await import('./dynamodb-store.js')).DynamoResponseCacheStore({ client, tableName });
  });
  return new BoundedResponseCacheStore(store, { name: 'dynamodb', timeoutMs, logger });
}

export function responseCacheStoreKind(env: NodeJS.ProcessEnv): ResponseCacheStoreKind {
  const named = env.SLUICE_RESPONSE_CACHE_STORE?.trim();
  if (named) {
    if (named === 'memory' || named === 'redis' || named === 'dynamodb') return named;
    throw new Error(`SLUICE_RESPONSE_CACHE_STORE: unknown store "${named}" (memory, redis, dynamodb)`);
  }
  if (env.REDIS_URL?.trim()) return 'redis';
  if (env.AWS_LAMBDA_FUNCTION_NAME) return 'dynamodb';
  return 'memory';
}

/** A store whose module is imported on its first call; a failed import is retried on the next. */
class DeferredStore implements ResponseCacheStore {
  private loaded: Promise<ResponseCacheStore> | undefined;

  constructor(private readonly load: () => Promise<ResponseCacheStore>) {}

  async get(key: CacheKey): Promise<CachedAnswer | undefined> {
    return (await this.store()).get(key);
  }

  async set(key: CacheKey, entry: CachedAnswer): Promise<void> {
    return (await this.store()).set(key, entry);
  }

  async purge(scope: { orgId: string; proxyId: string; digest?: string }): Promise<number> {
    return (await this.store()).purge(scope);
  }

  private store(): Promise<ResponseCacheStore> {
    return (this.loaded ??= this.load().catch((err: unknown) => {
      this.loaded = undefined;
      throw err;
    }));
  }
}

function positive(value: string | undefined): number | undefined {
  const n = value === undefined ? NaN : Number(value);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}
