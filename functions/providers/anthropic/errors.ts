import { GatewayError } from '../../upstream/errors.js';

/** Anthropic error types and the status each stands for (used for mid-stream error events). */
const STATUS_BY_TYPE: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

const CONTEXT_LENGTH = /prompt is too long|context (window|limit|length)|exceeds? .*context/i;

/** Reads `{"type":"error","error":{"type","message"}}`; anything else is described by status. */
export function parseAnthropicError(bodyText: string): { type?: string; message?: string } {
  try {
    const json = JSON.parse(bodyText) as { error?: { type?: unknown; message?: unknown } };
    const err = json.error;
    if (err && typeof err === 'object') {
      return { ...(typeof err.type === 'string' ? { type: err.type } : {}), ...(typeof err.message === 'string' ? { message: err.message } : {}) };
    }
  } catch {
    // non-JSON body
  }
  return {};
}

/**
 * Anthropic status + error → the OpenAI-shaped error the client gets. 4xx statuses pass
 * through with OpenAI's types (rate limits keep Retry-After, set by the caller);
 * overloaded (529) becomes 503 `overloaded`, which OpenAI SDKs retry; a context-length
 * refusal is `context_length_exceeded`; other 5xx become 502.
 */
export function mapAnthropicError(status: number, bodyText: string, headers: Record<string, string> = {}): GatewayError {
  const parsed = parseAnthropicError(bodyText);
  return anthropicErrorToGateway(status, parsed.type, parsed.message, headers);
}

/** A mid-stream `event: error` carries only the type: its status comes from the type. */
export function mapAnthropicStreamError(data: unknown): GatewayError {
  const err = ((data as { error?: { type?: unknown; message?: unknown } } | undefined)?.error ?? {}) as { type?: unknown; message?: unknown };
  const type = typeof err.type === 'string' ? err.type : 'api_error';
  return anthropicErrorToGateway(STATUS_BY_TYPE[type] ?? 500, type, typeof err.message === 'string' ? err.message : undefined, {});
}

function anthropicErrorToGateway(status: number, type: string | undefined, message: string | undefined, headers: Record<string, string>): GatewayError {
  const text = message ?? `Upstream anthropic answered HTTP ${status}.`;
  if (status === 529 || type === 'overloaded_error') return new GatewayError(503, text, 'service_unavailable', 'overloaded', null, headers);
  if (status === 429) return new GatewayError(429, text, 'rate_limit_error', 'rate_limit_exceeded', null, headers);
  if (status === 401) return new GatewayError(401, text, 'authentication_error', 'invalid_api_key', null, headers);
  if (status === 403 || status === 402) return new GatewayError(status, text, 'permission_error', type ?? null, null, headers);
  if (status === 404) return new GatewayError(404, text, 'not_found_error', 'model_not_found', null, headers);
  if (status === 413) return new GatewayError(413, text, 'invalid_request_error', 'request_too_large', null, headers);
  if (status >= 400 && status < 500) {
    const code = CONTEXT_LENGTH.test(text) ? 'context_length_exceeded' : (type ?? null);
    return new GatewayError(status, text, 'invalid_request_error', code, null, headers);
  }
  if (status === 503 || status === 504) return new GatewayError(status, text, status === 504 ? 'timeout_error' : 'service_unavailable', type ?? null, null, headers);
  return new GatewayError(502, text, 'upstream_error', type ?? 'upstream_error', null, headers);
}

/**
 * The Anthropic-shaped body for errors on the native Anthropic endpoint: the error type
 * from the status (or kept from Anthropic's own answer).
 */
export function anthropicErrorBody(error: GatewayError): { type: 'error'; error: { type: string; message: string } } {
  return { type: 'error', error: { type: anthropicTypeOf(error), message: error.message } };
}

export function anthropicTypeOf(error: GatewayError): string {
  if (error.type in STATUS_BY_TYPE) return error.type;
  if (error.status === 529 || error.status === 503) return 'overloaded_error';
  for (const [type, status] of Object.entries(STATUS_BY_TYPE)) if (status === error.status) return type;
  return error.status >= 400 && error.status < 500 ? 'invalid_request_error' : 'api_error';
}

/** The closing bytes of a native Anthropic stream the upstream broke. */
export function anthropicStreamErrorEvent(error: GatewayError): string {
  return `event: error\ndata: ${JSON.stringify(anthropicErrorBody(error))}\n\n`;
}
