import { hashKey, looksLikeGatewayKey, secretFingerprint, timingSafeEqualHex } from '../../stores/keys.js';
import type { ProxyConfig } from '../../stores/types.js';
import { awsCredentialFingerprint } from '../../upstream/aws-credentials.js';
import { forbidden, unauthorized } from '../../upstream/errors.js';
import { signIdentity, verifyIdentity } from '../identity.js';
import type { GatewayDeps, Identity, Plugin, RequestState } from '../types.js';

/**
 * auth — gateway key → identity {keyId, proxyId, orgId}, cached as an HMAC-signed blob.
 * A key works only on its own proxy; an unknown proxy and another proxy's path get the
 * same 403 so the API does not reveal which proxies exist.
 */
export function authPlugin(deps: Pick<GatewayDeps, 'store' | 'cache' | 'identitySigningKey' | 'authCacheTtlMs' | 'now'>): Plugin {
  /**
   * Blobs this instance has already verified, by their exact text: the HMAC check is
   * skipped for the same bytes (a forged or altered blob is different text, so it is
   * still checked). Bounded; the oldest entries go first.
   */
  const verifiedBlobs = new Map<string, Identity>();
  const remember = (blob: string, identity: Identity | undefined): Identity | undefined => {
    if (!identity) return undefined;
    if (verifiedBlobs.size >= 10_000) verifiedBlobs.delete(verifiedBlobs.keys().next().value!);
    verifiedBlobs.set(blob, identity);
    return identity;
  };

  // A store that knows when another process changed it (the watched local file) moves the
  // cache to new keys on each change: a key revoked or a proxy changed with the CLI applies
  // on the next request instead of after the TTL; the old entries age out of the LRU.
  const generationTag = () => {
    const g = deps.store.generation?.();
    return g ? `g${g}:` : '';
  };

  async function identify(hash: string): Promise<Identity> {
    const signingKey = await deps.identitySigningKey();
    const cacheKey = `auth:${generationTag()}${hash}`;
    const cached = await deps.cache.get(cacheKey);
    const fromCache = cached === undefined ? undefined : verifiedBlobs.get(cached) ?? remember(cached, verifyIdentity(cached, signingKey));
    if (fromCache) return fromCache;

    const record = await deps.store.getKeyByHash(hash);
    if (!record || !timingSafeEqualHex(record.hash, hash)) throw unauthorized('Invalid gateway key.');
    if (record.revokedAt) throw unauthorized('This gateway key has been revoked.', 'key_revoked');
    const identity: Identity = { keyId: record.id, proxyId: record.proxyId, orgId: record.orgId };
    if (record.expiresAt) identity.expiresAt = Date.parse(record.expiresAt);
    await deps.cache.set(cacheKey, signIdentity(identity, signingKey), deps.authCacheTtlMs);
    return identity;
  }

  async function loadProxy(id: string): Promise<ProxyConfig | undefined> {
    const cacheKey = `proxy:${generationTag()}${id}`;
    const cached = await deps.cache.get(cacheKey);
    if (cached !== undefined) return JSON.parse(cached) as ProxyConfig;
    const proxy = await deps.store.getProxy(id);
    if (proxy) await deps.cache.set(cacheKey, JSON.stringify(proxy), deps.authCacheTtlMs);
    return proxy;
  }

  return {
    name: 'auth',
    async before(state: RequestState) {
      // Model calls and action checks (functions/gateway/action-check.ts) need a gateway key; approval polls check theirs.
      if (state.route.kind !== 'openai' && state.route.kind !== 'action') return;
      const { gatewayKey, providerKey } = state.route.kind === 'openai' && state.route.ingress === 'anthropic' ? extractAnthropicKeys(state.headers) : extractKeys(state.headers);
      if (!gatewayKey) {
        throw unauthorized('Missing gateway key: send `Authorization: Bearer sk-sluice-…` or `X-Sluice-Key: sk-sluice-…`.', 'missing_api_key');
      }
      if (!looksLikeGatewayKey(gatewayKey)) throw unauthorized('Invalid gateway key.');
      const keyHash = hashKey(gatewayKey);
      const identity = await identify(keyHash);
      if (identity.expiresAt !== undefined && identity.expiresAt <= deps.now()) {
        throw unauthorized('This gateway key has expired.', 'key_expired');
      }
      const pathProxyId = state.route.pathProxyId;
      if (pathProxyId !== undefined && pathProxyId !== identity.proxyId) {
        throw forbidden('This key is not valid for the requested proxy.', 'proxy_forbidden');
      }
      const proxy = await loadProxy(identity.proxyId);
      if (!proxy) throw forbidden('This key is not valid for the requested proxy.', 'proxy_forbidden');
      if (state.route.kind === 'action') return authenticated(state, identity, keyHash, proxy);
      // A request that picks its upstream (where the proxy allows it) brings that upstream's credential.
      if (providerKey && proxy.upstreamSelection && state.sluiceHeaders.upstream !== undefined) state.providerKey = providerKey;
      const callerAws = state.sluiceHeaders.callerAws;
      if (proxy.byok && proxy.provider === 'bedrock') {
        // A BYOK Bedrock proxy signs with the caller's AWS credentials only: never the function's role.
        if (!callerAws) {
          throw unauthorized(
            "This Bedrock proxy signs with the caller's own AWS credentials: send X-Sluice-AWS-Access-Key-Id, X-Sluice-AWS-Secret-Access-Key and X-Sluice-AWS-Region (and X-Sluice-AWS-Session-Token for temporary credentials).",
            'missing_provider_credentials',
          );
        }
        state.callerAws = callerAws;
      } else if (callerAws) {
        // Elsewhere only a request that picks a Bedrock upstream may bring them (upstream selection checks the choice).
        if (!proxy.upstreamSelection || state.sluiceHeaders.upstream === undefined) {
          throw forbidden('This proxy does not take caller AWS credentials (X-Sluice-AWS-* headers): they apply to a BYOK Bedrock proxy, or with X-Sluice-Upstream: bedrock where the proxy allows upstream selection.', 'caller_credentials_forbidden');
        }
        state.callerAws = callerAws;
      }
      if (proxy.byok && proxy.provider !== 'bedrock') {
        if (!providerKey) {
          throw unauthorized(
            'This proxy is in bring-your-own-key mode: send the gateway key in `X-Sluice-Key` and your provider key in `Authorization: Bearer …`.',
            'missing_provider_key',
          );
        }
        state.providerKey = providerKey;
      }
      authenticated(state, identity, keyHash, proxy);
    },
  };
}

