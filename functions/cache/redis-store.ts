import type { ConnectionOptions } from 'node:tls';
import { Redis } from 'ioredis';
import { MAX_ENTRY_BYTES, type CacheKey, type CachedAnswer, type ResponseCacheStore } from './store.js';
import { CacheEntryTooLargeError, assertDigest, assertKey, scopeSegment } from './scope-key.js';

/**
 * The response cache on Redis or Valkey (ElastiCache): `REDIS_URL` as for the gateway's
 * other cache (`rediss://` for in-transit encryption, AUTH from the URL). Loaded only
 * through a dynamic `import()` (functions/cache/store-from-env.ts), so ioredis is never
 * evaluated at Lambda init for this.
 *
 * Layout: one string key per entry, `<prefix>rc:{<org>:<proxy>}:<digest>`; the value is a
 * 16-byte header (storedAt, expiresAt as big-endian float64) followed by the gzip payload.
 * The braces are a hash tag, so a proxy's entries share one cluster slot; the escaped
 * org/proxy segment makes `SCAN MATCH <prefix>rc:{<org>:<proxy>}:*` match exactly one
 * proxy's entries for a purge. `PX` expiry is housekeeping: reads compare `expiresAt`
 * with the injected clock.
 *
 * Like the session cache it fails fast (no offline queue, no retries per command, a
 * command timeout); the bounded wrapper (bounded-store.ts) bounds every call further.
 */
export interface RedisResponseCacheStoreOptions {
  url: string;
  /** @default 'sluice:' */
  keyPrefix?: string;
  /** ioredis rejects a command that got no reply for this long. @default 1000 */
  commandTimeoutMs?: number;
  /** @default 2000 */
  connectTimeoutMs?: number;
  tls?: ConnectionOptions;
  now?: () => number;
  /** Keys per SCAN step and per DEL during a purge. @default 500 */
  purgeBatch?: number;
}

const HEADER_BYTES = 16;

export class RedisResponseCacheStore implements ResponseCacheStore {
  readonly client: Redis;
  private readonly prefix: string;
  private readonly now: () => number;
  private readonly purgeBatch: number;
  private connecting: Promise<void> | undefined;

  constructor(options: RedisResponseCacheStoreOptions) {
    this.prefix = `${options.keyPrefix ?? 'sluice:'}rc:`;
    this.now = options.now ?? Date.now;
    this.purgeBatch = options.purgeBatch ?? 500;
    const secure = /^rediss:\/\//i.test(options.url);
    this.client = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 1000,
      connectTimeout: options.connectTimeoutMs ?? 2000,
      retryStrategy: (attempt) => Math.min(50 * attempt, 2000),
      ...(secure ? { tls: { ...options.tls } } : {}),
    });
    this.client.on('error', () => undefined); // surfaced on the commands
  }

  async get(key: CacheKey): Promise<CachedAnswer | undefined> {
    assertKey(key);
    await this.ready();
    const raw = await this.client.getBuffer(this.keyOf(key));
    if (!raw || raw.length < HEADER_BYTES) return undefined;
    const storedAt = raw.readDoubleBE(0);
    const expiresAt = raw.readDoubleBE(8);
    if (!(expiresAt > this.now())) return undefined;
    return { storedAt, expiresAt, payload: new Uint8Array(raw.subarray(HEADER_BYTES)) };
  }

  async set(key: CacheKey, entry: CachedAnswer): Promise<void> {
    assertKey(key);
    if (entry.payload.byteLength > MAX_ENTRY_BYTES) throw new CacheEntryTooLargeError(entry.payload.byteLength, MAX_ENTRY_BYTES);
    const ttlMs = Math.ceil(entry.expiresAt - this.now());
    await this.ready();
    if (!(ttlMs > 0)) {
      await this.client.del(this.keyOf(key));
      return;
    }
    const value = Buffer.allocUnsafe(HEADER_BYTES + entry.payload.byteLength);
    value.writeDoubleBE(entry.storedAt, 0);
    value.writeDoubleBE(entry.expiresAt, 8);
    value.set(entry.payload, HEADER_BYTES);
    await this.client.set(this.keyOf(key), value, 'PX', ttlMs);
  }

  async purge(scope: { orgId: string; proxyId: string; digest?: string }): Promise<number> {
    await this.ready();
    if (scope.digest !== undefined) {
      assertDigest(scope.digest);
      return this.client.del(this.keyOf({ ...scope, digest: scope.digest }));
    }
    const match = `${this.scopePrefix(scope)}*`;
    let cursor = '0';
    let deleted = 0;
    do {
      const [next, keys] = await this.client.scan(cursor, 'MATCH', match, 'COUNT', this.purgeBatch);
      cursor = next;
      if (keys.length > 0) deleted += await this.client.del(...keys);
    } while (cursor !== '0');
    return deleted;
  }

  close(): void {
    this.client.disconnect();
  }

  private scopePrefix(scope: { orgId: string; proxyId: string }): string {
    return `${this.prefix}{${scopeSegment(scope)}}:`;
  }

  private keyOf(key: CacheKey): string {
    return `${this.scopePrefix(key)}${key.digest}`;
  }

  /** Connects on first use; while reconnecting later, calls fail at once (a soft miss). */
  private async ready(): Promise<void> {
    const status = this.client.status;
    if (status === 'ready') return;
    if (status === 'wait') {
      this.connecting ??= this.client.connect().finally(() => {
        this.connecting = undefined;
      });
    }
    if (this.connecting) return this.connecting;
    throw new Error(`redis is ${status}`);
  }
}
