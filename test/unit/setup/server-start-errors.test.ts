/**
 * The test support never fails with an empty "redis-server did not start:" (issue #15,
 * the first thing a new user saw): a server that is not installed is named as such, with
 * where the suite installs it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startRedis } from '../../support/redis.js';

describe('starting a real server that is not there', () => {
  const path = process.env.PATH;
  afterEach(() => {
    process.env.PATH = path;
  });

  it('redis-server missing from PATH: says it is not installed and who installs it', async () => {
    process.env.PATH = '/nonexistent-sluice-test-dir';
    await expect(startRedis()).rejects.toThrow(/^redis-server did not start: redis-server is not installed \(npm test installs it: test\/setup\/system-servers\.ts\)$/);
  });
});
