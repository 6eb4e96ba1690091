import type { Logger } from '../observability/logger.js';
import type { CacheKey, CachedAnswer, ResponseCacheStore } from './store.js';
import { CacheEntryTooLargeError } from './scope-key.js';

/**
 * Wraps a remote response-cache store so that it can never fail or hold up a request:
 * - `get` resolves within `timeoutMs`; an error, a timeout or an open breaker is a miss;
 * - `set` resolves within `timeoutMs` and never rejects: a failed write is dropped (logged),
 *   except an oversized entry, which rejects with CacheEntryTooLargeError so the caller can
 *   record `too_large`;
 * - after `breakerFailures` consecutive failures the store is not called for `breakerCooldownMs`
 *   (a stopped Valkey then costs a request nothing instead of a timeout per call);
 * - `purge` (an operator's command, not on the request path) is passed through and may reject.
 * Warnings carry the store's name and the error's message with any URL credentials removed,
 * at most one per `warnEveryMs`.
 */
export interface BoundedStoreOptions {
  name: string;
  timeoutMs: number;
  logger?: Pick<Logger, 'warn'>;
  now?: () => number;
  /** @default 5 */
  breakerFailures?: number;
  /** @default 5000 */
  breakerCooldownMs?: number;
  /** @default 10000 */
  warnEveryMs?: number;
}

export interface BoundedStoreStats {
  /** Calls that erred or timed out. */
  failures: number;
  /** Calls not made because the breaker was open. */
  skipped: number;
}

const TIMED_OUT = Symbol('timed out');

export class BoundedResponseCacheStore implements ResponseCacheStore {
  readonly stats: BoundedStoreStats = { failures: 0, skipped: 0 };
  private consecutiveFailures = 0;
  private openUntil = 0;
  private lastWarnAt = -Infinity;
  private readonly now: () => number;

  constructor(
    private readonly store: ResponseCacheStore,
    private readonly options: BoundedStoreOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  async get(key: CacheKey): Promise<CachedAnswer | undefined> {
    const result = await this.bounded('get', () => this.store.get(key));
    return result === FAILED ? undefined : result;
  }

  async set(key: CacheKey, entry: CachedAnswer): Promise<void> {
    await this.bounded('set', () => this.store.set(key, entry));
  }

  purge(scope: { orgId: string; proxyId: string; digest?: string }): Promise<number> {
    return this.store.purge(scope);
  }

  private async bounded<T>(op: string, call: () => Promise<T>): Promise<T | typeof FAILED> {
    if (this.now() < this.openUntil) {
      this.stats.skipped++;
      return FAILED;
    }
    let timer: NodeJS.Timeout | undefined;
    const attempt = call();
    try {
      const result = await Promise.race([
        attempt,
        new Promise<typeof TIMED_OUT>((resolve) => {
          timer = setTimeout(() => resolve(TIMED_OUT), this.options.timeoutMs);
        }),
      ]);
      if (result === TIMED_OUT) {
        attempt.catch(() => undefined); // its late rejection must not go unhandled
        this.fail(op, new Error(`no answer within ${this.options.timeoutMs} ms`));
        return FAILED;
      }
      this.consecutiveFailures = 0;
      return result;
    } catch (err) {
      if (err instanceof CacheEntryTooLargeError) throw err;
      this.fail(op, err as Error);
      return FAILED;
    } finally {
      clearTimeout(timer);
    }
  }

  private fail(op: string, err: Error): void {
    this.stats.failures++;
    this.consecutiveFailures++;
    const now = this.now();
    if (this.consecutiveFailures >= (this.options.breakerFailures ?? 5)) {
      this.openUntil = now + (this.options.breakerCooldownMs ?? 5000);
      this.consecutiveFailures = 0;
    }
    if (now - this.lastWarnAt >= (this.options.warnEveryMs ?? 10_000)) {
      this.lastWarnAt = now;
      this.options.logger?.warn('response cache store unavailable: treated as a miss', {
        store: this.options.name,
        op,
        error: withoutCredentials(String(err?.message ?? err)),
        failures: this.stats.failures,
      });
    }
  }
}

const FAILED = Symbol('failed');

/** `scheme://user:password@host` → `scheme://host`, in case a driver echoes its URL. */
export function withoutCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^@\s/]*@/gi, '$1');
}
