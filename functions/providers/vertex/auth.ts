import { createHash, createSign } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { pinnedRequestOptions, SsrfError, type CheckedTarget } from '../../net/index.js';
import type { AwsCredentialIdentity } from '@smithy/types';
import { badGateway, GatewayError } from '../../upstream/errors.js';
import { exchangeWorkloadIdentity, parseExternalAccount, WIF_REF_PREFIX, wifConfigFromRef, type ExternalAccountConfig, type GooglePoster, type WifDeps } from './workload-identity.js';

/**
 * OAuth2 access tokens for Vertex AI from a Google service-account JSON key (the
 * "JWT bearer" grant, RFC 7523, as Google's client libraries do it): a JWT signed RS256
 * with the account's private key is posted to its `token_uri` and exchanged for a
 * bearer token. Tokens are cached per account and key until 5 minutes before they
 * expire, and concurrent first requests share one exchange. Neither the key, the
 * assertion nor the token ever appears in an error message.
 */

export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
export const DEFAULT_TOKEN_URI = 'https://oauth2.googleapis.com/token';
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** A token is renewed this long before its expiry. */
export const REFRESH_MARGIN_MS = 5 * 60_000;
/** Lifetime asked for in the assertion (Google's maximum). */
const ASSERTION_LIFETIME_S = 3600;
const MAX_TOKEN_RESPONSE = 64 * 1024;
const TOKEN_TIMEOUT_MS = 10_000;
const MAX_PARSED_KEYS = 64;

export interface ServiceAccountKey {
  client_email: string;
  private_key: string;
  private_key_id?: string;
  token_uri: string;
}

/** The answer of a token endpoint: its status and body text. */
export interface TokenResponse {
  status: number;
  body: string;
}

/** Posts a form body to the checked (pinned) token endpoint address. */
export type TokenPoster = (target: CheckedTarget, form: string) => Promise<TokenResponse>;

export interface GoogleTokenSource {
  /**
   * An access token for the service account whose JSON key this is — or, for an
   * `external_account` (AWS) credential file, one obtained by workload identity federation.
   */
  accessToken(credentialJson: string, opts: { allowPrivateNetwork: boolean }): Promise<string>;
  /** An access token by workload identity federation (a `gcp-wif:` reference), no GCP key involved. */
  workloadIdentityToken(config: ExternalAccountConfig, opts: { allowPrivateNetwork: boolean }): Promise<string>;
  /** Drops a cached token Vertex refused (401: revoked before its expiry), so the next request exchanges a new one. */
  forget(token: string): void;
}

export interface GoogleTokenSourceOptions {
  /** The SSRF guard upstream base URLs pass (the token_uri passes it too). */
  guard: { check(url: string, opts: { allowPrivateNetwork: boolean }): Promise<CheckedTarget> };
  /** Sends the exchange; default: node:http(s) to the pinned address. */
  post?: TokenPoster;
  /** Epoch milliseconds; default Date.now. */
  now?: () => number;
  /** Sends the workload identity exchanges (form or JSON); default: node:http(s) to the pinned address. */
  googlePost?: GooglePoster;
  /** The function's AWS credentials and Region for workload identity federation; default: the SDK's default chain, AWS_REGION. */
  aws?: { credentials: () => Promise<AwsCredentialIdentity>; region: string };
}

/** Reads a service-account JSON key; a clear 502 (naming no field value) when it is not one. */
export function parseServiceAccount(json: string): ServiceAccountKey {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw credentialError('is not JSON (a Google service-account key file is expected)');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw credentialError('is not a JSON object');
  const o = parsed as Record<string, unknown>;
  if (o.type !== undefined && o.type !== 'service_account') throw credentialError(`has type '${typeof o.type === 'string' ? o.type.slice(0, 40) : typeof o.type}', not 'service_account'`);
  const missing = ['client_email', 'private_key'].filter((k) => typeof o[k] !== 'string' || o[k] === '');
  if (missing.length) throw credentialError(`lacks ${missing.join(' and ')}`);
  if (o.token_uri !== undefined && typeof o.token_uri !== 'string') throw credentialError('has a token_uri that is not a string');
  return {
    client_email: o.client_email as string,
    private_key: o.private_key as string,
    ...(typeof o.private_key_id === 'string' && o.private_key_id ? { private_key_id: o.private_key_id } : {}),
    token_uri: (o.token_uri as string | undefined) || DEFAULT_TOKEN_URI,
  };
}

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

