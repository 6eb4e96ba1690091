import type { FunctionUrlEvent, GatewayDeps } from '../gateway/types.js';
import { MemoryRateLimiter, type RateLimiter } from '../spend/rate-limiter.js';
import { traceReaderFromEnv, type TraceReaderSource } from '../traces/reader-from-env.js';
import { decodeEventBody } from '../gateway/request-body.js';
import { adminStoreFromEnv } from './admin-store-from-env.js';
import type { AdminStore } from './admin-store.js';
import { matchApi, type ApiDeps } from './api.js';
import { consoleAssets } from './assets.js';
import { ConsoleError, errorResponse, json, jsonBody, notFoundError, requestOf, SECURITY_HEADERS, type ConsoleRequest, type ConsoleResponse } from './http.js';
import {
  authenticate,
  checkHost,
  checkOrigin,
  checkStateChange,
  limitSignIn,
  SESSION_TTL_MS,
  sessionCookie,
  signIn,
  type Caller,
  type SiteConfig,
} from './session-auth.js';

/**
 * The console and the admin API: `/console/…` (static files) and `/admin/v1/…` (JSON).
 * Loaded on the first such request (functions/gateway/console-route.ts), never at init,
 * and answered before the plugin chain: nothing here creates a trace, a session turn or
 * spend. It never throws: every failure is an answer in the admin API's error shape.
 */
export interface ConsoleDeps {
  admin: AdminStore;
  traces: TraceReaderSource;
  /** Counts sign-in attempts: the gateway's shared rate counters (DynamoDB or Redis in AWS). */
  limiter: RateLimiter;
  site: () => SiteConfig;
  now: () => number;
}

const built = new WeakMap<GatewayDeps, ConsoleDeps>();

/** The console's dependencies for a gateway: what it injected under `console`, else from its environment. */
export function consoleDepsOf(deps: GatewayDeps): ConsoleDeps {
  let c = built.get(deps);
  if (!c) {
    const env = deps.env ?? process.env;
    c = {
      admin: adminStoreFromEnv(env),
      traces: traceReaderFromEnv(env, readSecret),
      limiter: deps.spend?.limiter ?? new MemoryRateLimiter(),
      site: () => siteFromEnv(env),
      now: Date.now,
      ...deps.console,
    };
    built.set(deps, c);
  }
  return c;
}

/**
 * Where the console is served from. SLUICE_PUBLIC_HOST (the container server behind a TLS
 * load balancer, e.g. `gateway.example.com`) makes it https with the `__Host-` cookie and
 * answers only that Host (421 otherwise); an unusable value answers every console request 421.
 */
export function siteFromEnv(env: NodeJS.ProcessEnv): SiteConfig {
  const port = Number(env.SLUICE_LOCAL_PORT);
  const publicHost = env.SLUICE_PUBLIC_HOST?.trim().toLowerCase();
  if (publicHost) return { aws: true, publicHost: PUBLIC_HOST.test(publicHost) ? publicHost : '' };
  return env.AWS_LAMBDA_FUNCTION_NAME ? { aws: true } : Number.isInteger(port) && port > 0 ? { aws: false, localPort: port } : { aws: false };
}

/** A DNS name with an optional port: no scheme, path or wildcard. */
const PUBLIC_HOST = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/;

async function readSecret(secretId: string): Promise<string> {
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  const out = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: secretId }));
  if (!out.SecretString) throw new Error(`secret ${secretId} has no string value`);
  return out.SecretString;
}

export async function serveConsole(deps: GatewayDeps, event: FunctionUrlEvent): Promise<ConsoleResponse> {
  const c = consoleDepsOf(deps);
  try {
    const req = requestOf(event, decodeEventBody(event.body, event.isBase64Encoded));
    const site = c.site();
    const origin = checkHost(req, site);
    if (req.path === '/console' || req.path.startsWith('/console/')) return await serveStatic(req);
    if (req.path === '/admin/v1/session') return await sessionRoute(deps, c, req, site, origin);
    if (!req.path.startsWith('/admin/v1/')) {
      await authenticate(req, site, c.admin, c.now());
      throw notFoundError(`Unknown admin route: ${req.method} ${req.path}`);
    }
    const caller = await authenticate(req, site, c.admin, c.now());
    const { spec, params } = matchApi(req.method, req.path.slice('/admin/v1/'.length));
    return await spec.handle(apiDeps(deps, c), req, caller, params, origin);
  } catch (err) {
    if (err instanceof ConsoleError) return errorResponse(err);
    (deps.logger ?? console).error('console request failed', { error: err instanceof Error ? err.message : String(err) });
    return errorResponse(new ConsoleError(500, 'The console failed to answer this request.', 'internal_error'));
  }
}

