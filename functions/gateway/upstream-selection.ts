import { SsrfError } from '../net/index.js';
import { DEFAULT_BASE_URLS } from '../providers/openai/api.js';
import { azureBaseUrl } from '../providers/azure-openai/api.js';
import { vertexBaseUrlFor } from '../providers/vertex/api.js';
import { defaultBedrockBaseUrl } from '../providers/bedrock/transport.js';
import type { CallerAwsCredentials } from '../upstream/aws-credentials.js';
import type { NamedUpstream, ProxyConfig } from '../stores/types.js';
import { badGateway, badRequest, forbidden, GatewayError, unauthorized } from '../upstream/errors.js';
import { UPSTREAM_SELECTION_HEADERS, type SluiceRequestHeaders } from './request-headers.js';
import type { GatewayDeps } from './types.js';
import { proxyTarget, type UpstreamTarget } from '../upstream/target.js';

/** Built-in upstreams a request may name (a proxy's named upstream of the same name wins). */
export const UPSTREAM_ALIASES = ['azure', 'bedrock', 'openrouter', 'vertex'] as const;

const UPSTREAM = 'x-sluice-upstream';

/**
 * The upstream of one request: the proxy's own, or the one `X-Sluice-Upstream` picks where
 * the proxy allows it (`upstreamSelection`). In order:
 *
 * - any selection header on a proxy without upstream selection → 403 `upstream_selection_forbidden`;
 * - a proxy's named upstream (`proxy.upstreams[name]`) → that upstream with its configured
 *   credential (the caller's, when it has none), its own private-network setting;
 * - `azure` (needs X-Sluice-Azure-Resource), `openrouter`, `vertex` (needs X-Sluice-GCP-Project
 *   and -Location) → the provider's public endpoint with the caller's credential;
 * - an `https://` base URL → an OpenAI-compatible upstream with the caller's credential,
 *   SSRF-checked here with private networks refused (403 `upstream_blocked`);
 * - built-in aliases and URLs without the caller's credential → 401 `missing_provider_key`.
 *
 * X-Sluice-Azure-Deployment / -Api-Version apply to any Azure OpenAI upstream (the proxy's
 * own included); X-Sluice-Azure-Resource only to `azure`, the GCP headers only to `vertex`.
 * A header that does not apply to the chosen upstream is a 400. Values are never echoed.
 */
export async function selectUpstream(
  deps: Pick<GatewayDeps, 'upstreamGuard'>,
  proxy: ProxyConfig,
  headers: SluiceRequestHeaders,
  callerCredential: string | undefined,
  callerAws?: CallerAwsCredentials,
): Promise<UpstreamTarget> {
  const sent = sentSelectionHeaders(headers);
  // Caller AWS credentials reach a Bedrock upstream only (the auth plugin let them in for this proxy).
  if (sent.length === 0) return proxyTarget(proxy, callerCredential, proxy.provider === 'bedrock' ? callerAws : undefined);
  if (!proxy.upstreamSelection) {
    throw forbidden(`This proxy does not allow per-request upstream selection (${sent.join(', ')} sent); see docs/providers.md.`, 'upstream_selection_forbidden');
  }
  const choice = headers.upstream;
  let target: UpstreamTarget;
  if (choice === undefined) target = proxyTarget(proxy, callerCredential, proxy.provider === 'bedrock' ? callerAws : undefined);
  else if (proxy.upstreams && Object.hasOwn(proxy.upstreams, choice)) {
    target = namedTarget(proxy.upstreams[choice]!, choice, callerCredential, callerAws);
  } else if (choice === 'azure') {
    if (!headers.azureResource) throw badRequest('X-Sluice-Upstream: azure needs X-Sluice-Azure-Resource (the resource name in https://<resource>.openai.azure.com).', 'invalid_header', 'x-sluice-azure-resource');
    target = { provider: 'azure-openai', baseUrl: azureBaseUrl(headers.azureResource), callerCredential: needCredential(callerCredential, choice), allowPrivateNetwork: false, via: 'alias', name: choice };
  } else if (choice === 'bedrock') {
    if (!callerAws) {
      throw unauthorized(
        'X-Sluice-Upstream: bedrock signs with your own AWS credentials: send X-Sluice-AWS-Access-Key-Id, X-Sluice-AWS-Secret-Access-Key and X-Sluice-AWS-Region (and X-Sluice-AWS-Session-Token for temporary credentials).',
        'missing_provider_credentials',
      );
    }
    // The host comes from the Region (a closed list), never from the caller.
    target = { provider: 'bedrock', baseUrl: defaultBedrockBaseUrl(callerAws.region), callerAws, allowPrivateNetwork: false, via: 'alias', name: choice };
  } else if (choice === 'openrouter') {
    target = { provider: 'openrouter', baseUrl: DEFAULT_BASE_URLS.openrouter!, callerCredential: needCredential(callerCredential, choice), allowPrivateNetwork: false, via: 'alias', name: choice };
  } else if (choice === 'vertex') {
    if (!headers.gcpProject || !headers.gcpLocation) {
      throw badRequest('X-Sluice-Upstream: vertex needs X-Sluice-GCP-Project and X-Sluice-GCP-Location.', 'invalid_header', headers.gcpProject ? 'x-sluice-gcp-location' : 'x-sluice-gcp-project');
    }
    const location = headers.gcpLocation;
    target = {
      provider: 'vertex',
      baseUrl: vertexBaseUrlFor(location),
      callerCredential: needCredential(callerCredential, choice),
      allowPrivateNetwork: false,
      gcp: { project: headers.gcpProject, location },
      via: 'alias',
      name: choice,
    };
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(choice)) {
    const baseUrl = await checkedUrl(deps, choice);
    target = { provider: 'openai-compatible', baseUrl, callerCredential: needCredential(callerCredential, 'a URL'), allowPrivateNetwork: false, via: 'url' };
  } else {
    throw badRequest(`Header ${UPSTREAM} names no upstream of this proxy: use azure, bedrock, openrouter, vertex, a named upstream of the proxy, or an https:// base URL.`, 'unknown_upstream', UPSTREAM);
  }
  if (callerAws && !target.callerAws) {
    throw badRequest('X-Sluice-AWS-* credentials apply only to a Bedrock upstream (X-Sluice-Upstream: bedrock, or a named Bedrock upstream).', 'invalid_header', 'x-sluice-aws-access-key-id');
  }
  return withOverrides(target, headers);
}

