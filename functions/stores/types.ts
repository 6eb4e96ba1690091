/**
 * Control data: proxies and gateway keys. One interface, two implementations
 * (file-backed for the local runtime, DynamoDB in AWS), injected into the handler.
 */

/** Providers a proxy can route to. The OpenAI-compatible family shares one translator. */
export type ProviderName =
  | 'openai'
  | 'groq'
  | 'openrouter'
  | 'together'
  | 'vllm'
  | 'openai-compatible'
  | 'anthropic'
  | 'bedrock'
  | 'gemini'
  | 'vertex'
  | 'azure-openai';

/** Azure OpenAI: the resource is in the base URL (`https://<resource>.openai.azure.com/openai`); the deployment is the resolved model name. */
export interface AzureSettings {
  /** `api-version` query parameter (default in functions/providers/azure-openai/api.ts). */
  apiVersion?: string;
}

/** Google Cloud project and location for Vertex AI. */
export interface GcpSettings {
  project: string;
  /** e.g. `us-central1`, `europe-west4`, or `global`. */
  location: string;
}

/** Another upstream a proxy may route to when a request names it in `X-Sluice-Upstream`. */
export interface NamedUpstream {
  provider: ProviderName;
  baseUrl: string;
  credentialRef?: string;
  /** Two or more keys in rotation (several credential references in `--upstream`), the first also in `credentialRef` (docs/providers.md "Key rotation"). */
  credentialRefs?: string[];
  azure?: AzureSettings;
  gcp?: GcpSettings;
  allowPrivateNetwork?: boolean;
}

export interface ProxyConfig {
  /** URL-safe id, used in `/a/{proxyId}/…`: [a-z0-9][a-z0-9_-]{0,62} */
  id: string;
  orgId: string;
  name: string;
  provider: ProviderName;
  /** Upstream base URL including its version prefix, e.g. https://api.openai.com/v1 */
  baseUrl: string;
  /**
   * Where the provider credential comes from: `env:NAME` (local runtime) or
   * `secret:<arn-or-name>` (Secrets Manager). Absent: no credential (e.g. vLLM) or BYOK.
   */
  credentialRef?: string;
  /** When set, only these models (after alias resolution) may be requested. */
  allowedModels?: string[];
  /** Client-facing model name → upstream model name. */
  modelAliases?: Record<string, string>;
  /** Bring-your-own-key: the caller's provider key is forwarded for that one request. */
  byok: boolean;
  /** Allow upstreams on private/loopback networks (a vLLM in the VPC, local development). */
  allowPrivateNetwork: boolean;
  createdAt: string;
  /** Azure OpenAI settings (provider `azure-openai`). */
  azure?: AzureSettings;
  /** Vertex AI project and location (provider `vertex`). */
  gcp?: GcpSettings;
  /**
   * Per-request upstream selection: when true, a request may pick its upstream with
   * `X-Sluice-Upstream` (docs/providers.md); otherwise those headers are a 403.
   */
  upstreamSelection?: boolean;
  /** Upstreams a request may name in `X-Sluice-Upstream` (with upstreamSelection). */
  upstreams?: Record<string, NamedUpstream>;
  /** Governance (policies, intent, fail modes); absent or `enabled: false`: metering and tracing only. See docs/policies.md. */
  governance?: GovernanceConfig;
  /** Retries and fallback targets (docs/providers.md, "Retries and fallbacks"). */
  routing?: RoutingConfig;
  /** Response cache (docs/cache.md): absent = off (opt-in per proxy). */
  cache?: ResponseCacheConfig;
}

/** A proxy's response cache: how long answers live, and whether keys share them. */
/** The same shape, under the name functions/cache uses. */
export type ProxyCacheConfig = ResponseCacheConfig;

export interface ResponseCacheConfig {
  /** 1 to 604,800 (7 days). */
  ttlSeconds: number;
  /** `proxy` (default): every key of the proxy shares entries; `key`: each API key has its own. */
  scope?: 'proxy' | 'key';
}

