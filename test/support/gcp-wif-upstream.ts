/**
 * A wire-faithful stand-in for Google Cloud's Security Token Service and IAM Credentials,
 * as workload identity federation from AWS uses them (one local HTTP server):
 *
 * | route | what it does |
 * |---|---|
 * | `POST /v1/token` | RFC 8693 token exchange, form-encoded: `grant_type` token-exchange, `requested_token_type` access_token, `subject_token_type` `urn:ietf:params:aws:token-type:aws4_request`, `scope` with cloud-platform, `audience` = the pool provider. The `subject_token` is URL-encoded JSON `{url, method, headers:[{key,value}]}` of a signed AWS STS GetCallerIdentity request: it must be `POST https://sts.<region>.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15`, carry `x-goog-cloud-target-resource` = the audience (signed), and its SigV4 signature (service `sts`) must verify against the AWS role credentials this server trusts (Google's STS replays it to AWS; here the signature is checked directly). Answers `{access_token, issued_token_type, token_type: "Bearer", expires_in}`; errors are OAuth's `{error, error_description}` |
 * | `POST /v1/projects/-/serviceAccounts/{email}:generateAccessToken` | needs `Authorization: Bearer <a federated token this server issued>` and a JSON body `{scope: [...cloud-platform], lifetime}`; the email must be one the pool may impersonate → `{accessToken, expireTime}`; errors are Google's `{error:{code,message,status}}` |
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { sigV4Problem, type AwsTestCredentials } from './bedrock-upstream.js';
import { listenLocal, readBody, upstreamHandle, type UpstreamHandle } from './local-server.js';

export const WIF_TEST_AUDIENCE = '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/sluice-pool/providers/aws-provider';
export const WIF_TEST_SERVICE_ACCOUNT = 'vertex-caller@sluice-test-project.iam.gserviceaccount.com';

export interface WifRecordedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface WifUpstream extends UpstreamHandle<WifRecordedRequest> {
  /** The STS token_url. */
  readonly tokenUrl: string;
  /** The generateAccessToken URL for a service account. */
  impersonationUrl(serviceAccount: string): string;
  /** Token exchanges that succeeded, by kind. */
  readonly issued: { federated: number; impersonated: number };
}

export interface WifUpstreamOptions {
  /** The AWS credentials whose GetCallerIdentity signatures the pool trusts. */
  trusted: readonly AwsTestCredentials[];
  /** The Region the signed GetCallerIdentity must be for. */
  region: string;
  audience?: string;
  /** Service accounts the pool may impersonate. */
  serviceAccounts?: readonly string[];
  /** Called with every access token issued to a caller of Vertex (impersonated, or federated when used directly). */
  onToken?: (token: string) => void;
  lifetimeS?: number;
}

