import { describe, expect, it } from 'vitest';
import { BoundedResponseCacheStore } from '../../../functions/cache/bounded-store.js';
import { MemoryResponseCacheStore } from '../../../functions/cache/memory-store.js';
import { responseCacheFromEnv, responseCacheStoreKind } from '../../../functions/cache/store-from-env.js';

const silent = { warn: () => undefined };

describe('responseCacheStoreKind / responseCacheFromEnv', () => {
  it('locally: the embedded memory store', () => {
    expect(responseCacheStoreKind({})).toBe('memory');
    expect(responseCacheFromEnv({}, silent)).toBeInstanceOf(MemoryResponseCacheStore);
  });

  it('REDIS_URL (ElastiCache) → redis, bounded; in Lambda without it → dynamodb on the state table', () => {
    expect(responseCacheStoreKind({ REDIS_URL: 'rediss://cache.example:6379', AWS_LAMBDA_FUNCTION_NAME: 'gw' })).toBe('redis');
    expect(responseCacheFromEnv({ REDIS_URL: 'redis://127.0.0.1:1' }, silent)).toBeInstanceOf(BoundedResponseCacheStore);
    expect(responseCacheStoreKind({ AWS_LAMBDA_FUNCTION_NAME: 'gw', SLUICE_STATE_TABLE: 't' })).toBe('dynamodb');
    expect(responseCacheFromEnv({ AWS_LAMBDA_FUNCTION_NAME: 'gw', SLUICE_STATE_TABLE: 't' }, silent)).toBeInstanceOf(BoundedResponseCacheStore);
  });

  it('SLUICE_RESPONSE_CACHE_STORE chooses explicitly; a wrong name or missing setting fails at start', () => {
    expect(responseCacheStoreKind({ SLUICE_RESPONSE_CACHE_STORE: 'memory', REDIS_URL: 'redis://x' })).toBe('memory');
    expect(() => responseCacheStoreKind({ SLUICE_RESPONSE_CACHE_STORE: 'disk' })).toThrow(/unknown store "disk"/);
    expect(() => responseCacheFromEnv({ SLUICE_RESPONSE_CACHE_STORE: 'redis' }, silent)).toThrow(/REDIS_URL is not set/);
    expect(() => responseCacheFromEnv({ SLUICE_RESPONSE_CACHE_STORE: 'dynamodb' }, silent)).toThrow(/SLUICE_STATE_TABLE/);
    expect(() => responseCacheFromEnv({ REDIS_URL: 'redis://%zz@host' }, silent)).toThrow();
  });
});
