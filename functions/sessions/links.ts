import type { Cache } from '../stores/types.js';
import type { SessionStore } from './store.js';

/** How long a link stays in the cache layers; links rarely change, the store stays the source of truth. */
export const LINK_CACHE_TTL_MS = 10 * 60 * 1000;

/**
 * Session links read through the cache layers (in-process LRU, Redis, …) in front of
 * the session store. A write goes to the cache first so the next turn on this
 * container finds it even before the store write completes.
 */
export class CachedSessionLinks {
  constructor(
    private readonly store: SessionStore,
    private readonly cache: Cache,
  ) {}

  async get(key: string): Promise<string | undefined> {
    const cached = await this.cache.get(key).catch(() => undefined);
    if (cached !== undefined) return cached;
    const sessionId = await this.store.getLink(key);
    if (sessionId !== undefined) await this.cache.set(key, sessionId, LINK_CACHE_TTL_MS).catch(() => undefined);
    return sessionId;
  }

  async put(key: string, sessionId: string): Promise<void> {
    await this.cache.set(key, sessionId, LINK_CACHE_TTL_MS).catch(() => undefined);
    await this.store.putLink(key, sessionId);
  }
}

/** The lookup keys of docs/sessions.md. `keyHash` is the SHA-256 hex of the gateway key: links never cross keys. */
export const linkKeys = {
  responseChain: (keyHash: string, responseId: string) => `respchain:${keyHash}:${responseId}`,
  userSession: (keyHash: string, userHash: string) => `usersession:${keyHash}:${userHash}`,
  chain: (keyHash: string, fingerprint: string) => `chain:${keyHash}:${fingerprint}`,
};