export async function startWifUpstream(opts: WifUpstreamOptions): Promise<WifUpstream> {
  const audience = opts.audience ?? WIF_TEST_AUDIENCE;
  const lifetimeS = opts.lifetimeS ?? 3600;
  const serviceAccounts = new Set(opts.serviceAccounts ?? [WIF_TEST_SERVICE_ACCOUNT]);
  const federated = new Set<string>();
  const requests: WifRecordedRequest[] = [];
  const issued = { federated: 0, impersonated: 0 };

  const server = createServer((req, res) => {
    void (async () => {
      const body = (await readBody(req)).toString('utf8');
      const path = req.url ?? '/';
      requests.push({ path, headers: req.headers, body });
      const send = (status: number, json: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(json));
      };
      const oauthError = (status: number, error: string, description: string) => send(status, { error, error_description: description });
      const googleError = (code: number, status: string, message: string) => send(code, { error: { code, message, status } });

      if (req.method === 'POST' && path === '/v1/token') {
        if (!String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded')) return oauthError(400, 'invalid_request', 'Request must be form-encoded.');
        const form = new URLSearchParams(body);
        if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:token-exchange') return oauthError(400, 'unsupported_grant_type', 'Unsupported grant type.');
        if (form.get('requested_token_type') !== 'urn:ietf:params:oauth:token-type:access_token') return oauthError(400, 'invalid_request', 'Invalid requested_token_type.');
        if (form.get('subject_token_type') !== 'urn:ietf:params:aws:token-type:aws4_request') return oauthError(400, 'invalid_request', 'Invalid subject_token_type.');
        if (!(form.get('scope') ?? '').split(' ').includes('https://www.googleapis.com/auth/cloud-platform')) return oauthError(400, 'invalid_scope', 'Invalid scope.');
        if (form.get('audience') !== audience) return oauthError(400, 'invalid_target', 'The target service indicated by the "audience" parameters is invalid.');
        const problem = subjectTokenProblem(form.get('subject_token') ?? '', audience, opts.region, opts.trusted);
        if (problem) return oauthError(400, 'invalid_grant', problem);
        const token = `ya29.federated-${randomBytes(12).toString('hex')}`;
        federated.add(token);
        issued.federated++;
        opts.onToken?.(token);
        return send(200, { access_token: token, issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', expires_in: lifetimeS });
      }

      const m = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):generateAccessToken$/.exec(path);
      if (req.method === 'POST' && m) {
        const bearer = /^Bearer (\S+)$/.exec(String(req.headers['authorization'] ?? ''))?.[1];
        if (!bearer || !federated.has(bearer)) return googleError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');
        const email = decodeURIComponent(m[1]!);
        if (!serviceAccounts.has(email)) return googleError(403, 'PERMISSION_DENIED', "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).");
        let parsed: { scope?: unknown; lifetime?: unknown };
        try {
          parsed = JSON.parse(body) as typeof parsed;
        } catch {
          return googleError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
        }
        if (!Array.isArray(parsed.scope) || !parsed.scope.includes('https://www.googleapis.com/auth/cloud-platform')) return googleError(400, 'INVALID_ARGUMENT', 'Scope required.');
        const token = `ya29.impersonated-${randomBytes(12).toString('hex')}`;
        issued.impersonated++;
        opts.onToken?.(token);
        return send(200, { accessToken: token, expireTime: new Date(Date.now() + lifetimeS * 1000).toISOString() });
      }
      googleError(404, 'NOT_FOUND', `No route for ${req.method} ${path}`);
    })().catch((err: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 500, status: 'INTERNAL', message: String(err) } }));
    });
  });
  const local = await listenLocal(server);
  const handle = upstreamHandle(local, '', requests);
  return {
    ...handle,
    tokenUrl: `${handle.url}/v1/token`,
    impersonationUrl: (sa) => `${handle.url}/v1/projects/-/serviceAccounts/${sa}:generateAccessToken`,
    issued,
  };
}

/** What GCP's STS checks in an AWS subject token; the problem, or undefined. */
export function subjectTokenProblem(subjectToken: string, audience: string, region: string, trusted: readonly AwsTestCredentials[]): string | undefined {
  let request: { url?: unknown; method?: unknown; headers?: unknown };
  try {
    request = JSON.parse(decodeURIComponent(subjectToken)) as typeof request;
  } catch {
    return 'The subject token is not a URL-encoded JSON serialization of a signed AWS request.';
  }
  if (request.method !== 'POST') return 'The AWS request must be a POST.';
  if (typeof request.url !== 'string') return 'The AWS request has no url.';
  const url = new URL(request.url);
  if (url.protocol !== 'https:' || url.hostname !== `sts.${region}.amazonaws.com`) return `The AWS request must go to https://sts.${region}.amazonaws.com.`;
  if (url.searchParams.get('Action') !== 'GetCallerIdentity' || url.searchParams.get('Version') !== '2011-06-15') return 'The AWS request must be GetCallerIdentity (Version 2011-06-15).';
  if (!Array.isArray(request.headers)) return 'The AWS request has no headers.';
  const headers: IncomingHttpHeaders = {};
  for (const h of request.headers as { key?: unknown; value?: unknown }[]) {
    if (typeof h.key !== 'string' || typeof h.value !== 'string') return 'Malformed header in the AWS request.';
    headers[h.key.toLowerCase()] = h.value;
  }
  if (headers['x-goog-cloud-target-resource'] !== audience) return 'The x-goog-cloud-target-resource header must name the workload identity pool provider.';
  const signed = /SignedHeaders=([^,]+)/.exec(String(headers['authorization'] ?? ''))?.[1]?.split(';') ?? [];
  if (!signed.includes('x-goog-cloud-target-resource') || !signed.includes('host')) return 'host and x-goog-cloud-target-resource must be signed.';
  const problem = sigV4Problem('POST', `${url.pathname}${url.search}`, headers, Buffer.alloc(0), trusted, region, 'sts');
  return problem ? `AWS did not accept the signed GetCallerIdentity request: ${problem}` : undefined;
}