/** How a proxy's model calls survive a failing upstream. */
export interface RoutingConfig {
  /** Tried in order after the proxy's own upstream: a named upstream of this proxy, else another proxy's id (one level: its own fallbacks are ignored). */
  fallbacks?: string[];
  /** Weighted load balancing: target name (this proxy's own id for its own upstream, a named upstream, another proxy) → weight. */
  balance?: Record<string, number>;
  /** Retries per target (default 2). */
  retries?: number;
  /** Upstream statuses retried (default 429, 500, 502, 503, 504, 529). */
  retryOn?: number[];
  /**
   * Provider keys used in rotation (`--credential` repeated, docs/providers.md "Key rotation"): references
   * (`env:`, `secret:`), the first also in `credentialRef`. A key answered 401 or 429 is benched.
   */
  credentials?: string[];
  /** This proxy's upstream timeouts, ms (defaults: the gateway's idle and total timeouts; no separate connect / first-byte limit). */
  timeouts?: { connectMs?: number; firstByteMs?: number; idleMs?: number; totalMs?: number };
}

/** `action`: the policy judging `POST /v1/actions/check` (non-model actions), never the request stage's. */
export type GovernanceStage = 'request' | 'response' | 'action';
export type FailMode = 'open' | 'closed';

/** A stored policy version: Rego source (optionally signed `v1:<hmac_hex>:<rego>`) or a base64 OPA bundle / wasm. */
export interface StoredPolicy {
  /** Increments on every `sluice policies set`; traces name the version that decided. */
  version: number;
  format: 'rego' | 'bundle';
  /** Rego source (possibly signed), or the bundle bytes in base64. */
  body: string;
  /** SHA-256 hex of `body`: the compile cache key. */
  sha256: string;
  updatedAt: string;
  updatedBy?: string;
}

export interface IntentConfig {
  intent: string;
  capabilities?: string[];
  turnScope?: 'first_only' | 'first_n' | 'all';
  /** With turnScope first_n. */
  n?: number;
  onTools?: 'always' | 'require' | 'ignore';
  minContentChars?: number;
  /** 0–1; absent: 1. */
  sampleRate?: number;
}

export interface GovernanceConfig {
  enabled: boolean;
  policies?: Partial<Record<GovernanceStage, StoredPolicy>>;
  /** Per stage: request and response default to open, action to closed (an action is what its check protects). */
  failModes?: Partial<Record<GovernanceStage, FailMode>>;
  /** Policy evaluation budget in ms (default 200). */
  evalBudgetMs?: number;
  /** How long a hold waits for a decision (default 1 hour). */
  approvalTtlMs?: number;
  intent?: IntentConfig;
  /** Static data for the policies, given to them as `input.data` (an object; absent: {}). */
  data?: Record<string, unknown>;
}

export interface ApiKeyRecord {
  /** Public key id, e.g. key_3f9a…; safe to log. */
  id: string;
  /** SHA-256 hex of the full secret key; the key itself is never stored. */
  hash: string;
  proxyId: string;
  orgId: string;
  name?: string;
  createdAt: string;
  /** ISO time after which the key stops working. */
  expiresAt?: string;
  /** ISO time at which the key was revoked. */
  revokedAt?: string;
}

export interface ControlStore {
  getProxy(id: string): Promise<ProxyConfig | undefined>;
  /** Creates or replaces. */
  putProxy(proxy: ProxyConfig): Promise<void>;
  listProxies(): Promise<ProxyConfig[]>;
  /** Returns false when there was no such proxy. */
  deleteProxy(id: string): Promise<boolean>;

  getKeyByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  /** Fails if a key with the same id or hash exists. */
  putKey(key: ApiKeyRecord): Promise<void>;
  listKeys(proxyId?: string): Promise<ApiKeyRecord[]>;
  /** Marks the key revoked; returns false when there was no such key. */
  revokeKey(id: string, at: string): Promise<boolean>;
  /**
   * A number that changes whenever another process changed the store (the local file
   * store, watched); absent or undefined where changes are only seen after a cache TTL.
   */
  generation?(): number | undefined;
}

/** A string cache with per-entry TTL. In-process LRU here; Redis and DynamoDB layers later. */
export interface Cache {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
}