/** The signed assertion: header {alg RS256, typ JWT, kid}, claims iss/sub/scope/aud/iat/exp. */
export function signAssertion(sa: ServiceAccountKey, nowMs: number): string {
  const iat = Math.floor(nowMs / 1000);
  const header = { alg: 'RS256', typ: 'JWT', ...(sa.private_key_id ? { kid: sa.private_key_id } : {}) };
  const claims = { iss: sa.client_email, sub: sa.client_email, scope: CLOUD_PLATFORM_SCOPE, aud: sa.token_uri, iat, exp: iat + ASSERTION_LIFETIME_S };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  let signature: Buffer;
  try {
    signature = createSign('RSA-SHA256').update(input).sign(sa.private_key);
  } catch {
    throw credentialError('has a private_key that is not a usable RSA PEM key');
  }
  return `${input}.${b64url(signature)}`;
}

interface CacheEntry {
  /** Epoch ms after which the token is renewed (expiry minus the margin). */
  renewAt: number;
  token: Promise<string>;
  /** The token, once the exchange resolved. */
  value?: string;
}

/** A token source with a per-account cache and one exchange in flight per account. */
export function createGoogleTokenSource(opts: GoogleTokenSourceOptions): GoogleTokenSource {
  const post = opts.post ?? postForm;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, CacheEntry>();
  // The same key JSON arrives on every request: parsed and fingerprinted once (a few accounts at most; cleared if it ever grows).
  const parsed = new Map<string, { sa: ServiceAccountKey; fingerprint: string }>();
  const read = (json: string) => {
    let hit = parsed.get(json);
    if (!hit) {
      const sa = parseServiceAccount(json);
      hit = { sa, fingerprint: `${sa.client_email} ${sa.token_uri} ${createHash('sha256').update(sa.private_key).digest('hex')}` };
      if (parsed.size >= MAX_PARSED_KEYS) parsed.clear();
      parsed.set(json, hit);
    }
    return hit;
  };

  const exchange = async (sa: ServiceAccountKey, allowPrivateNetwork: boolean, entry: CacheEntry): Promise<string> => {
    let target: CheckedTarget;
    try {
      target = await opts.guard.check(sa.token_uri, { allowPrivateNetwork });
    } catch (err) {
      if (err instanceof SsrfError) throw badGateway(`The service account's token_uri is not allowed: ${err.message}`, 'upstream_blocked');
      throw err;
    }
    const sentAt = now();
    const form = new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion: signAssertion(sa, sentAt) }).toString();
    const answer = await post(target, form);
    const { token, expiresInS } = readTokenResponse(answer, sa.client_email);
    // Renew 5 minutes early; a token that lives shorter than that is used once, not cached.
    entry.renewAt = sentAt + expiresInS * 1000 - REFRESH_MARGIN_MS;
    entry.value = token;
    return token;
  };

  const cached = (key: string, run: (entry: CacheEntry) => Promise<string>): Promise<string> => {
    const hit = cache.get(key);
    // In flight (renewAt Infinity) or still fresh: shared.
    if (hit && now() < hit.renewAt) return hit.token;
    const entry: CacheEntry = { renewAt: Number.POSITIVE_INFINITY, token: Promise.resolve('') };
    entry.token = run(entry);
    cache.set(key, entry);
    entry.token.catch(() => {
      if (cache.get(key) === entry) cache.delete(key);
    });
    return entry.token;
  };

  let wifDeps: WifDeps | undefined;
  const federation = (config: ExternalAccountConfig, allowPrivateNetwork: boolean) =>
    cached(`wif ${allowPrivateNetwork ? 'p' : 'n'} ${JSON.stringify(config)}`, async (entry) => {
      wifDeps ??= {
        guard: opts.guard,
        post: opts.googlePost ?? postGoogle,
        now,
        region: opts.aws?.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
        awsCredentials: opts.aws?.credentials ?? defaultAwsCredentials(),
      };
      const { token, expiresAt } = await exchangeWorkloadIdentity(config, wifDeps, allowPrivateNetwork);
      entry.renewAt = expiresAt - REFRESH_MARGIN_MS;
      entry.value = token;
      return token;
    });

  return {
    async accessToken(credentialJson, { allowPrivateNetwork }) {
      const external = externalAccountIn(credentialJson);
      if (external) return federation(external, allowPrivateNetwork);
      const { sa, fingerprint } = read(credentialJson);
      return cached(`${allowPrivateNetwork ? 'p' : 'n'} ${fingerprint}`, (entry) => exchange(sa, allowPrivateNetwork, entry));
    },
    workloadIdentityToken: (config, { allowPrivateNetwork }) => federation(config, allowPrivateNetwork),
    forget(token) {
      for (const [key, entry] of cache) if (entry.value === token) cache.delete(key);
    },
  };
}

