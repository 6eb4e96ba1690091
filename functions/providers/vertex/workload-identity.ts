import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import type { AwsCredentialIdentity } from '@smithy/types';
import { SsrfError, type CheckedTarget } from '../../net/index.js';
import { badGateway, GatewayError } from '../../upstream/errors.js';

/**
 * Google Cloud workload identity federation from AWS, as Google's client libraries do it
 * for an `external_account` credential with an `aws1` credential source — no GCP key:
 *
 * 1. the function's own AWS credentials sign (SigV4, service `sts`) an AWS STS
 *    `GetCallerIdentity` request for the function's Region, with the pool provider's
 *    resource name in a signed `x-goog-cloud-target-resource` header; that request,
 *    serialized as JSON and URL-encoded, is the subject token (GCP's STS replays it to AWS
 *    to learn who is calling);
 * 2. GCP's STS (`token_url`) exchanges it (RFC 8693) for a federated access token;
 * 3. optionally, IAM Credentials' `generateAccessToken` (`service_account_impersonation_url`)
 *    turns that into a service account's access token.
 *
 * The AWS credentials are never sent, only a signature made with them.
 */

export const AWS_SUBJECT_TOKEN_TYPE = 'urn:ietf:params:aws:token-type:aws4_request';
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const DEFAULT_STS_TOKEN_URL = 'https://sts.googleapis.com/v1/token';
export const DEFAULT_VERIFICATION_URL = 'https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15';
const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const IMPERSONATION_LIFETIME = '3600s';
/** `//iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>` */
const AUDIENCE = /^\/\/iam\.googleapis\.com\/projects\/\d{1,20}\/locations\/global\/workloadIdentityPools\/[a-z0-9-]{4,32}\/providers\/[a-z0-9-]{4,32}$/;
const SERVICE_ACCOUNT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com$/;
export const WIF_REF_PREFIX = 'gcp-wif:';

/** What an `external_account` (AWS) credential configures. */
export interface ExternalAccountConfig {
  audience: string;
  tokenUrl: string;
  /** IAM Credentials' generateAccessToken URL for the service account to impersonate; absent: the federated token is used as is. */
  impersonationUrl?: string;
  /** Where GetCallerIdentity is signed for, `{region}` replaced by the function's Region. */
  verificationUrl: string;
}

export const impersonationUrlFor = (serviceAccount: string) => `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${serviceAccount}:generateAccessToken`;

/** `gcp-wif:<audience>[,service-account=<email>]`: well-formed or not (the CLI's check). */
export function isWifRef(ref: string): boolean {
  try {
    wifConfigFromRef(ref);
    return true;
  } catch {
    return false;
  }
}

/** The configuration a `gcp-wif:` credential reference stands for (Google's public endpoints). */
export function wifConfigFromRef(ref: string): ExternalAccountConfig {
  if (!ref.startsWith(WIF_REF_PREFIX)) throw credentialError(`reference must start with ${WIF_REF_PREFIX}`);
  const [audience = '', ...options] = ref.slice(WIF_REF_PREFIX.length).split(',');
  if (!AUDIENCE.test(audience)) throw credentialError('audience must be //iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>');
  let serviceAccount: string | undefined;
  for (const option of options) {
    const [name, value = ''] = option.split('=', 2) as [string, string?];
    if (name !== 'service-account' || !SERVICE_ACCOUNT.test(value)) throw credentialError('options must be service-account=<name>@<project>.iam.gserviceaccount.com');
    serviceAccount = value;
  }
  return { audience, tokenUrl: DEFAULT_STS_TOKEN_URL, verificationUrl: DEFAULT_VERIFICATION_URL, ...(serviceAccount ? { impersonationUrl: impersonationUrlFor(serviceAccount) } : {}) };
}

/** An `external_account` credential file (what `gcloud iam workload-identity-pools create-cred-config --aws` writes). */
export function parseExternalAccount(o: Record<string, unknown>): ExternalAccountConfig {
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const audience = str(o.audience);
  if (!audience) throw credentialError('lacks audience');
  if (o.subject_token_type !== AWS_SUBJECT_TOKEN_TYPE) throw credentialError(`has a subject_token_type other than ${AWS_SUBJECT_TOKEN_TYPE} (only the AWS credential source is served)`);
  const source = o.credential_source as Record<string, unknown> | undefined;
  if (!source || typeof source !== 'object' || typeof source.environment_id !== 'string' || !source.environment_id.startsWith('aws')) throw credentialError("has no AWS credential_source (environment_id 'aws1')");
  const tokenUrl = str(o.token_url) ?? DEFAULT_STS_TOKEN_URL;
  const impersonationUrl = str(o.service_account_impersonation_url);
  return { audience, tokenUrl, verificationUrl: str(source.regional_cred_verification_url) ?? DEFAULT_VERIFICATION_URL, ...(impersonationUrl ? { impersonationUrl } : {}) };
}