/** A proxy's named upstream as a target: its configured credential, else the caller's. */
export function namedTarget(named: NamedUpstream, name: string, callerCredential: string | undefined, callerAws: CallerAwsCredentials | undefined): UpstreamTarget {
  return {
    provider: named.provider,
    baseUrl: named.baseUrl,
    ...(named.credentialRef ? { credentialRef: named.credentialRef } : callerCredential ? { callerCredential } : {}),
    credentialRefs: named.credentialRefs,
    ...(named.provider === 'bedrock' && callerAws ? { callerAws } : {}),
    allowPrivateNetwork: named.allowPrivateNetwork ?? false,
    ...(named.azure ? { azure: { ...named.azure } } : {}),
    ...(named.gcp ? { gcp: { ...named.gcp } } : {}),
    via: 'named',
    name,
  };
}

/** What the trace records about the choice: never the credential (the auth plugin fingerprints it). */
export function describeTarget(target: UpstreamTarget): Record<string, unknown> {
  let host: string | undefined;
  try {
    host = new URL(target.baseUrl).host;
  } catch {
    host = undefined;
  }
  return {
    via: target.via,
    ...(target.name !== undefined ? { name: target.name } : {}),
    provider: target.provider,
    ...(host !== undefined ? { host } : {}),
    // Whose credential goes upstream; the caller's is fingerprinted by the auth plugin (providerKeyFingerprint).
    credential: target.callerCredential || target.callerAws ? 'caller' : target.credentialRef ? 'configured' : 'none',
  };
}

function sentSelectionHeaders(h: SluiceRequestHeaders): string[] {
  return UPSTREAM_SELECTION_HEADERS.filter(([, field]) => h[field] !== undefined).map(([name]) => name);
}

function withOverrides(target: UpstreamTarget, h: SluiceRequestHeaders): UpstreamTarget {
  if (h.azureResource !== undefined && !(target.via === 'alias' && target.name === 'azure')) {
    throw badRequest('X-Sluice-Azure-Resource applies only with X-Sluice-Upstream: azure.', 'invalid_header', 'x-sluice-azure-resource');
  }
  for (const [value, name] of [[h.gcpProject, 'x-sluice-gcp-project'], [h.gcpLocation, 'x-sluice-gcp-location']] as const) {
    if (value !== undefined && !(target.via === 'alias' && target.name === 'vertex')) {
      throw badRequest(`${name} applies only with X-Sluice-Upstream: vertex.`, 'invalid_header', name);
    }
  }
  if (h.azureDeployment === undefined && h.azureApiVersion === undefined) return target;
  if (target.provider !== 'azure-openai') {
    const name = h.azureDeployment !== undefined ? 'x-sluice-azure-deployment' : 'x-sluice-azure-api-version';
    throw badRequest(`${name} applies only to an Azure OpenAI upstream.`, 'invalid_header', name);
  }
  return {
    ...target,
    azure: {
      ...target.azure,
      ...(h.azureApiVersion !== undefined ? { apiVersion: h.azureApiVersion } : {}),
      ...(h.azureDeployment !== undefined ? { deployment: h.azureDeployment } : {}),
    },
  };
}

function needCredential(credential: string | undefined, what: string): string {
  if (credential) return credential;
  throw unauthorized(
    `Selecting ${what === 'a URL' ? 'an upstream by URL' : `the '${what}' upstream`} needs your provider credential: send the gateway key in \`X-Sluice-Key\` and the provider credential in \`Authorization: Bearer …\`.`,
    'missing_provider_key',
  );
}

/** A request-given base URL: https, no userinfo, query or fragment, and an address the SSRF guard allows (private networks never). */
async function checkedUrl(deps: Pick<GatewayDeps, 'upstreamGuard'>, raw: string): Promise<string> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badRequest(`Header ${UPSTREAM} is not a valid absolute URL.`, 'invalid_header', UPSTREAM);
  }
  if (url.search !== '' || url.hash !== '') throw badRequest(`Header ${UPSTREAM} must be a base URL without query or fragment.`, 'invalid_header', UPSTREAM);
  try {
    await deps.upstreamGuard.check(raw, { allowPrivateNetwork: false });
  } catch (err) {
    if (!(err instanceof SsrfError)) throw err instanceof GatewayError ? err : badGateway('The upstream URL could not be checked.', 'upstream_blocked');
    if (err.reason === 'invalid-url') throw badRequest(`Header ${UPSTREAM} is not a valid absolute URL.`, 'invalid_header', UPSTREAM);
    if (err.reason === 'unresolvable') throw badGateway(`The ${UPSTREAM} host could not be resolved.`, 'upstream_unresolvable');
    // The reason only: the guard's message names the host and its address.
    throw forbidden(`The ${UPSTREAM} URL is not allowed (${describeReason(err.reason)}).`, 'upstream_blocked');
  }
  return raw;
}

function describeReason(reason: string): string {
  if (reason === 'scheme') return 'https only';
  if (reason === 'userinfo') return 'credentials in the URL';
  return `${reason} address`;
}
