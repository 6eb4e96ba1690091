import { compile, type Policy } from '../rego/index.js';
import type { StoredPolicy } from '../stores/types.js';
import { verifiedRego } from './signed-policy.js';

export interface CompiledEntry {
  policy: Policy;
  version: number;
  sha256: string;
}

export interface PolicyCacheOptions {
  signingKey?: string;
  /** Entries kept, least recently used evicted (default 256). */
  maxEntries?: number;
  /** Compile budget in ms (the engine's default is 2 s). */
  compileBudgetMs?: number;
}

/**
 * Compiled policies per (proxyId, policy hash), with singleflight: concurrent first
 * requests share one compile. A failed compile is not cached, so a fixed policy (or a
 * transient failure) is retried by the next request. `compiles` counts real compiles.
 */
export class PolicyCache {
  private readonly entries = new Map<string, Promise<CompiledEntry>>();
  compiles = 0;

  constructor(private readonly opts: PolicyCacheOptions = {}) {}

  get(proxyId: string, stored: StoredPolicy): Promise<CompiledEntry> {
    const key = `${proxyId}\u0000${stored.sha256}`;
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const pending = Promise.resolve().then(() => this.compile(stored));
    this.entries.set(key, pending);
    pending.catch(() => {
      if (this.entries.get(key) === pending) this.entries.delete(key);
    });
    const max = this.opts.maxEntries ?? 256;
    while (this.entries.size > max) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return pending;
  }

  private compile(stored: StoredPolicy): CompiledEntry {
    this.compiles++;
    const budget = this.opts.compileBudgetMs !== undefined ? { compileBudgetMs: this.opts.compileBudgetMs } : {};
    const policy =
      stored.format === 'bundle'
        ? compile(new Uint8Array(Buffer.from(stored.body, 'base64')), budget)
        : compile(verifiedRego(stored.body, this.opts.signingKey), budget);
    return { policy, version: stored.version, sha256: stored.sha256 };
  }
}
