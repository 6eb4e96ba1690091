import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * CORS for the container server, as the Lambda Function URL does it for the Lambda
 * runtime (lib/gateway-function.ts configures the Function URL from these same values):
 * any method, any request header, the gateway's X-Sluice-* response headers exposed, a
 * preflight cached for an hour, no credentials mode (the gateway authenticates each call
 * by its key header, never by cookies). Preflights are answered here, before the gateway,
 * as the Function URL answers them without invoking the function.
 */

/** Response headers browsers may read (the gateway's `X-Sluice-*` contract). */
export const EXPOSED_HEADERS = [
  'X-Sluice-Session-Id',
  'X-Sluice-Trace-Id',
  'X-Sluice-Approval-Id',
  'X-Sluice-Overhead-Ms',
  'X-Sluice-Attempts',
  'X-Sluice-Served-By',
  'X-Sluice-Cache',
] as const;
/** How long a browser may cache a preflight answer. */
export const CORS_MAX_AGE_SECONDS = 3600;
/** The methods a preflight may be allowed (the Function URL's `HttpMethod.ALL`). */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

export interface CorsPolicy {
  /** Allowed origins; `*` allows every origin. */
  readonly allowedOrigins: readonly string[];
}

/**
 * `SLUICE_CORS_ALLOWED_ORIGINS`: a comma-separated list of origins, or `*` (the default,
 * as the Function URL's); `none` turns CORS off.
 */
export function corsPolicyFromEnv(env: NodeJS.ProcessEnv): CorsPolicy | undefined {
  const raw = env.SLUICE_CORS_ALLOWED_ORIGINS?.trim() || '*';
  if (raw === 'none') return undefined;
  return { allowedOrigins: raw.split(',').map((o) => o.trim().replace(/\/$/, '')).filter(Boolean) };
}

function allowedOrigin(policy: CorsPolicy, origin: string | undefined): string | undefined {
  if (origin === undefined) return undefined;
  if (policy.allowedOrigins.includes('*')) return '*';
  return policy.allowedOrigins.includes(origin) ? origin : undefined;
}

/** Headers every answer to a cross-origin request carries (none for a disallowed origin). */
export function corsResponseHeaders(policy: CorsPolicy, origin: string | undefined): Record<string, string> {
  const allowed = allowedOrigin(policy, origin);
  if (!allowed) return {};
  return {
    'access-control-allow-origin': allowed,
    'access-control-expose-headers': EXPOSED_HEADERS.join(','),
    ...(allowed === '*' ? {} : { vary: 'Origin' }),
  };
}

/** The answer to a preflight (OPTIONS with Origin and Access-Control-Request-Method), or undefined for any other request. */
export function preflightAnswer(policy: CorsPolicy, method: string, headers: IncomingMessage['headers']): { status: number; headers: Record<string, string> } | undefined {
  const origin = typeof headers.origin === 'string' ? headers.origin : undefined;
  const requested = headers['access-control-request-method'];
  if (method !== 'OPTIONS' || origin === undefined || typeof requested !== 'string') return undefined;
  const allowed = allowedOrigin(policy, origin);
  const vary = { vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers' };
  // A disallowed origin gets no grant: the browser refuses the call itself.
  if (!allowed || !METHODS.includes(requested.toUpperCase())) return { status: 204, headers: vary };
  const requestHeaders = headers['access-control-request-headers'];
  return {
    status: 204,
    headers: {
      ...vary,
      'access-control-allow-origin': allowed,
      'access-control-allow-methods': METHODS.join(','),
      // Every header is allowed; echoed rather than `*`, which does not cover Authorization.
      ...(typeof requestHeaders === 'string' && requestHeaders.trim() ? { 'access-control-allow-headers': requestHeaders } : {}),
      'access-control-max-age': String(CORS_MAX_AGE_SECONDS),
    },
  };
}

/**
 * Answers a preflight and returns true; otherwise puts the CORS response headers on `res`
 * (kept through writeHead, whatever answers the request) and returns false.
 */
export function applyCors(policy: CorsPolicy, req: IncomingMessage, res: ServerResponse): boolean {
  const preflight = preflightAnswer(policy, req.method ?? 'GET', req.headers);
  if (preflight) {
    res.writeHead(preflight.status, { ...preflight.headers, 'content-length': '0' });
    res.end();
    return true;
  }
  const origin = typeof req.headers.origin === 'string' ? req.headers.origin : undefined;
  for (const [name, value] of Object.entries(corsResponseHeaders(policy, origin))) res.setHeader(name, value);
  return false;
}
