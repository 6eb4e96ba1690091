import { GatewayError } from '../../upstream/errors.js';

/** Bedrock exception names → what the OpenAI client gets. */
const BY_NAME: Record<string, { status: number; type: string; code: string }> = {
  ValidationException: { status: 400, type: 'invalid_request_error', code: 'invalid_request' },
  AccessDeniedException: { status: 403, type: 'permission_error', code: 'access_denied' },
  ResourceNotFoundException: { status: 404, type: 'not_found_error', code: 'model_not_found' },
  ThrottlingException: { status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded' },
  ServiceQuotaExceededException: { status: 429, type: 'rate_limit_error', code: 'quota_exceeded' },
  ModelNotReadyException: { status: 503, type: 'service_unavailable', code: 'model_not_ready' },
  ServiceUnavailableException: { status: 503, type: 'service_unavailable', code: 'overloaded' },
  ModelTimeoutException: { status: 504, type: 'timeout_error', code: 'upstream_timeout' },
  ModelErrorException: { status: 502, type: 'upstream_error', code: 'model_error' },
  ModelStreamErrorException: { status: 502, type: 'upstream_error', code: 'model_stream_error' },
  InternalServerException: { status: 502, type: 'upstream_error', code: 'upstream_error' },
};

const CONTEXT_LENGTH = /too long|too many (input )?tokens|context (window|length|limit)|exceeds? .*(context|maximum)/i;

export interface BedrockErrorLike {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string> };
}

/** The Bedrock exception name of an error, as the SDK or the event stream names it. */
export function bedrockErrorName(err: BedrockErrorLike): string {
  const name = err.name ?? 'InternalServerException';
  return name.replace(/^(?:[a-z])/, (c) => c.toUpperCase());
}

/**
 * An SDK exception (or a mid-stream exception event) → the OpenAI-shaped error. Throttling
 * is 429 with Retry-After; a context-length ValidationException is `context_length_exceeded`.
 * Errors that are not Bedrock's (network, aborts) are a 502. `native` (the Converse
 * ingress): the error's type is Bedrock's exception name, for its x-amzn-errortype.
 *
 * Bedrock sends no Retry-After: the `retry-after: 1` on a 429 / 503 is a hint for the
 * client (`retryAfterHint`), and the gateway's own retries use their backoff instead.
 */
export function mapBedrockError(err: BedrockErrorLike, native = false): GatewayError {
  const name = bedrockErrorName(err);
  const known = BY_NAME[name];
  const message = err.message || `Bedrock answered ${name}.`;
  if (!known) {
    const status = err.$metadata?.httpStatusCode;
    if (status && status >= 400 && status < 500) return new GatewayError(status, message, native ? name : 'invalid_request_error', name);
    return new GatewayError(502, `Bedrock call failed: ${message}`, native ? name : 'upstream_error', 'upstream_error');
  }
  const code = known.status === 400 && CONTEXT_LENGTH.test(message) ? 'context_length_exceeded' : known.code;
  const hinted = known.status === 429 || known.status === 503;
  const error = new GatewayError(known.status, message, native ? name : known.type, code, null, hinted ? { 'retry-after': '1' } : {});
  if (hinted) error.retryAfterHint = true;
  return error;
}

/**
 * The Bedrock-shaped error body and header for the native Converse endpoint: `message` as
 * Bedrock writes it, plus Sluice's error `code` when it has one (`unsupported_endpoint`,
 * `rate_limit_exceeded`…: the SDK ignores the extra field, a client reading the body sees it).
 */
export function bedrockErrorResponse(error: GatewayError): { headers: Record<string, string>; body: string } {
  return { headers: { 'x-amzn-errortype': bedrockTypeOf(error) }, body: JSON.stringify({ message: error.message, ...(error.code ? { code: error.code } : {}) }) };
}

export function bedrockTypeOf(error: GatewayError): string {
  if (error.type in BY_NAME) return error.type;
  for (const [name, v] of Object.entries(BY_NAME)) if (v.code === error.code && v.status === error.status) return name;
  if (error.status === 401 || error.status === 403) return 'AccessDeniedException';
  if (error.status === 404) return 'ResourceNotFoundException';
  if (error.status === 429) return 'ThrottlingException';
  if (error.status === 503) return 'ServiceUnavailableException';
  if (error.status === 504) return 'ModelTimeoutException';
  return error.status < 500 ? 'ValidationException' : 'InternalServerException';
}
