/**
 * A wire-faithful Vertex AI upstream for tests: Google's OAuth token endpoint and the
 * Vertex model paths, on one local server.
 *
 * | route | what it does |
 * |---|---|
 * | `POST /token` | the JWT-bearer grant: verifies the assertion (RS256 signature against the service account's public key, `kid`, `iss`/`sub`, `scope`, `aud` = this URL, `iat`/`exp`) and issues `{access_token, expires_in, token_type}`; errors are `{error, error_description}` |
 * | `POST /v1/projects/{p}/locations/{l}/publishers/anthropic/models/{m}:rawPredict` / `:streamRawPredict` | Claude: a Messages body without `model`, with `anthropic_version: "vertex-2023-10-16"` (and `stream: true` on streamRawPredict), answered as Anthropic does (the anthropic-upstream's model) |
 * | `POST /v1/projects/{p}/locations/{l}/publishers/anthropic/models/count-tokens:rawPredict` | `{input_tokens}` |
 * | `POST /v1/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent` / `:streamGenerateContent?alt=sse` | Gemini, answered by the gemini-upstream's handler when one is given; an `id` on a `functionCall` / `functionResponse` part → Vertex's 400 "Unknown name \"id\"" |
 * | `POST …/publishers/google/models/{m}:predict` | text embeddings: `instances[{content}]` → `predictions[{embeddings:{values, statistics:{token_count}}}]`; at most 250 instances, and a single one for Gemini Embedding models (`gemini-embedding-001`), as Vertex documents |
 *
 * Every model path checks `Authorization: Bearer <a token this endpoint issued and that
 * has not expired>` (or one registered with `acceptToken`, standing for a caller's own
 * OAuth token) → 401 UNAUTHENTICATED; the project and location → 403 PERMISSION_DENIED /
 * 400 INVALID_ARGUMENT. Errors are Google's `{"error":{"code","message","status"}}`.
 *
 * Scenario suffixes on the model (`claude-sonnet-4@20250514+cache`) are the anthropic
 * upstream's, plus `gerror=<status>` (a Google error), `gerror-array=<status>` (the same
 * in a JSON array, as Vertex sometimes sends) and `aerror=<status>` (Anthropic's own
 * error body, as Claude on Vertex answers model-level errors).
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenLocal, readBody, upstreamHandle } from './local-server.js';
import { createPublicKey, generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto';
import { answer, inputTokens, InvalidRequest, scenarioOf, streamEvents, usageFor, validate } from './anthropic-upstream.js';
import { countTokens, embeddingFor } from './upstream/content.js';

type Json = Record<string, unknown>;

export const VERTEX_TEST_PROJECT = 'sluice-test-project';
export const VERTEX_TEST_LOCATION = 'us-east5';

export interface ServiceAccount {
  /** The JSON key file's text, as Secrets Manager holds it. */
  json: string;
  clientEmail: string;
  keyId: string;
  privateKeyPem: string;
  publicKey: KeyObject;
}

