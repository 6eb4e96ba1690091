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
  | 'bedrock';

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
}

/** A string cache with per-entry TTL. In-process LRU here; Redis and DynamoDB layers later. */
export interface Cache {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
}
