import type { CallerAwsCredentials } from './aws-credentials.js';
import type { AzureSettings, GcpSettings, ProviderName, ProxyConfig } from '../stores/types.js';

/**
 * The upstream one request goes to: the proxy's own, or (where the proxy allows it) the
 * one the request picked with `X-Sluice-Upstream`. Everything after routing reads this,
 * never the proxy's provider fields directly.
 */
export interface UpstreamTarget {
  provider: ProviderName;
  baseUrl: string;
  /** Where the configured credential comes from (`env:`, `secret:`); absent: none, or the caller's. */
  credentialRef?: string;
  /** Keys in rotation (two or more references; `credentialRef` is then the one chosen for this attempt). */
  credentialRefs?: string[];
  /** The caller's provider credential for this request (BYOK); never logged or traced. */
  callerCredential?: string;
  /** The caller's own AWS credentials (Bedrock); never stored, logged, traced or cached. */
  callerAws?: CallerAwsCredentials;
  allowPrivateNetwork: boolean;
  azure?: AzureSettings & { deployment?: string };
  gcp?: GcpSettings;
  /** `proxy`: the proxy's own upstream; otherwise the `X-Sluice-Upstream` value's kind. */
  via: 'proxy' | 'named' | 'alias' | 'url';
  /** The named upstream or alias (`azure`, `openrouter`, `vertex`) the request picked. */
  name?: string;
}

/** The proxy's own upstream. */
export function proxyTarget(proxy: ProxyConfig, providerKey: string | undefined, callerAws?: CallerAwsCredentials): UpstreamTarget {
  return {
    provider: proxy.provider,
    baseUrl: proxy.baseUrl,
    ...(proxy.credentialRef ? { credentialRef: proxy.credentialRef } : {}),
    ...(!providerKey && (proxy.routing?.credentials?.length ?? 0) > 1 ? { credentialRefs: [...proxy.routing!.credentials!] } : {}),
    ...(providerKey ? { callerCredential: providerKey } : {}),
    ...(callerAws ? { callerAws } : {}),
    allowPrivateNetwork: proxy.allowPrivateNetwork,
    ...(proxy.azure ? { azure: { ...proxy.azure } } : {}),
    ...(proxy.gcp ? { gcp: { ...proxy.gcp } } : {}),
    via: 'proxy',
  };
}
