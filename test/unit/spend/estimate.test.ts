import { describe, expect, it } from 'vitest';
import { costOf } from '../../../functions/pricing/price-book.js';
import { DEFAULT_OUTPUT_BOUND, IMAGE_TOKEN_BOUND, outputTokenBound, promptTokenBound, upperBound, worstCasePrice } from '../../../functions/spend/estimate.js';
import { parsePeriod } from '../../../functions/spend/definitions.js';
import { rollingRetryAfterMs, slotOf } from '../../../functions/spend/periods.js';
import type { Route } from '../../../functions/gateway/routes.js';

const chatRoute: Route = { kind: 'openai', ingress: 'openai', endpoint: 'chat.completions', method: 'POST' };
const body = (json: Record<string, unknown>) => ({ json, raw: Buffer.from(JSON.stringify(json)) });

describe('upper bound of a request', () => {
  it('the prompt bound is the body bytes plus a fixed allowance per image, never below the text', () => {
    const b = body({ model: 'gpt-4o', messages: [{ role: 'user', content: [{ type: 'text', text: 'héllo wörld' }, { type: 'image_url', image_url: { url: 'https://x/y.png' } }] }] });
    expect(promptTokenBound(b.raw, b.json)).toBe(b.raw.length + IMAGE_TOKEN_BOUND);
    const multibyte = body({ messages: [{ role: 'user', content: '日本語のテキスト' }] });
    expect(promptTokenBound(multibyte.raw, multibyte.json)).toBeGreaterThanOrEqual(Buffer.byteLength('日本語のテキスト'));
  });

  it('the output bound is max_completion_tokens, max_tokens or max_output_tokens times n, else the model limit; 0 for embeddings', () => {
    expect(outputTokenBound(chatRoute, { max_tokens: 100 }, 'gpt-4o')).toBe(100);
    expect(outputTokenBound(chatRoute, { max_completion_tokens: 50, max_tokens: 100, n: 3 }, 'gpt-4o')).toBe(150);
    expect(outputTokenBound({ ...chatRoute, endpoint: 'responses' }, { max_output_tokens: 70 }, 'gpt-5')).toBe(70);
    expect(outputTokenBound(chatRoute, {}, 'gpt-4o-mini')).toBe(16_384);
    expect(outputTokenBound(chatRoute, {}, 'some-new-model')).toBe(DEFAULT_OUTPUT_BOUND);
    expect(outputTokenBound({ ...chatRoute, endpoint: 'embeddings' }, { max_tokens: 9 }, 'text-embedding-3-small')).toBe(0);
    expect(outputTokenBound({ ...chatRoute, ingress: 'bedrock' }, { inferenceConfig: { maxTokens: 300 } }, 'anthropic.claude-sonnet-4-5')).toBe(300);
  });

  it('prices every token at the highest rate it could be billed at', () => {
    const price = { input: 3, cacheRead: 0.3, cacheWrite: 3.75, output: 15 };
    expect(worstCasePrice(price)).toEqual({ input: 3.75, output: 15 });
    const bound = upperBound(price, 1000, 100);
    // Whatever mix of cached, written and fresh input the provider reports, the cost stays below.
    for (const usage of [
      { promptTokens: 1000, completionTokens: 100, totalTokens: 1100 },
      { promptTokens: 1000, completionTokens: 100, totalTokens: 1100, cacheWriteTokens: 1000 },
      { promptTokens: 1000, completionTokens: 100, totalTokens: 1100, cachedTokens: 500, reasoningTokens: 60 },
    ]) {
      expect(costOf(price, usage)).toBeLessThanOrEqual(bound.usd);
    }
    expect(bound.usd).toBeCloseTo((1000 * 3.75 + 100 * 15) / 1e6, 12);
  });
});

describe('periods', () => {
  it('calendar slots end at the next UTC midnight or the 1st of the next month', () => {
    const t = Date.UTC(2026, 11, 31, 23, 0, 0);
    expect(slotOf({ kind: 'day' }, t)).toEqual({ id: '2026-12-31', endsAt: Date.UTC(2027, 0, 1) });
    expect(slotOf({ kind: 'month' }, t)).toEqual({ id: '2026-12', endsAt: Date.UTC(2027, 0, 1) });
    expect(slotOf({ kind: 'month' }, Date.UTC(2028, 1, 29, 12))).toEqual({ id: '2028-02', endsAt: Date.UTC(2028, 2, 1) });
  });

  it('rolling windows: the oldest days age out first', () => {
    const day = 86_400_000;
    const today = Math.floor(Date.UTC(2026, 10, 23, 6) / day);
    const buckets = new Map([
      [today - 2, 30],
      [today - 1, 50],
      [today, 20],
    ]);
    const now = Date.UTC(2026, 10, 23, 6);
    // 3-day window: today-2 leaves at the start of today+1.
    expect(rollingRetryAfterMs(buckets, 3, 30, now)).toBe(Date.UTC(2026, 10, 24) - now);
    expect(rollingRetryAfterMs(buckets, 3, 31, now)).toBe(Date.UTC(2026, 10, 25) - now);
    expect(rollingRetryAfterMs(buckets, 3, 101, now)).toBeUndefined();
  });

  it('parses period names', () => {
    expect(parsePeriod('rolling:30d')).toEqual({ kind: 'rolling', days: 30 });
    expect(() => parsePeriod('rolling:0d')).toThrow();
    expect(() => parsePeriod('weekly')).toThrow();
  });
});