/** `{access_token, expires_in, token_type}` or `{error, error_description}` → the token, or a 502. */
export function readTokenResponse(answer: TokenResponse, account: string): { token: string; expiresInS: number } {
  let json: Record<string, unknown> | undefined;
  try {
    const parsed = JSON.parse(answer.body) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  if (answer.status !== 200 || !json || typeof json.access_token !== 'string' || json.access_token === '') {
    const error = typeof json?.error === 'string' ? safeText(json.error) : undefined;
    const description = typeof json?.error_description === 'string' ? safeText(json.error_description) : undefined;
    const detail = error ? `${error}${description ? `: ${description}` : ''}` : answer.status === 200 ? 'no access_token in the answer' : `HTTP ${answer.status}`;
    throw badGateway(`Google's token endpoint refused the Vertex AI service account ${account} (${detail}).`, 'upstream_auth_failed');
  }
  if (json.token_type !== undefined && typeof json.token_type === 'string' && json.token_type.toLowerCase() !== 'bearer') {
    throw badGateway(`Google's token endpoint issued a '${safeText(json.token_type)}' token for ${account}; a Bearer token is expected.`, 'upstream_auth_failed');
  }
  const expiresInS = typeof json.expires_in === 'number' ? json.expires_in : Number(json.expires_in ?? 3600);
  return { token: json.access_token, expiresInS: Number.isFinite(expiresInS) && expiresInS > 0 ? expiresInS : 0 };
}

/** Provider text in a message: short, and anything shaped like a JWT or a long token removed. */
function safeText(text: string): string {
  return text
    .replace(/eyJ[\w-]*\.[\w-]*\.?[\w-]*/g, '[redacted]')
    .replace(/[A-Za-z0-9._~+/=-]{40,}/g, '[redacted]')
    .slice(0, 200);
}

function credentialError(problem: string): GatewayError {
  return badGateway(`The Vertex AI credential ${problem}.`, 'upstream_credential_invalid');
}

/** An `external_account` credential file's configuration, else undefined (a service-account key, or not JSON). */
function externalAccountIn(json: string): ExternalAccountConfig | undefined {
  if (!json.includes('external_account')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return undefined;
  }
  const o = parsed as Record<string, unknown> | null;
  return o && typeof o === 'object' && o.type === 'external_account' ? parseExternalAccount(o) : undefined;
}

/** The AWS SDK's default credential chain (the function's role), loaded when federation is first used. */
function defaultAwsCredentials(): () => Promise<AwsCredentialIdentity> {
  let provider: Promise<() => Promise<AwsCredentialIdentity>> | undefined;
  return async () => {
    provider ??= import('@aws-sdk/credential-provider-node').then(({ defaultProvider }) => defaultProvider());
    return (await provider)();
  };
}

/** The default poster: node:http(s) to the checked address, no redirects, bounded answer. */
export const postForm: TokenPoster = (target, form) => postGoogle(target, form, { contentType: 'application/x-www-form-urlencoded' });

/** One POST to a checked Google endpoint (form or JSON, optional bearer): no redirects, bounded answer. */
export const postGoogle: GooglePoster = (target, text, { contentType, authorization }) =>
  new Promise((resolve, reject) => {
    const isHttps = target.url.protocol === 'https:';
    const body = Buffer.from(text);
    const req = (isHttps ? https : http).request({
      method: 'POST',
      path: `${target.url.pathname}${target.url.search}`,
      ...pinnedRequestOptions(target, {
        'content-type': contentType,
        ...(authorization ? { authorization } : {}),
        'content-length': String(body.length),
        accept: 'application/json',
        'user-agent': 'sluice-gateway/0.1',
      }),
    });
    const timer = setTimeout(() => req.destroy(new Error('timeout')), TOKEN_TIMEOUT_MS);
    timer.unref();
    req.on('error', (err) => {
      clearTimeout(timer);
      const code = (err as NodeJS.ErrnoException).code;
      reject(badGateway(`Google's token endpoint could not be reached (${code ?? err.message}).`, 'upstream_auth_failed'));
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_TOKEN_RESPONSE) chunks.push(c);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 502, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(badGateway(`Google's token endpoint answer was cut (${err.message}).`, 'upstream_auth_failed'));
      });
    });
    req.end(body);
  });

/**
 * The bearer token for a Vertex call: the caller's own OAuth access token where the
 * request brings one (BYOK), else one exchanged for the configured service-account key.
 */
export async function vertexAccessToken(
  target: { callerCredential?: string; credentialRef?: string; allowPrivateNetwork: boolean },
  resolve: (ref: string) => Promise<string>,
  tokens: GoogleTokenSource,
): Promise<string> {
  if (target.callerCredential) return target.callerCredential;
  if (target.credentialRef?.startsWith(WIF_REF_PREFIX)) return tokens.workloadIdentityToken(wifConfigFromRef(target.credentialRef), { allowPrivateNetwork: target.allowPrivateNetwork });
  if (!target.credentialRef) throw badGateway('No Vertex AI credential is configured: give the proxy a service-account key (--credential secret:NAME), or make it BYOK so callers send their own OAuth access token.', 'upstream_credential_missing');
  return tokens.accessToken(await resolve(target.credentialRef), { allowPrivateNetwork: target.allowPrivateNetwork });
}
