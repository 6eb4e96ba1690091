import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_ON, nextStep, retryAfterMs } from '../../../functions/routing/retry-policy.js';

const failure = (status: number, headers: Record<string, string> = {}, code: string | null = null) => ({ status, code, type: 'server_error', headers });
const budget = (retried: number, waitedMs = 0) => ({ retried, retries: 2, retryOn: DEFAULT_RETRY_ON, waitedMs });

describe('nextStep', () => {
  it('backs off with full jitter under a ceiling starting at 250 ms and doubling', () => {
    expect(nextStep(failure(500), budget(0), () => 0.999)).toEqual({ action: 'retry', waitMs: 249 });
    expect(nextStep(failure(500), budget(1), () => 0.5)).toEqual({ action: 'retry', waitMs: 250 });
    expect(nextStep(failure(500), budget(1), () => 0)).toEqual({ action: 'retry', waitMs: 0 });
    expect(nextStep(failure(500), budget(2))).toEqual({ action: 'next' });
  });
  it('honours Retry-After up to 5 s a wait and 10 s a request; longer goes to the next target', () => {
    expect(nextStep(failure(503, { 'retry-after': '2' }), budget(0))).toEqual({ action: 'retry', waitMs: 2000 });
    expect(nextStep(failure(503, { 'retry-after': '6' }), budget(0))).toEqual({ action: 'next' });
    expect(nextStep(failure(429, { 'retry-after': '4' }), budget(1, 7000))).toEqual({ action: 'next' });
  });
  it('insufficient_quota goes to the next target at once; statuses outside retry-on fail', () => {
    expect(nextStep(failure(429, {}, 'insufficient_quota'), budget(0))).toEqual({ action: 'next' });
    expect(nextStep(failure(400), budget(0))).toEqual({ action: 'fail' });
    expect(nextStep(failure(307), budget(0))).toEqual({ action: 'fail' });
    expect(nextStep(failure(529), budget(0), () => 0)).toEqual({ action: 'retry', waitMs: 0 });
  });
});

describe('retryAfterMs', () => {
  it('reads retry-after-ms, retry-after seconds and dates, and x-ratelimit-reset-* durations', () => {
    expect(retryAfterMs({ 'retry-after-ms': '1500', 'retry-after': '9' })).toBe(1500);
    expect(retryAfterMs({ 'retry-after': '3' })).toBe(3000);
    expect(retryAfterMs({ 'retry-after': new Date(10_000).toUTCString() }, 8_000)).toBe(2000);
    expect(retryAfterMs({ 'x-ratelimit-reset-requests': '6m0s', 'x-ratelimit-reset-tokens': '20ms' })).toBe(20);
    expect(retryAfterMs({ 'x-ratelimit-reset-requests': '1.5s' })).toBe(1500);
    expect(retryAfterMs({ 'retry-after': 'soon' })).toBeUndefined();
    expect(retryAfterMs({})).toBeUndefined();
  });
});
