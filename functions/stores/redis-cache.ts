import type { ConnectionOptions } from 'node:tls';
import { Redis } from 'ioredis';
import type { CacheEntry, EntryCache } from './layered-cache.js';

/**
 * A cache layer on Redis or Valkey (ElastiCache compatible): `REDIS_URL` as
 * `redis://[user:password@]host:port[/db]`, or `rediss://…` for TLS (ElastiCache
 * in-transit encryption); AUTH comes from the URL's credentials. Values are strings
 * with a millisecond TTL (`SET … PX`).
 *
 * It fails fast instead of queueing: no offline queue, no per-command retries, a
 * command timeout, and reconnects in the background. The layered cache bounds every
 * call further (50 ms by default) and falls through to the next layer.
 */
export interface RedisCacheOptions {
  url: string;
  /** Prepended to every key, so a shared Redis can hold several deployments. */
  keyPrefix?: string;
  /** ioredis rejects a command that got no reply for this long (a stopped server). */
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Extra TLS options for `rediss://` (e.g. a private CA in tests). */
  tls?: ConnectionOptions;
}

export class RedisCache implements EntryCache {
  readonly client: Redis;
  private readonly prefix: string;
  private connecting: Promise<void> | undefined;

  constructor(options: RedisCacheOptions) {
    this.prefix = options.keyPrefix ?? 'sluice:';
    const secure = /^rediss:\/\//i.test(options.url);
    this.client = new Redis(options.url, {
      lazyConnect: true, // no I/O at construction: cold starts stay short
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 1000,
      connectTimeout: options.connectTimeoutMs ?? 2000,
      retryStrategy: (attempt) => Math.min(50 * attempt, 2000),
      ...(secure ? { tls: { ...options.tls } } : {}),
    });
    // Errors surface on the commands; the client's own error events would otherwise be unhandled.
    this.client.on('error', () => undefined);
  }

  async get(key: string): Promise<string | undefined> {
    await this.ready();
    return (await this.client.get(this.prefix + key)) ?? undefined;
  }

  /** The value and its remaining TTL in one round trip. */
  async getEntry(key: string): Promise<CacheEntry | undefined> {
    await this.ready();
    const k = this.prefix + key;
    const results = await this.client.multi().get(k).pttl(k).exec();
    const value = results?.[0]?.[1];
    const ttl = Number(results?.[1]?.[1]);
    if (typeof value !== 'string' || !(ttl > 0)) return undefined; // -1: no expiry (not ours), -2: gone
    return { value, ttlMs: ttl };
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.ready();
    if (!(ttlMs > 0)) {
      await this.client.del(this.prefix + key);
      return;
    }
    await this.client.set(this.prefix + key, value, 'PX', Math.ceil(ttlMs));
  }

  async delete(key: string): Promise<void> {
    await this.ready();
    await this.client.del(this.prefix + key);
  }

  close(): void {
    this.client.disconnect();
  }

  /** Connects on first use; while (re)connecting later, calls fail at once and fall through. */
  private async ready(): Promise<void> {
    const status = this.client.status;
    if (status === 'ready') return;
    if (status === 'wait') {
      this.connecting ??= this.client.connect().finally(() => {
        this.connecting = undefined;
      });
    }
    // Calls made during the first connection wait for it (the layered cache bounds the wait).
    if (this.connecting) return this.connecting;
    throw new Error(`redis is ${status}`);
  }
}
