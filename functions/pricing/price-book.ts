import type { Usage } from '../gateway/types.js';
import shipped from './prices.json' with { type: 'json' };

/** USD per one million tokens. Cache and reasoning prices default to input and output. */
export interface ModelPrice {
  input: number;
  output: number;
  cacheRead?: number;
  cacheWrite?: number;
  reasoning?: number;
}

export interface PricingData {
  version: string;
  providers: Record<string, Record<string, ModelPrice>>;
}

/**
 * Prices a deployment sets on top of the shipped file: for every proxy (`models`) or for
 * one (`proxies.<id>.models`), and which model an application inference profile runs
 * (its id reveals nothing, so it is priced as the model it was created from).
 */
export interface PricingOverrides {
  models?: Record<string, ModelPrice>;
  inferenceProfiles?: Record<string, string>;
  proxies?: Record<string, { models?: Record<string, ModelPrice>; inferenceProfiles?: Record<string, string> }>;
}

export interface CostResult {
  /** USD, or null when the model has no known price (never a made-up $0). */
  usd: number | null;
  unknown: boolean;
  pricingVersion: string;
  /** The model id the price was found under (after profile and prefix resolution). */
  pricedAs?: string;
}

/** Geography prefixes of Bedrock's cross-region (system) inference profiles. */
const CROSS_REGION_PREFIX = /^(us|eu|apac|ap|jp|au|ca|us-gov|global)\./;
const BEDROCK_ARN = /^arn:aws[a-z-]*:bedrock:[^:]*:[^:]*:(foundation-model|inference-profile|application-inference-profile)\/(.+)$/;

/**
 * Which model a Bedrock id names: a foundation-model ARN is its model id; a
 * cross-region profile (`us.anthropic…`, also as an inference-profile ARN) is the model
 * it routes to, priced like it; an application inference profile is looked up.
 */
export function bedrockBaseModel(modelId: string, profiles: Record<string, string> = {}): string | undefined {
  let id = modelId;
  const arn = BEDROCK_ARN.exec(id);
  if (arn) {
    const [, kind, rest] = arn as unknown as [string, string, string];
    if (kind === 'application-inference-profile') {
      const target = profiles[modelId] ?? profiles[rest];
      return target === undefined ? undefined : bedrockBaseModel(target, {});
    }
    id = rest;
  }
  return id.replace(CROSS_REGION_PREFIX, '');
}

/** Dated snapshots priced as their family: gpt-4o-2024-08-06 → gpt-4o, claude-…-20250929 → claude-…. */
function undated(model: string): string {
  return model.replace(/-\d{4}-\d{2}-\d{2}$/, '').replace(/-\d{8}$/, '');
}

/**
 * The price tables a provider's models are found in, in order: its own, then the maker's
 * list prices it resells at (Claude and Gemini on Vertex, OpenAI models on Azure).
 */
function sharedTables(provider: string, model: string): string[] {
  if (provider === 'vertex') return ['vertex', model.startsWith('claude-') ? 'anthropic' : 'gemini'];
  if (provider === 'azure-openai') return ['azure-openai', 'openai'];
  return [provider];
}

/** Google model names as priced: `models/` prefix and `-001`-style revisions dropped, Vertex's `@date` as `-date`. */
function googleModel(model: string): string {
  return model.replace(/^models\//, '').replace(/@(\d{8})$/, '-$1').replace(/-0\d\d$/, '');
}

export class PriceBook {
  constructor(
    private readonly data: PricingData = shipped as PricingData,
    private readonly overrides: PricingOverrides = {},
  ) {}

  get version(): string {
    return this.data.version;
  }

  /** The price of `model` on `provider` for `proxyId`: proxy override, global override, then the shipped file. */
  lookup(provider: string, model: string, proxyId?: string): { price: ModelPrice; pricedAs: string } | undefined {
    const proxy = proxyId ? this.overrides.proxies?.[proxyId] : undefined;
    let id: string | undefined = model;
    if (provider === 'bedrock') {
      id = bedrockBaseModel(model, { ...this.overrides.inferenceProfiles, ...proxy?.inferenceProfiles });
      if (id === undefined) return undefined;
    }
    if (provider === 'gemini' || provider === 'vertex') id = googleModel(model);
    const tables = [proxy?.models, this.overrides.models, ...sharedTables(provider, id).map((name) => this.data.providers[name])];
    for (const candidate of [model, id, undated(id)]) {
      for (const table of tables) {
        const price = table?.[candidate];
        if (price) return { price, pricedAs: candidate };
      }
    }
    return undefined;
  }

  /** Cost of one call from its normalized usage. */
  cost(provider: string, model: string | undefined, usage: Usage | undefined, proxyId?: string): CostResult {
    const found = model ? this.lookup(provider, model, proxyId) : undefined;
    if (!found || !usage) return { usd: null, unknown: !found, pricingVersion: this.version, ...(found ? { pricedAs: found.pricedAs } : {}) };
    return { usd: costOf(found.price, usage), unknown: false, pricingVersion: this.version, pricedAs: found.pricedAs };
  }
}

/**
 * USD for one usage record. Usage follows OpenAI's convention: prompt tokens include the
 * cached (read) and cache-write tokens, completion tokens include the reasoning tokens.
 */
export function costOf(price: ModelPrice, usage: Usage): number {
  const cached = usage.cachedTokens ?? 0;
  const written = usage.cacheWriteTokens ?? 0;
  const reasoning = usage.reasoningTokens ?? 0;
  const freshInput = Math.max(0, usage.promptTokens - cached - written);
  const visibleOutput = Math.max(0, usage.completionTokens - reasoning);
  const micro =
    freshInput * price.input +
    cached * (price.cacheRead ?? price.input) +
    written * (price.cacheWrite ?? price.input) +
    visibleOutput * price.output +
    reasoning * (price.reasoning ?? price.output);
  return Math.round((micro / 1_000_000) * 1e10) / 1e10;
}

/** Reads a PricingOverrides document (the file named by SLUICE_PRICING_OVERRIDES). */
export function parsePricingOverrides(text: string): PricingOverrides {
  const doc = JSON.parse(text) as unknown;
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('pricing overrides must be a JSON object');
  const check = (models: unknown, where: string) => {
    if (models === undefined) return;
    if (!models || typeof models !== 'object') throw new Error(`${where} must be an object of model prices`);
    for (const [model, p] of Object.entries(models as Record<string, unknown>)) {
      const price = p as Record<string, unknown>;
      for (const field of ['input', 'output', 'cacheRead', 'cacheWrite', 'reasoning']) {
        const v = price?.[field];
        if ((field === 'input' || field === 'output') && v === undefined) throw new Error(`${where}.${model}.${field} is required`);
        if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) throw new Error(`${where}.${model}.${field} must be a number ≥ 0`);
      }
    }
  };
  const o = doc as PricingOverrides;
  check(o.models, 'models');
  for (const [id, p] of Object.entries(o.proxies ?? {})) check(p.models, `proxies.${id}.models`);
  return o;
}
