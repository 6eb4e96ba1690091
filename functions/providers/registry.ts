import type { ProviderAdapter } from '../upstream/adapter.js';
import type { ProviderName } from '../stores/types.js';
import { anthropicAdapter } from './anthropic/adapter.js';
import { azureOpenAIAdapter } from './azure-openai/adapter.js';
import { bedrockAdapter, type BedrockDeps } from './bedrock/adapter.js';
import { geminiAdapter } from './gemini/adapter.js';
import { openaiAdapter } from './openai/adapter.js';
import { vertexAdapter, type VertexDeps } from './vertex/adapter.js';

/** Everything any adapter may be given (the gateway's deps are a superset). */
export type ProviderDeps = BedrockDeps & VertexDeps;

/** Every provider adapter; adding a provider is one folder and one line here. */
const ADAPTERS: readonly ProviderAdapter<ProviderDeps>[] = [openaiAdapter, anthropicAdapter, bedrockAdapter, azureOpenAIAdapter, geminiAdapter, vertexAdapter];

const BY_PROVIDER = new Map<ProviderName, ProviderAdapter<ProviderDeps>>(ADAPTERS.flatMap((a) => a.providers.map((p) => [p, a] as const)));

/** The adapter serving a provider name; undefined for one this release does not serve. */
export function adapterFor(provider: ProviderName): ProviderAdapter<ProviderDeps> | undefined {
  return BY_PROVIDER.get(provider);
}
