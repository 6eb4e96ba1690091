import { describe, expect, it } from 'vitest';
import { bedrockBaseModel, costOf, parsePricingOverrides, PriceBook } from '../../../functions/pricing/price-book.js';
import shipped from '../../../functions/pricing/prices.json' with { type: 'json' };

const book = new PriceBook();

describe('pricing data file', () => {
  it('is versioned and every price is a non-negative number with input and output', () => {
    expect(shipped.version).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const [provider, models] of Object.entries(shipped.providers)) {
      for (const [model, price] of Object.entries(models as Record<string, Record<string, number>>)) {
        expect(typeof price.input, `${provider}/${model}.input`).toBe('number');
        expect(typeof price.output, `${provider}/${model}.output`).toBe('number');
        for (const v of Object.values(price)) expect(v).toBeGreaterThanOrEqual(0);
      }
    }
  });
});

describe('costOf', () => {
  it('prices fresh input, cached reads, cache writes, visible output and reasoning separately', () => {
    const price = { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75, reasoning: 20 };
    // 1000 prompt = 600 fresh + 300 cached + 100 written; 500 completion = 200 visible + 300 reasoning
    const usd = costOf(price, { promptTokens: 1000, completionTokens: 500, totalTokens: 1500, cachedTokens: 300, cacheWriteTokens: 100, reasoningTokens: 300 });
    expect(usd).toBeCloseTo((600 * 3 + 300 * 0.3 + 100 * 3.75 + 200 * 15 + 300 * 20) / 1e6, 12);
  });

  it('falls back to the input and output prices when no cache or reasoning price is given', () => {
    const usd = costOf({ input: 1, output: 2 }, { promptTokens: 10, completionTokens: 10, totalTokens: 20, cachedTokens: 4, reasoningTokens: 5 });
    expect(usd).toBeCloseTo((6 * 1 + 4 * 1 + 5 * 2 + 5 * 2) / 1e6, 12);
  });
});

describe('PriceBook', () => {
  const usage = { promptTokens: 1_000_000, completionTokens: 1_000_000, totalTokens: 2_000_000 };

  it('prices a known OpenAI model and its dated snapshot alike', () => {
    expect(book.cost('openai', 'gpt-4o-mini', usage)).toMatchObject({ usd: 0.75, unknown: false, pricedAs: 'gpt-4o-mini' });
    expect(book.cost('openai', 'gpt-4o-mini-2024-07-18', usage).usd).toBe(0.75);
  });

  it('gives an unknown model cost null and a flag, never $0', () => {
    const c = book.cost('openai', 'gpt-imaginary', usage);
    expect(c).toEqual({ usd: null, unknown: true, pricingVersion: shipped.version });
    expect(book.cost('openai-compatible', 'gpt-4o-mini', usage).unknown).toBe(true);
  });

  it('prices Claude and Gemini on Vertex, and OpenAI models on Azure, at the maker list price', () => {
    const sonnet4 = shipped.providers.anthropic!['claude-sonnet-4']!;
    const flash = shipped.providers.gemini!['gemini-2.5-flash']!;
    const mini = shipped.providers.openai!['gpt-4o-mini']!;
    // 1M tokens each way: the per-million prices added up.
    expect(book.cost('vertex', 'claude-sonnet-4@20250514', usage)).toMatchObject({ usd: sonnet4.input + sonnet4.output, unknown: false, pricedAs: 'claude-sonnet-4' });
    expect(book.cost('vertex', 'gemini-2.5-flash', usage).usd).toBe(flash.input + flash.output);
    expect(book.cost('gemini', 'models/gemini-2.5-flash', usage).usd).toBe(flash.input + flash.output);
    expect(book.cost('azure-openai', 'gpt-4o-mini', usage).usd).toBe(mini.input + mini.output);
    // A deployment named after nothing we know stays unknown; Claude is not a Gemini model.
    expect(book.cost('azure-openai', 'prod-chat', usage).unknown).toBe(true);
    expect(book.cost('gemini', 'claude-sonnet-4', usage).unknown).toBe(true);
  });

  it('prices Bedrock cross-region profiles and ARNs as the model they route to', () => {
    const base = book.cost('bedrock', 'anthropic.claude-sonnet-4-5-20250929-v1:0', usage).usd;
    expect(base).toBe(18);
    for (const id of [
      'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
      'eu.anthropic.claude-sonnet-4-5-20250929-v1:0',
      'apac.anthropic.claude-sonnet-4-5-20250929-v1:0',
      'global.anthropic.claude-sonnet-4-5-20250929-v1:0',
      'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0',
      'arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.anthropic.claude-sonnet-4-5-20250929-v1:0',
    ]) {
      expect(book.cost('bedrock', id, usage).usd, id).toBe(base);
    }
  });

  it('prices an application inference profile only when it is mapped to its model', () => {
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5';
    expect(book.cost('bedrock', arn, usage)).toMatchObject({ usd: null, unknown: true });
    const mapped = new PriceBook(undefined, { proxies: { team: { inferenceProfiles: { [arn]: 'us.amazon.nova-pro-v1:0' } } } });
    expect(mapped.cost('bedrock', arn, usage, 'team')).toMatchObject({ usd: 4, pricedAs: 'amazon.nova-pro-v1:0' });
    expect(mapped.cost('bedrock', arn, usage, 'other').unknown).toBe(true);
    expect(bedrockBaseModel(arn, { a1b2c3d4e5: 'amazon.nova-lite-v1:0' })).toBe('amazon.nova-lite-v1:0');
  });

  it('applies a per-proxy override before a global override before the shipped file', () => {
    const overridden = new PriceBook(undefined, {
      models: { 'gpt-4o-mini': { input: 1, output: 1 }, 'my-vllm-model': { input: 0.5, output: 0.5 } },
      proxies: { special: { models: { 'gpt-4o-mini': { input: 2, output: 2 } } } },
    });
    expect(overridden.cost('openai', 'gpt-4o-mini', usage, 'special').usd).toBe(4);
    expect(overridden.cost('openai', 'gpt-4o-mini', usage, 'plain').usd).toBe(2);
    expect(overridden.cost('vllm', 'my-vllm-model', usage).usd).toBe(1);
  });

  it('a priced model without usage has cost null but is not flagged unknown', () => {
    expect(book.cost('openai', 'gpt-4o', undefined)).toMatchObject({ usd: null, unknown: false });
  });
});

describe('parsePricingOverrides', () => {
  it('accepts a valid document and rejects negative, missing or non-numeric prices', () => {
    expect(parsePricingOverrides('{"models":{"m":{"input":1,"output":2,"cacheRead":0.1}}}').models?.m?.cacheRead).toBe(0.1);
    expect(() => parsePricingOverrides('[]')).toThrow(/object/);
    expect(() => parsePricingOverrides('{"models":{"m":{"input":1}}}')).toThrow(/output is required/);
    expect(() => parsePricingOverrides('{"models":{"m":{"input":-1,"output":1}}}')).toThrow(/≥ 0/);
    expect(() => parsePricingOverrides('{"proxies":{"p":{"models":{"m":{"input":"1","output":1}}}}}')).toThrow(/proxies\.p\.models\.m\.input/);
  });
});
