import { GatewayError } from '../../gateway/errors.js';
import { mapAnthropicError, parseAnthropicError } from '../anthropic/errors.js';

/**
 * Vertex AI errors → the OpenAI-shaped error the client gets. Google's platform answers
 * `{"error":{"code","message","status"}}` (sometimes wrapped in a JSON array,
 * `[{"error":{…}}]`); Claude models may also answer Anthropic's own
 * `{"type":"error","error":{"type","message"}}`, which is mapped as on Anthropic.
 */

export interface GoogleError {
  code?: number;
  message?: string;
  status?: string;
}

/** Reads Google's error body, bare or in an array; undefined when it is not one. */
export function parseGoogleError(bodyText: string): GoogleError | undefined {
  let json: unknown;
  try {
    json = JSON.parse(bodyText);
  } catch {
    return undefined;
  }
  if (Array.isArray(json)) json = json[0];
  const err = (json as { error?: unknown } | undefined)?.error;
  if (!err || typeof err !== 'object' || Array.isArray(err)) return undefined;
  const e = err as Record<string, unknown>;
  // Anthropic's body also has `error`, but with `type` and no `status`/`code`.
  if (e.status === undefined && e.code === undefined && typeof e.type === 'string') return undefined;
  return {
    ...(typeof e.code === 'number' ? { code: e.code } : {}),
    ...(typeof e.message === 'string' ? { message: e.message } : {}),
    ...(typeof e.status === 'string' ? { status: e.status } : {}),
  };
}

const CONTEXT_LENGTH = /exceeds the maximum number of tokens|input token count .* exceeds|prompt is too long|context (window|length)/i;

/** Google's canonical status names and the HTTP status each stands for. */
const HTTP_BY_STATUS: Record<string, number> = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  OUT_OF_RANGE: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  ABORTED: 409,
  RESOURCE_EXHAUSTED: 429,
  CANCELLED: 499,
  INTERNAL: 500,
  UNKNOWN: 500,
  DATA_LOSS: 500,
  UNIMPLEMENTED: 501,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
};

/** A Google error (HTTP status + parsed body) as the gateway's error. */
export function googleErrorToGateway(httpStatus: number, err: GoogleError | undefined, headers: Record<string, string> = {}): GatewayError {
  const status = httpStatus >= 400 ? httpStatus : (err?.status && HTTP_BY_STATUS[err.status]) || err?.code || 500;
  const text = err?.message ?? `Upstream vertex answered HTTP ${status}.`;
  const reason = err?.status?.toLowerCase() ?? null;
  if (status === 401) return new GatewayError(401, text, 'authentication_error', 'invalid_api_key', null, headers);
  if (status === 403) return new GatewayError(403, text, 'permission_error', reason ?? 'permission_denied', null, headers);
  if (status === 404) return new GatewayError(404, text, 'not_found_error', 'model_not_found', null, headers);
  if (status === 429) return new GatewayError(429, text, 'rate_limit_error', 'rate_limit_exceeded', null, headers);
  if (status === 413) return new GatewayError(413, text, 'invalid_request_error', 'request_too_large', null, headers);
  if (status === 499) return new GatewayError(502, text, 'upstream_error', 'cancelled', null, headers);
  if (status >= 400 && status < 500) {
    return new GatewayError(status, text, 'invalid_request_error', CONTEXT_LENGTH.test(text) ? 'context_length_exceeded' : (reason ?? 'invalid_request_error'), null, headers);
  }
  if (status === 503) return new GatewayError(503, text, 'service_unavailable', reason ?? 'unavailable', null, headers);
  if (status === 504) return new GatewayError(504, text, 'timeout_error', reason ?? 'deadline_exceeded', null, headers);
  return new GatewayError(502, text, 'upstream_error', reason ?? 'upstream_error', null, headers);
}

/** An HTTP error from Vertex, either model family. */
export function mapVertexError(status: number, bodyText: string, headers: Record<string, string> = {}): GatewayError {
  const google = parseGoogleError(bodyText);
  if (google) return googleErrorToGateway(status, google, headers);
  if (parseAnthropicError(bodyText).type !== undefined) return mapAnthropicError(status, bodyText, headers);
  return googleErrorToGateway(status, undefined, headers);
}

/** Whether a Vertex error body is Anthropic's own (passed through on the native Anthropic ingress). */
export function isAnthropicErrorBody(bodyText: string): boolean {
  return parseGoogleError(bodyText) === undefined && parseAnthropicError(bodyText).type !== undefined;
}
