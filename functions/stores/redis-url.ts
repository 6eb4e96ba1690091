/**
 * Throws what ioredis's constructor throws for a URL it cannot parse (`Invalid URL`,
 * `URI malformed`), without loading ioredis. The Redis cache layer and rate limiter load
 * ioredis on their first call; this keeps a bad REDIS_URL failing the cold start, as it
 * did when the client was made there. Follows ioredis's `parseURL` (built/utils/index.js).
 */
export function assertRedisUrl(url: string): void {
  if (url.startsWith('/') && !url.startsWith('//')) return; // a Unix socket path
  const parsed = new URL(/^rediss?:\/\//i.test(url) ? url : url.startsWith('//') ? `redis:${url}` : `redis://${url}`);
  if (parsed.username || parsed.password) {
    decodeURIComponent(parsed.username);
    decodeURIComponent(parsed.password);
  }
}
