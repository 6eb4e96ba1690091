import type { FunctionUrlEvent, GatewayResponse } from '../gateway/types.js';

/**
 * Responses of the console and the admin API. Every one carries the security headers:
 * a CSP with no inline script (scripts and styles only from Sluice itself), no framing,
 * no MIME sniffing, no referrer; API answers are never cached.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** A response with cookies: Function URLs take them in the prelude's `cookies`, never as a header. */
export type ConsoleResponse = GatewayResponse & { cookies?: string[] };

export function json(status: number, body: unknown, extra: { headers?: Record<string, string>; cookies?: string[] } = {}): ConsoleResponse {
  return {
    statusCode: status,
    headers: { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...extra.headers },
    body: JSON.stringify(body),
    ...(extra.cookies ? { cookies: extra.cookies } : {}),
  };
}

/** The admin API's error shape (the same as the gateway's: `{"error":{"message","type","code"}}`). */
export class ConsoleError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  409: 'invalid_request_error',
  413: 'invalid_request_error',
  415: 'invalid_request_error',
  421: 'invalid_request_error',
  429: 'rate_limit_error',
  503: 'service_unavailable',
};

export function errorResponse(err: ConsoleError): ConsoleResponse {
  return json(err.status, { error: { message: err.message, type: TYPES[err.status] ?? 'api_error', code: err.code, param: null } }, { headers: err.headers });
}

export const unauthenticated = (message = 'Sign in: an admin session cookie or `Authorization: Bearer sk-sluice-adm_…` is required.', code = 'unauthenticated') =>
  new ConsoleError(401, message, code);
export const badInput = (message: string, code = 'invalid_request') => new ConsoleError(400, message, code);
export const notFoundError = (message: string) => new ConsoleError(404, message, 'not_found');

/** The request as the console reads it. */
export interface ConsoleRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Names lower-cased. */
  headers: Record<string, string>;
  cookies: Record<string, string>;
  body: Buffer;
  sourceIp: string;
}

export function requestOf(event: FunctionUrlEvent, body: Buffer): ConsoleRequest {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = v;
  const cookies: Record<string, string> = {};
  const pairs = event.cookies ?? (headers.cookie ? headers.cookie.split(/;\s*/) : []);
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq > 0) cookies[pair.slice(0, eq).trim()] ??= pair.slice(eq + 1).trim();
  }
  return {
    method: event.requestContext?.http?.method ?? 'GET',
    path: event.rawPath ?? '/',
    query: new URLSearchParams(event.rawQueryString ?? ''),
    headers,
    cookies,
    body,
    sourceIp: event.requestContext?.http?.sourceIp ?? 'unknown',
  };
}

/** The JSON object body of a state change; anything else is a 400 (415 without a JSON content type). */
export function jsonBody(req: ConsoleRequest): Record<string, unknown> {
  if (req.body.length === 0) return {};
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) throw new ConsoleError(415, 'Send the body as application/json.', 'unsupported_media_type');
  let parsed: unknown;
  try {
    parsed = JSON.parse(req.body.toString('utf8'));
  } catch {
    throw badInput('The body is not valid JSON.', 'invalid_json');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw badInput('The body must be a JSON object.', 'invalid_json');
  return parsed as Record<string, unknown>;
}