/** The caller is known: identity, proxy and key fingerprints on the state, the trace and the log. */
function authenticated(state: RequestState, identity: Identity, keyHash: string, proxy: ProxyConfig): void {
  state.identity = identity;
  state.gatewayKeyHash = keyHash;
  state.proxy = proxy;
  state.trace.set({
    proxyId: proxy.id,
    orgId: identity.orgId,
    keyId: identity.keyId,
    // secretFingerprint(gatewayKey), from the hash already computed.
    keyFingerprint: keyHash.slice(0, 8),
    ...(state.providerKey ? { providerKeyFingerprint: secretFingerprint(state.providerKey) } : state.callerAws ? { providerKeyFingerprint: awsCredentialFingerprint(state.callerAws) } : {}),
  });
  state.log.appendKeys({ proxyId: proxy.id, keyId: identity.keyId });
}

/**
 * `X-Sluice-Key` always carries the gateway key; when it is present, `Authorization`
 * is the caller's provider key (BYOK). Otherwise `Authorization: Bearer` is the gateway key.
 */
export function extractKeys(headers: Record<string, string>): { gatewayKey?: string; providerKey?: string } {
  const sluiceKey = headers['x-sluice-key']?.trim();
  const bearer = parseBearer(headers['authorization']);
  if (sluiceKey) return bearer ? { gatewayKey: sluiceKey, providerKey: bearer } : { gatewayKey: sluiceKey };
  return bearer ? { gatewayKey: bearer } : {};
}

/**
 * The Anthropic SDK sends its key in `x-api-key`: there it is the gateway key, or — when
 * `X-Sluice-Key` carries the gateway key (BYOK) — the caller's Anthropic key.
 */
export function extractAnthropicKeys(headers: Record<string, string>): { gatewayKey?: string; providerKey?: string } {
  const apiKey = headers['x-api-key']?.trim() || undefined;
  const sluiceKey = headers['x-sluice-key']?.trim();
  if (sluiceKey) {
    const providerKey = apiKey ?? parseBearer(headers['authorization']);
    return providerKey ? { gatewayKey: sluiceKey, providerKey } : { gatewayKey: sluiceKey };
  }
  if (apiKey) return { gatewayKey: apiKey };
  return extractKeys(headers);
}

function parseBearer(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(value);
  return match?.[1];
}
