import { describe, expect, it } from 'vitest';
import { spendFromEnv } from '../../../functions/spend/from-env.js';
import { FileSpendConfigStore } from '../../../functions/spend/file-config-store.js';
import { FileBudgetLedger } from '../../../functions/spend/file-ledger.js';
import { MemoryRateLimiter } from '../../../functions/spend/rate-limiter.js';
import { DynamoSpendConfigStore } from '../../../functions/spend/dynamodb-config-store.js';
import { DynamoBudgetLedger } from '../../../functions/spend/dynamodb-ledger.js';
import { DynamoRateLimiter } from '../../../functions/spend/dynamodb-rate-limiter.js';
import { RedisRateLimiter } from '../../../functions/spend/redis-rate-limiter.js';

describe('spendFromEnv', () => {
  it('embedded default: definitions and budget counters under the data dir, rate counters in the process', () => {
    const s = spendFromEnv({ SLUICE_DATA_DIR: '/tmp/nowhere' })!;
    expect(s.config).toBeInstanceOf(FileSpendConfigStore);
    expect(s.ledger).toBeInstanceOf(FileBudgetLedger);
    expect(s.limiter).toBeInstanceOf(MemoryRateLimiter);
  });

  it('DynamoDB: control table for definitions, state table for counters; Redis for rate counters when REDIS_URL is set', () => {
    const env = { SLUICE_STORE: 'dynamodb', SLUICE_CONTROL_TABLE: 'c', SLUICE_STATE_TABLE: 's', AWS_REGION: 'us-east-1' };
    const s = spendFromEnv(env)!;
    expect(s.config).toBeInstanceOf(DynamoSpendConfigStore);
    expect(s.ledger).toBeInstanceOf(DynamoBudgetLedger);
    expect(s.limiter).toBeInstanceOf(DynamoRateLimiter);
    expect(spendFromEnv({ ...env, REDIS_URL: 'redis://127.0.0.1:1' })!.limiter).toBeInstanceOf(RedisRateLimiter);
  });

  it('DynamoDB without a state table: nothing to count on, so no spend services', () => {
    expect(spendFromEnv({ SLUICE_STORE: 'dynamodb', SLUICE_CONTROL_TABLE: 'c' })).toBeUndefined();
  });
});