/** A fresh RSA service-account key whose token_uri is the given URL. */
export function makeServiceAccount(tokenUri: string, name = 'sluice-gateway'): ServiceAccount {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const keyId = randomBytes(20).toString('hex');
  const clientEmail = `${name}@${VERTEX_TEST_PROJECT}.iam.gserviceaccount.com`;
  const json = JSON.stringify({
    type: 'service_account',
    project_id: VERTEX_TEST_PROJECT,
    private_key_id: keyId,
    private_key: privateKeyPem,
    client_email: clientEmail,
    client_id: '100000000000000000001',
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: tokenUri,
    auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
    client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(clientEmail)}`,
    universe_domain: 'googleapis.com',
  });
  return { json, clientEmail, keyId, privateKeyPem, publicKey: createPublicKey(privateKeyPem) };
}

export interface VertexRecordedRequest {
  method: string;
  /** Path with its query. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Json | undefined;
  /** The raw form of a token request. */
  form?: URLSearchParams;
}

/** A Gemini request handler (test/support/gemini-upstream.ts `handleGeminiModelCall`). */
export type GeminiModelHandler = (req: IncomingMessage, res: ServerResponse, call: { model: string; method: string; body: Json | undefined; sse?: boolean }) => void | Promise<void>;

export interface VertexUpstreamOptions {
  /** Project and locations the paths must name. */
  project?: string;
  locations?: string[];
  /** Lifetime of issued tokens, seconds (default 3600). */
  tokenLifetimeS?: number;
  /** The endpoint's clock (epoch ms; default Date.now): token expiry and assertion times are judged by it. */
  now?: () => number;
  /** Delay before a token answer (ms), to let concurrent exchanges overlap. */
  tokenDelayMs?: number;
  gemini?: GeminiModelHandler;
}

export interface VertexUpstream {
  /** Base URL ending in /v1 (what a proxy's baseUrl points at). */
  readonly url: string;
  /** The token endpoint, for a service account's token_uri. */
  readonly tokenUri: string;
  readonly requests: VertexRecordedRequest[];
  /** Successful token exchanges so far. */
  readonly exchanges: number;
  /** Tokens issued, in order. */
  readonly issued: string[];
  /** Registers a service account's public key (the endpoint knows accounts by client_email). */
  addServiceAccount(sa: ServiceAccount): void;
  /** A token the model paths accept without an exchange (a caller's own OAuth token). */
  acceptToken(token: string): void;
  /** Revokes every token issued so far (they answer 401 from now on). */
  revokeIssued(): void;
  /** Makes the next token requests fail with this OAuth error. */
  failTokens(error: { status: number; error: string; description: string } | undefined): void;
  reset(): void;
  close(): Promise<void>;
}

const googleError = (code: number, status: string, message: string) => ({ error: { code, message, status } });

/**
 * Vertex's generateContent has no `id` on `functionCall` / `functionResponse` parts (the
 * Gemini API does): it answers "Unknown name \"id\" at 'contents[N].parts[M].function_call'"
 * as reported against the live endpoint (charmbracelet/fantasy#265,
 * router-for-me/CLIProxyAPI#2549). The paths of such fields, in that form.
 */
function callIdFields(body: unknown): string[] {
  const contents = (body as { contents?: unknown } | undefined)?.contents;
  if (!Array.isArray(contents)) return [];
  const out: string[] = [];
  contents.forEach((c, i) => {
    const parts = (c as { parts?: unknown } | null)?.parts;
    if (!Array.isArray(parts)) return;
    parts.forEach((p, j) => {
      for (const [key, field] of [['functionCall', 'function_call'], ['functionResponse', 'function_response']] as const) {
        const v = (p as Record<string, unknown> | null)?.[key] as Record<string, unknown> | undefined;
        if (v && typeof v === 'object' && 'id' in v) out.push(`contents[${i}].parts[${j}].${field}`);
      }
    });
  });
  return out;
}
const STATUS_NAMES: Record<number, string> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED' };
const ANTHROPIC_ERROR_TYPES: Record<number, string> = { 400: 'invalid_request_error', 401: 'authentication_error', 403: 'permission_error', 404: 'not_found_error', 429: 'rate_limit_error', 500: 'api_error', 529: 'overloaded_error' };
const MODEL_PATH = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/(google|anthropic)\/models\/([^/:]+):([A-Za-z]+)$/;

export async function startVertexUpstream(opts: VertexUpstreamOptions = {}): Promise<VertexUpstream> {
  const project = opts.project ?? VERTEX_TEST_PROJECT;
  const locations = opts.locations ?? [VERTEX_TEST_LOCATION, 'global'];
  const now = opts.now ?? Date.now;
  const lifetimeS = opts.tokenLifetimeS ?? 3600;
  const accounts = new Map<string, ServiceAccount>();
  const tokens = new Map<string, number>();
  const accepted = new Set<string>();
  const requests: VertexRecordedRequest[] = [];
  const issued: string[] = [];
  let exchanges = 0;
  let counter = 0;
  let tokenFailure: { status: number; error: string; description: string } | undefined;
  let tokenUri = '';

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
    res.end(JSON.stringify(body));
  };
  const oauthError = (res: ServerResponse, status: number, error: string, description: string) => send(res, status, { error, error_description: description });

  /** What Google's token endpoint checks in a JWT-bearer grant; the problem, or the account. */
  function checkAssertion(assertion: string): { problem: string } | { account: ServiceAccount } {
    const parts = assertion.split('.');
    if (parts.length !== 3) return { problem: 'Invalid JWT: not three segments.' };
    let header: Json;
    let claims: Json;
    try {
      header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Json;
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Json;
    } catch {
      return { problem: 'Invalid JWT: segments are not base64url JSON.' };
    }
    if (header.alg !== 'RS256') return { problem: `Invalid JWT: alg ${String(header.alg)} is not RS256.` };
    const account = typeof claims.iss === 'string' ? accounts.get(claims.iss) : undefined;
    if (!account) return { problem: 'Invalid JWT: unknown issuer.' };
    if (header.kid !== account.keyId) return { problem: 'Invalid JWT Signature: unknown kid.' };
    if (!verify('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`), account.publicKey, Buffer.from(parts[2]!, 'base64url'))) return { problem: 'Invalid JWT Signature.' };
    if (claims.sub !== undefined && claims.sub !== account.clientEmail) return { problem: 'Invalid JWT: sub does not match iss.' };
    if (claims.aud !== tokenUri) return { problem: `Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. aud must be ${tokenUri}.` };
    if (typeof claims.scope !== 'string' || !claims.scope.split(' ').includes('https://www.googleapis.com/auth/cloud-platform')) return { problem: 'Invalid OAuth scope or ID token audience provided.' };
    const t = Math.floor(now() / 1000);
    if (typeof claims.iat !== 'number' || typeof claims.exp !== 'number') return { problem: 'Invalid JWT: iat and exp are required.' };
    if (claims.exp - claims.iat > 3600 || claims.exp <= claims.iat) return { problem: 'Invalid JWT: Token must be a short-lived token (60 minutes).' };
    if (claims.iat > t + 60 || claims.exp < t) return { problem: 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.' };
    return { account };
  }

  async function handleToken(req: IncomingMessage, res: ServerResponse, raw: string, record: VertexRecordedRequest): Promise<void> {
    if (req.method !== 'POST') return oauthError(res, 405, 'invalid_request', 'POST required');
    if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return oauthError(res, 400, 'invalid_request', 'Content-Type must be application/x-www-form-urlencoded');
    const form = new URLSearchParams(raw);
    record.form = form;
    if (opts.tokenDelayMs) await new Promise((r) => setTimeout(r, opts.tokenDelayMs));
    if (tokenFailure) return oauthError(res, tokenFailure.status, tokenFailure.error, tokenFailure.description);
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return oauthError(res, 400, 'unsupported_grant_type', 'Invalid grant_type.');
    const assertion = form.get('assertion');
    if (!assertion) return oauthError(res, 400, 'invalid_request', 'Missing required parameter: assertion');
    const checked = checkAssertion(assertion);
    if ('problem' in checked) return oauthError(res, 400, 'invalid_grant', checked.problem);
    const token = `ya29.test-${randomBytes(24).toString('base64url')}`;
    tokens.set(token, now() + lifetimeS * 1000);
    issued.push(token);
    exchanges++;
    send(res, 200, { access_token: token, expires_in: lifetimeS, token_type: 'Bearer' });
  }

  /** 401 unless the bearer token was issued here and is still valid (or was accepted as a caller's). */
  function authProblem(headers: IncomingHttpHeaders): string | undefined {
    const auth = headers.authorization ?? '';
    const m = /^Bearer (\S+)$/.exec(auth);
    if (!m) return 'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.';
    const token = m[1]!;
    if (accepted.has(token)) return undefined;
    const expiresAt = tokens.get(token);
    if (expiresAt === undefined || expiresAt <= now()) return 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.';
    return undefined;
  }

  function handleClaude(res: ServerResponse, model: string, method: string, body: Json | undefined): void | Promise<void> {
    if (method !== 'rawPredict' && method !== 'streamRawPredict') return send(res, 400, googleError(400, 'INVALID_ARGUMENT', `Method ${method} is not supported by anthropic models.`));
    if (!body) return send(res, 400, googleError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.'));
    if (model === 'count-tokens') {
      if (body.anthropic_version !== 'vertex-2023-10-16') return send(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: 'anthropic_version: Input should be vertex-2023-10-16' } });
      try {
        validate(body, true);
      } catch (err) {
        if (err instanceof InvalidRequest) return send(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: err.message } });
        throw err;
      }
      return send(res, 200, { input_tokens: inputTokens(body) });
    }
    // Claude on Vertex: the model is the URL's; a body `model` is refused, the version is required.
    if ('model' in body) return send(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: 'model: Extra inputs are not permitted' } });
    if (body.anthropic_version !== 'vertex-2023-10-16') return send(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: 'anthropic_version: Input should be vertex-2023-10-16' } });
    const streaming = method === 'streamRawPredict';
    if (streaming !== (body.stream === true)) return send(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: `stream must be ${streaming} on ${method}` } });
    const o = scenarioOf(model);
    for (const [name, array] of [['gerror', false], ['gerror-array', true]] as const) {
      const status = o.params.get(name);
      if (status === undefined) continue;
      const code = Number(status);
      const message = code === 429 ? `Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model with base model: anthropic-claude. Please submit a quota increase request.` : code === 400 ? 'Request contains an invalid argument.' : `Scenario error ${code}`;
      const err = googleError(code, STATUS_NAMES[code] ?? 'UNKNOWN', message);
      return send(res, code, array ? [err] : err);
    }
    const aerror = o.params.get('aerror');
    if (aerror !== undefined) {
      const code = Number(aerror);
      const message = code === 400 && o.scenario.has('context') ? 'prompt is too long: 210000 tokens > 200000 maximum' : `Scenario error ${code}`;
      return send(res, code, { type: 'error', error: { type: ANTHROPIC_ERROR_TYPES[code] ?? 'api_error', message } });
    }
    const withModel = { ...body, model };
    try {
      validate(withModel, false);
    } catch (err) {
      if (err instanceof InvalidRequest) return send(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: err.message } });
      throw err;
    }
    const { blocks, stopReason } = answer(withModel, o);
    const usage = usageFor(withModel, blocks, o);
    const id = `msg_vrtx_${String(++counter).padStart(6, '0')}`;
    // Vertex reports the model without the publisher's version suffix.
    const reported = model.split('+')[0]!;
    if (!streaming) return send(res, 200, { id, type: 'message', role: 'assistant', model: reported, content: blocks, stop_reason: stopReason, stop_sequence: null, usage });
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    const cutAfter = o.params.has('cut') ? Number(o.params.get('cut')) : undefined;
    const events = streamEvents(id, reported, blocks, stopReason, usage);
    return (async () => {
      for (let i = 0; i < events.length; i++) {
        if (res.destroyed) return;
        if (cutAfter === i) {
          res.socket?.destroy();
          return;
        }
        const [name, data] = events[i]!;
        await new Promise<void>((resolve) => res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`, () => resolve()));
      }
      res.end();
    })();
  }

  function handleEmbeddings(res: ServerResponse, model: string, body: Json | undefined): void {
    const instances = body?.instances;
    if (!Array.isArray(instances) || instances.length === 0) return send(res, 400, googleError(400, 'INVALID_ARGUMENT', 'instances: at least one instance is required.'));
    if (instances.length > 250) return send(res, 400, googleError(400, 'INVALID_ARGUMENT', 'Too many instances: at most 250.'));
    // Gemini Embedding models take a single input text per request (Vertex AI "Get text embeddings", API limits).
    if (/^gemini-embedding/.test(model) && instances.length > 1) return send(res, 400, googleError(400, 'INVALID_ARGUMENT', `Unable to submit request because ${model} supports only one instance per request; ${instances.length} were given.`));
    const dims = (body?.parameters as Json | undefined)?.outputDimensionality;
    const predictions = [];
    for (const inst of instances as Json[]) {
      if (typeof inst?.content !== 'string') return send(res, 400, googleError(400, 'INVALID_ARGUMENT', 'instances[].content must be a string.'));
      predictions.push({ embeddings: { values: embeddingFor(`${model}:${inst.content}`, typeof dims === 'number' ? dims : 16), statistics: { token_count: countTokens(inst.content), truncated: false } } });
    }
    send(res, 200, { predictions, metadata: { billableCharacterCount: (instances as Json[]).reduce((n, i) => n + String(i.content).length, 0) } });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = (await readBody(req)).toString('utf8');
    const url = req.url ?? '/';
    const path = url.split('?')[0]!;
    let body: Json | undefined;
    try {
      body = JSON.parse(raw) as Json;
    } catch {
      body = undefined;
    }
    const record: VertexRecordedRequest = { method: req.method ?? 'GET', url, headers: req.headers, body };
    requests.push(record);
    if (path === '/token') return handleToken(req, res, raw, record);

    const m = MODEL_PATH.exec(path);
    if (req.method !== 'POST' || !m) return send(res, 404, googleError(404, 'NOT_FOUND', `The requested URL ${path} was not found on this server.`));
    const [, p, location, publisher, model, method] = m as unknown as [string, string, string, string, string, string];
    const problem = authProblem(req.headers);
    if (problem) return send(res, 401, googleError(401, 'UNAUTHENTICATED', problem));
    if (p !== project) return send(res, 403, googleError(403, 'PERMISSION_DENIED', `Permission 'aiplatform.endpoints.predict' denied on resource '//aiplatform.googleapis.com/projects/${p}/locations/${location}/publishers/${publisher}/models/${model}' (or it may not exist).`));
    if (!locations.includes(location)) return send(res, 400, googleError(400, 'INVALID_ARGUMENT', `Location ${location} is not supported.`));
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return send(res, 400, googleError(400, 'INVALID_ARGUMENT', 'Content-Type must be application/json.'));
    if (publisher === 'anthropic') return handleClaude(res, decodeURIComponent(model), method, body);
    if (method === 'predict') return handleEmbeddings(res, decodeURIComponent(model), body);
    if (method === 'streamGenerateContent' && new URL(url, 'http://x').searchParams.get('alt') !== 'sse') return send(res, 400, googleError(400, 'INVALID_ARGUMENT', 'this test upstream streams SSE only: add ?alt=sse'));
    if (!opts.gemini) return send(res, 404, googleError(404, 'NOT_FOUND', `Publisher model ${model} is not served by this test upstream.`));
    const ids = callIdFields(body);
    if (ids.length > 0) return send(res, 400, googleError(400, 'INVALID_ARGUMENT', ids.map((at) => `Invalid JSON payload received. Unknown name "id" at '${at}': Cannot find field.`).join('\n')));
    return opts.gemini(req, res, { model: decodeURIComponent(model), method, body, sse: method === 'streamGenerateContent' });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, googleError(500, 'INTERNAL', 'test upstream failed'));
      else res.destroy();
    });
  });
  const local = await listenLocal(server);
  tokenUri = `http://127.0.0.1:${local.port}/token`;
  return {
    ...upstreamHandle(local, '/v1', requests),
    tokenUri,
    get exchanges() {
      return exchanges;
    },
    issued,
    addServiceAccount: (sa) => {
      accounts.set(sa.clientEmail, sa);
    },
    acceptToken: (token) => {
      accepted.add(token);
    },
    revokeIssued: () => {
      tokens.clear();
    },
    failTokens: (failure) => {
      tokenFailure = failure;
    },
  };
}
