import type { Redis } from 'ioredis';
import { windowOf, WINDOW_MS, type RateLimiter, type RateLimits, type RateOutcome, type RateWindow } from './rate-limiter.js';

/** Check both limits and add both counts in one atomic step (Redis runs a script alone). */
const CONSUME = `
local r = tonumber(redis.call('HGET', KEYS[1], 'r') or '0')
local t = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
local rpm = tonumber(ARGV[1])
local tpm = tonumber(ARGV[2])
local tokens = tonumber(ARGV[3])
if (rpm >= 0 and r + 1 > rpm) or (tpm >= 0 and t + tokens > tpm) then
  return {0, r, t}
end
r = redis.call('HINCRBY', KEYS[1], 'r', 1)
t = redis.call('HINCRBY', KEYS[1], 't', tokens)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {1, r, t}
`;

/** A client, or a function that gives the same client on every call (one made on first use). */
export type RedisClientSource = Redis | (() => Promise<Redis>);

/**
 * Rate counters on Redis/Valkey (ElastiCache): one hash per scope and minute,
 * `<prefix>rate#<scope>#<id>#<minute>` with fields r and t, expiring after the window.
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly prefix: string;

  constructor(private readonly client: RedisClientSource, opts: { keyPrefix?: string } = {}) {
    this.prefix = opts.keyPrefix ?? 'sluice:';
  }

  async consume(key: string, limits: RateLimits, tokens: number, now: number): Promise<RateOutcome> {
    const window = windowOf(now);
    const resetsAt = (window + 1) * WINDOW_MS;
    const ttlMs = resetsAt - now + 120_000;
    const out = (await (await this.redis()).eval(CONSUME, 1, this.redisKey(key, window), limits.rpm ?? -1, limits.tpm ?? -1, tokens, Math.ceil(ttlMs))) as [number, number, number];
    return { ok: out[0] === 1, window: { key, window }, requests: Number(out[1]), tokens: Number(out[2]), resetsAt };
  }

  async refund(w: RateWindow, tokens: number): Promise<void> {
    await (await this.redis()).multi().hincrby(this.redisKey(w.key, w.window), 'r', -1).hincrby(this.redisKey(w.key, w.window), 't', -tokens).exec();
  }

  private async redis(): Promise<Redis> {
    return typeof this.client === 'function' ? this.client() : this.client;
  }

  private redisKey(key: string, window: number): string {
    return `${this.prefix}${key}#${window}`;
  }
}
