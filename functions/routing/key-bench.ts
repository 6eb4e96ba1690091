import { createHash } from 'node:crypto';

/**
 * Provider keys in rotation (a proxy's repeatable `--credential`, docs/providers.md
 * "Key rotation"). Pure, clock injected, in-process, bounded: at most MAX_KEYS keys are
 * remembered (least recently touched dropped first — a forgotten key is simply live).
 *
 * A key is identified by the SHA-256 of its resolved value, never the value itself, so a
 * rotated secret (a new value behind the same `secret:` name) is a new, live key: that is
 * the "config changed" that lifts a 401 bench early.
 * - 401: benched for AUTH_BENCH_MS (or until the key's value changes).
 * - 429: benched for its Retry-After; without one, 1 s doubling per consecutive 429, up to 60 s.
 */
export const AUTH_BENCH_MS = 10 * 60_000;
export const RATE_BENCH_BASE_MS = 1_000;
export const RATE_BENCH_MAX_MS = 60_000;
const MAX_KEYS = 1_024;

interface Bench {
  until: number;
  /** Consecutive 429s (the backoff's exponent). */
  strikes: number;
}

/** The public id of a key: the first 8 hex characters of its SHA-256 (safe in logs, traces and errors). */
export function keyId(secret: string): string {
  return keyHash(secret).slice(0, 8);
}

/** The bench's internal identity of a key (longer, so two keys never share a bench). */
export function keyHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, 32);
}

export class KeyBench {
  private readonly benched = new Map<string, Bench>();
  private readonly cursors = new Map<string, number>();
  constructor(private readonly now: () => number) {}

  /** When this key may be used again (0: live). */
  benchedUntil(hash: string): number {
    const b = this.benched.get(hash);
    if (!b) return 0;
    return b.until > this.now() ? b.until : 0;
  }

  /**
   * The order to try `hashes` in for one request: the live keys, each call for this `pool`
   * starting one further along them; benched ones left out. Empty: all benched.
   */
  order(pool: string, hashes: readonly string[]): number[] {
    const turn = this.cursors.get(pool) ?? 0;
    this.cursors.delete(pool);
    this.cursors.set(pool, (turn + 1) % 1_000_000);
    if (this.cursors.size > MAX_KEYS) this.cursors.delete(this.cursors.keys().next().value!);
    const live = hashes.map((_, i) => i).filter((i) => this.benchedUntil(hashes[i]!) === 0);
    // Round robin over the live keys (a benched key's turns go to the others, evenly).
    const start = live.length ? turn % live.length : 0;
    return [...live.slice(start), ...live.slice(0, start)];
  }

  /** The upstream refused the key (401). */
  refused(hash: string): void {
    this.set(hash, { until: this.now() + AUTH_BENCH_MS, strikes: 0 });
  }

  /** The upstream rate-limited the key (429); `retryAfterMs` from its headers when it gave one. */
  limited(hash: string, retryAfterMs: number | undefined): void {
    const strikes = (this.benched.get(hash)?.strikes ?? 0) + 1;
    const backoff = Math.min(RATE_BENCH_MAX_MS, RATE_BENCH_BASE_MS * 2 ** (strikes - 1));
    this.set(hash, { until: this.now() + (retryAfterMs !== undefined && retryAfterMs > 0 ? retryAfterMs : backoff), strikes });
  }

  /** The key served: its 429 streak ends. */
  served(hash: string): void {
    if (this.benched.get(hash)?.strikes) this.benched.delete(hash);
  }

  private set(hash: string, bench: Bench): void {
    this.benched.delete(hash);
    this.benched.set(hash, bench);
    if (this.benched.size > MAX_KEYS) this.benched.delete(this.benched.keys().next().value!);
  }
}

const benches = new WeakMap<object, KeyBench>();
/** One bench per handler's deps (like the breakers), unless the deps bring their own. */
export function keyBenchOf(deps: { keyBench?: KeyBench; now(): number }): KeyBench {
  if (deps.keyBench) return deps.keyBench;
  let bench = benches.get(deps);
  if (!bench) benches.set(deps, (bench = new KeyBench(() => deps.now())));
  return bench;
}