/** SHA-256 (HMAC with a secret) over node:crypto, in the shape @smithy/signature-v4 wants. */
class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', typeof secret === 'string' ? secret : Buffer.from(secret as ArrayBuffer));
  }
  update(data: string | Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

/**
 * The subject token: a SigV4-signed `POST` to GetCallerIdentity (empty body), as
 * `{url, method, headers: [{key, value}]}`, JSON then URL-encoded.
 */
export async function awsSubjectToken(cfg: ExternalAccountConfig, credentials: AwsCredentialIdentity, region: string, now: Date): Promise<string> {
  const url = new URL(cfg.verificationUrl.replace('{region}', region));
  const { SignatureV4 } = await import('@smithy/signature-v4');
  const signer = new SignatureV4({ service: 'sts', region, credentials, sha256: NodeSha256 });
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query,
      headers: { host: url.host, 'x-goog-cloud-target-resource': cfg.audience },
      body: '',
    },
    { signingDate: now },
  );
  const headers = Object.entries(signed.headers).map(([key, value]) => ({ key, value }));
  return encodeURIComponent(JSON.stringify({ url: url.href, method: 'POST', headers }));
}

/** Sends one request to a checked (pinned) Google endpoint: form or JSON body, optional bearer. */
export type GooglePoster = (target: CheckedTarget, body: string, opts: { contentType: string; authorization?: string }) => Promise<{ status: number; body: string }>;

export interface WifDeps {
  guard: { check(url: string, opts: { allowPrivateNetwork: boolean }): Promise<CheckedTarget> };
  post: GooglePoster;
  /** The function's own AWS credentials (the default credential chain). */
  awsCredentials: () => Promise<AwsCredentialIdentity>;
  /** The function's Region. */
  region: string;
  now: () => number;
}

/** The access token for Vertex and when it expires (epoch ms). */
export async function exchangeWorkloadIdentity(cfg: ExternalAccountConfig, deps: WifDeps, allowPrivateNetwork: boolean): Promise<{ token: string; expiresAt: number }> {
  let credentials: AwsCredentialIdentity;
  try {
    credentials = await deps.awsCredentials();
  } catch {
    throw badGateway("Workload identity federation needs the function's AWS credentials, and none were found in the default credential chain.", 'upstream_credential_missing');
  }
  const sentAt = deps.now();
  const subjectToken = await awsSubjectToken(cfg, credentials, deps.region, new Date(sentAt));
  const form = new URLSearchParams({
    grant_type: TOKEN_EXCHANGE_GRANT,
    audience: cfg.audience,
    scope: CLOUD_PLATFORM_SCOPE,
    requested_token_type: ACCESS_TOKEN_TYPE,
    subject_token_type: AWS_SUBJECT_TOKEN_TYPE,
    subject_token: subjectToken,
  }).toString();
  const sts = await deps.post(await checked(deps, cfg.tokenUrl, allowPrivateNetwork, "GCP's STS token_url"), form, { contentType: 'application/x-www-form-urlencoded' });
  const federated = readJson(sts, "GCP's STS refused the workload identity token exchange");
  if (typeof federated.access_token !== 'string' || federated.access_token === '') throw badGateway("GCP's STS answered without an access_token.", 'upstream_auth_failed');
  const expiresIn = Number(federated.expires_in ?? 3600);
  const federatedExpiry = sentAt + (Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 0) * 1000;
  if (!cfg.impersonationUrl) return { token: federated.access_token, expiresAt: federatedExpiry };

  const iam = await deps.post(
    await checked(deps, cfg.impersonationUrl, allowPrivateNetwork, 'the service_account_impersonation_url'),
    JSON.stringify({ scope: [CLOUD_PLATFORM_SCOPE], lifetime: IMPERSONATION_LIFETIME }),
    { contentType: 'application/json', authorization: `Bearer ${federated.access_token}` },
  );
  const impersonated = readJson(iam, 'IAM Credentials refused to impersonate the service account');
  if (typeof impersonated.accessToken !== 'string' || impersonated.accessToken === '') throw badGateway('IAM Credentials answered without an accessToken.', 'upstream_auth_failed');
  const expireTime = typeof impersonated.expireTime === 'string' ? Date.parse(impersonated.expireTime) : Number.NaN;
  return { token: impersonated.accessToken, expiresAt: Number.isFinite(expireTime) ? expireTime : sentAt };
}

async function checked(deps: WifDeps, url: string, allowPrivateNetwork: boolean, what: string): Promise<CheckedTarget> {
  try {
    return await deps.guard.check(url, { allowPrivateNetwork });
  } catch (err) {
    if (err instanceof SsrfError) throw badGateway(`The workload identity credential's ${what} is not allowed: ${err.message}`, 'upstream_blocked');
    throw err;
  }
}

/** A JSON object answer, or a 502 that quotes Google's error code and status (never a token). */
function readJson(answer: { status: number; body: string }, refusal: string): Record<string, unknown> {
  let json: Record<string, unknown> | undefined;
  try {
    const parsed = JSON.parse(answer.body) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  if (answer.status === 200 && json) return json;
  const oauth = typeof json?.error === 'string' ? json.error : undefined;
  const google = json?.error && typeof json.error === 'object' ? (json.error as Record<string, unknown>).status : undefined;
  const detail = [oauth, typeof google === 'string' ? google : undefined].filter(Boolean).join(', ').replace(/[^\w ,.-]/g, '').slice(0, 80);
  throw badGateway(`${refusal} (HTTP ${answer.status}${detail ? `: ${detail}` : ''}).`, 'upstream_auth_failed');
}

function credentialError(problem: string): GatewayError {
  return badGateway(`The Vertex AI workload identity credential ${problem}.`, 'upstream_credential_invalid');
}