function apiDeps(deps: GatewayDeps, c: ConsoleDeps): ApiDeps {
  return { gateway: deps, admin: c.admin, traces: () => c.traces.query(), traceSource: c.traces.kind, now: c.now };
}

async function serveStatic(req: ConsoleRequest): Promise<ConsoleResponse> {
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new ConsoleError(405, 'The console pages are read with GET.', 'method_not_allowed', { allow: 'GET' });
  if (req.path === '/console') return { statusCode: 308, headers: { ...SECURITY_HEADERS, location: '/console/' }, body: '' };
  const name = req.path === '/console/' ? 'index.html' : req.path.slice('/console/'.length);
  const asset = (await consoleAssets()).get(name);
  if (!asset) throw notFoundError(`No console file ${name}.`);
  return { statusCode: 200, headers: { ...SECURITY_HEADERS, 'content-type': asset.contentType, 'cache-control': 'no-cache' }, body: req.method === 'HEAD' ? '' : asset.body };
}

/**
 * `POST /admin/v1/session` signs in (a sign-in link's token or an admin key; rate-limited and
 * audited), `GET` says who is signed in and hands the page its CSRF token, `DELETE` signs out.
 */
async function sessionRoute(deps: GatewayDeps, c: ConsoleDeps, req: ConsoleRequest, site: SiteConfig, origin: string): Promise<ConsoleResponse> {
  const now = c.now();
  if (req.method === 'POST') {
    checkOrigin(req, origin);
    await limitSignIn(c.limiter, req.sourceIp, now).catch(async (err: unknown) => {
      await c.admin.audit({ at: new Date(now).toISOString(), actor: 'anonymous', action: 'session.sign_in', outcome: 'refused', details: { reason: 'rate_limited', source: req.sourceIp } });
      throw err;
    });
    const body = jsonBody(req);
    let result;
    try {
      result = await signIn(c.admin, body, now);
    } catch (err) {
      await c.admin.audit({ at: new Date(now).toISOString(), actor: 'anonymous', action: 'session.sign_in', outcome: 'refused', details: { reason: err instanceof ConsoleError ? err.code : 'error', source: req.sourceIp } });
      throw err;
    }
    const { token, session } = result;
    await c.admin.audit({ at: new Date(now).toISOString(), actor: session.adminKeyId, action: 'session.sign_in', outcome: 'ok', details: { via: typeof body.token === 'string' ? 'link' : 'admin_key', source: req.sourceIp } });
    return json(200, whoami(c, { adminKeyId: session.adminKeyId, role: session.role, ...(session.orgId ? { orgId: session.orgId } : {}), session }), { cookies: [sessionCookie(site, token, SESSION_TTL_MS / 1000)] });
  }
  const caller = await authenticate(req, site, c.admin, now);
  if (req.method === 'GET') return json(200, whoami(c, caller));
  if (req.method === 'DELETE') {
    checkStateChange(req, caller, origin);
    if (caller.session) await c.admin.deleteSession(caller.session.hash);
    await c.admin.audit({ at: new Date(now).toISOString(), actor: caller.adminKeyId, action: 'session.sign_out', outcome: 'ok' });
    return json(200, { object: 'sluice.session', signed_out: true }, { cookies: [sessionCookie(site, '', 0)] });
  }
  void deps;
  throw new ConsoleError(405, `Method ${req.method} is not allowed here.`, 'method_not_allowed', { allow: 'GET, POST, DELETE' });
}

function whoami(c: ConsoleDeps, caller: Caller) {
  return {
    object: 'sluice.admin_session',
    admin_key_id: caller.adminKeyId,
    role: caller.role,
    org_id: caller.orgId ?? null,
    csrf: caller.session?.csrf ?? null,
    expires_at: caller.session?.expiresAt ?? null,
    trace_source: c.traces.kind,
    // Firehose delivers to ClickHouse in batches: the newest traces show up to 60 s late.
    trace_delay_s: c.traces.kind === 'clickhouse' ? 60 : 0,
  };
}
