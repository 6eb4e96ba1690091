import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Redis } from 'ioredis';
import { DEFAULT_DATA_DIR } from '../stores/factory.js';
import { assertRedisUrl } from '../stores/redis-url.js';
import { DynamoSpendConfigStore } from './dynamodb-config-store.js';
import { DynamoBudgetLedger } from './dynamodb-ledger.js';
import { DynamoRateLimiter } from './dynamodb-rate-limiter.js';
import { FileSpendConfigStore } from './file-config-store.js';
import { FileBudgetLedger } from './file-ledger.js';
import { MemoryRateLimiter, type RateLimiter } from './rate-limiter.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';
import type { SpendServices } from './services.js';

/**
 * Spend services for the environment, with no I/O here:
 * - `SLUICE_STORE=dynamodb`: definitions on `SLUICE_CONTROL_TABLE`, budget and rate
 *   counters on `SLUICE_STATE_TABLE` (undefined without one: nothing to count on);
 * - the embedded default: definitions in `<SLUICE_DATA_DIR>/spend.json`, budget
 *   counters in the process, written to `spend-ledger.json` (the local runtime is one
 *   process), rate counters in the process.
 * Rate counters go to Redis whenever `REDIS_URL` is set (ElastiCache); ioredis is loaded
 * on the first count, so a cold start never evaluates it.
 */
export function spendFromEnv(env: NodeJS.ProcessEnv, client?: DynamoDBClient): SpendServices | undefined {
  const kind = env.SLUICE_STORE?.trim() || 'file';
  const redisUrl = env.REDIS_URL?.trim();
  const redis = redisUrl ? redisLimiter(redisUrl) : undefined;
  if (kind === 'dynamodb') {
    const controlTable = env.SLUICE_CONTROL_TABLE?.trim();
    const stateTable = env.SLUICE_STATE_TABLE?.trim();
    if (!controlTable || !stateTable) return undefined;
    const region = env.AWS_REGION?.trim();
    const dynamo = client ?? new DynamoDBClient(region ? { region } : {});
    return {
      config: new DynamoSpendConfigStore({ client: dynamo, tableName: controlTable }),
      ledger: new DynamoBudgetLedger({ client: dynamo, tableName: stateTable }),
      limiter: redis ?? new DynamoRateLimiter({ client: dynamo, tableName: stateTable }),
    };
  }
  const dataDir = env.SLUICE_DATA_DIR?.trim() || DEFAULT_DATA_DIR;
  return {
    config: new FileSpendConfigStore({ dataDir }),
    ledger: new FileBudgetLedger({ dataDir }),
    limiter: redis ?? new MemoryRateLimiter(),
  };
}

function redisLimiter(url: string): RateLimiter {
  assertRedisUrl(url);
  const secure = /^rediss:\/\//i.test(url);
  let client: Promise<Redis> | undefined;
  return new RedisRateLimiter(() =>
    (client ??= import('ioredis').then(({ Redis }) => {
      const redis = new Redis(url, {
        lazyConnect: true, // connects on the first command
        maxRetriesPerRequest: 1,
        commandTimeout: 500,
        connectTimeout: 2000,
        retryStrategy: (attempt) => Math.min(50 * attempt, 2000),
        ...(secure ? { tls: {} } : {}),
      });
      redis.on('error', () => undefined); // surfaced on the commands
      return redis;
    })),
  );
}
