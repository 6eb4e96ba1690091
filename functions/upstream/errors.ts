/**
 * Every error the gateway answers is a GatewayError: an HTTP status plus an
 * OpenAI-shaped body `{"error":{"message","type","code","param"}}`.
 * Messages must never contain secrets (gateway or provider keys).
 */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'policy_violation'
  | 'api_error'
  | 'upstream_error'
  | 'timeout_error'
  | 'service_unavailable';

export interface OpenAIErrorBody {
  error: { message: string; type: string; code: string | null; param: string | null };
}

export class GatewayError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: ErrorType | string,
    readonly code: string | null = null,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'GatewayError';
  }

  /**
   * Set when `retry-after` is the gateway's hint to the client, not a wait the upstream
   * asked for (Bedrock sends none): the gateway's own retries then back off as usual.
   */
  declare retryAfterHint?: true;

  toBody(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, code: this.code, param: this.param } };
  }
}

export const badRequest = (message: string, code = 'invalid_request', param: string | null = null) =>
  new GatewayError(400, message, 'invalid_request_error', code, param);
export const unauthorized = (message: string, code = 'invalid_api_key') =>
  new GatewayError(401, message, 'authentication_error', code);
export const forbidden = (message: string, code = 'forbidden') =>
  new GatewayError(403, message, 'permission_error', code);
export const notFound = (message: string) => new GatewayError(404, message, 'not_found_error', 'not_found');
export const methodNotAllowed = (message: string) =>
  new GatewayError(405, message, 'invalid_request_error', 'method_not_allowed');
export const payloadTooLarge = (message: string) =>
  new GatewayError(413, message, 'invalid_request_error', 'payload_too_large');
export const badGateway = (message: string, code = 'upstream_error') =>
  new GatewayError(502, message, 'upstream_error', code);
export const gatewayTimeout = (message: string, code = 'upstream_timeout') =>
  new GatewayError(504, message, 'timeout_error', code);

/** An upstream stream that ended (even cleanly) without its format's terminal event: never passed off as a complete answer. */
export const streamIncomplete = (terminal: string) =>
  new GatewayError(502, `The upstream stream ended without its terminal event (${terminal}).`, 'upstream_error', 'stream_incomplete');
