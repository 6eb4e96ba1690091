import { GatewayError } from '../../upstream/errors.js';

/** A Google API error body: `{"error":{"code","message","status","details"}}`. */
export interface GoogleError {
  code?: number;
  message?: string;
  status?: string;
  details?: Array<Record<string, unknown>>;
}

/** Google API keys (`AIza…`) are scrubbed from any message passed on, whatever echoed them. */
const API_KEY = /AIza[0-9A-Za-z_-]{20,}/g;
const CONTEXT_LENGTH = /input token count.*exceeds|exceeds the maximum number of tokens|context (window|length)/i;

export function parseGoogleError(bodyText: string): GoogleError {
  try {
    const json = JSON.parse(bodyText) as unknown;
    // Some Google front ends answer a one-element array of error bodies.
    const first = (Array.isArray(json) ? json[0] : json) as { error?: unknown } | undefined;
    const err = first?.error;
    if (err && typeof err === 'object') return err as GoogleError;
  } catch {
    // non-JSON body: described by its status
  }
  return {};
}

/** `RetryInfo.retryDelay` ("7s", "1.5s") → whole seconds for Retry-After. */
function retryAfterOf(err: GoogleError): string | undefined {
  for (const d of err.details ?? []) {
    if (typeof d['@type'] === 'string' && d['@type'].endsWith('google.rpc.RetryInfo') && typeof d.retryDelay === 'string') {
      const seconds = Number.parseFloat(d.retryDelay);
      if (Number.isFinite(seconds) && seconds >= 0) return String(Math.ceil(seconds));
    }
  }
  return undefined;
}

function reasonOf(err: GoogleError): string | undefined {
  for (const d of err.details ?? []) if (typeof d.reason === 'string') return d.reason;
  return undefined;
}

/**
 * A Gemini (or Vertex) error answer → the OpenAI-shaped error the client gets.
 * 400 INVALID_ARGUMENT / FAILED_PRECONDITION → invalid_request_error (a context-length
 * refusal → `context_length_exceeded`; an invalid API key, which Google answers with 400
 * API_KEY_INVALID → 401); 401/403 → authentication/permission; 404 → `model_not_found`;
 * 429 RESOURCE_EXHAUSTED → rate_limit_error with Retry-After (the header, else RetryInfo);
 * 503 → 503 (SDKs retry), 504 → 504; other 5xx → 502 `api_error`.
 */
export function mapGeminiError(status: number, bodyText: string, headers: Record<string, string> = {}): GatewayError {
  return googleErrorToGateway(status, parseGoogleError(bodyText), headers);
}

/** An error object inside a stream (`data: {"error":{…}}`): its status is its `code`. */
export function mapGeminiStreamError(error: unknown): GatewayError {
  const err = (error ?? {}) as GoogleError;
  return googleErrorToGateway(typeof err.code === 'number' ? err.code : 500, err, {});
}

function googleErrorToGateway(status: number, err: GoogleError, headers: Record<string, string>): GatewayError {
  const text = (typeof err.message === 'string' && err.message !== '' ? err.message : `Upstream gemini answered HTTP ${status}.`).replace(API_KEY, '[redacted]');
  const google = typeof err.status === 'string' ? err.status : undefined;
  const code = google?.toLowerCase() ?? null;
  const reason = reasonOf(err);
  const h = { ...headers };
  if (status === 429 || google === 'RESOURCE_EXHAUSTED') {
    const retry = h['retry-after'] ?? retryAfterOf(err);
    if (retry !== undefined) h['retry-after'] = retry;
    return new GatewayError(429, text, 'rate_limit_error', 'rate_limit_exceeded', null, h);
  }
  if (status === 401 || google === 'UNAUTHENTICATED' || reason === 'API_KEY_INVALID') return new GatewayError(401, text, 'authentication_error', 'invalid_api_key', null, h);
  if (status === 403 || google === 'PERMISSION_DENIED') return new GatewayError(403, text, 'permission_error', code ?? 'permission_denied', null, h);
  if (status === 404 || google === 'NOT_FOUND') return new GatewayError(404, text, 'not_found_error', 'model_not_found', null, h);
  if (status === 413) return new GatewayError(413, text, 'invalid_request_error', 'request_too_large', null, h);
  if (status >= 400 && status < 500) return new GatewayError(status, text, 'invalid_request_error', CONTEXT_LENGTH.test(text) ? 'context_length_exceeded' : (code ?? 'invalid_request'), null, h);
  if (status === 503) return new GatewayError(503, text, 'service_unavailable', code ?? 'unavailable', null, h);
  if (status === 504) return new GatewayError(504, text, 'timeout_error', code ?? 'deadline_exceeded', null, h);
  return new GatewayError(502, text, 'api_error', code ?? 'upstream_error', null, h);
}
