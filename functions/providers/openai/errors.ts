import { GatewayError } from '../../upstream/errors.js';

const TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  409: 'conflict_error',
  413: 'invalid_request_error',
  422: 'invalid_request_error',
  429: 'rate_limit_error',
};

/**
 * Maps an upstream error response to what the client gets. 4xx statuses pass through
 * (a 429 keeps its Retry-After); 503 and 504 pass through so SDK retries behave as
 * against the provider; any other 5xx becomes 502. A 5xx keeps the provider's message and
 * code (`upstream_error` when it has none). The body is always OpenAI-shaped.
 */
export function mapUpstreamError(status: number, bodyText: string, provider: string): GatewayError {
  let parsed: { message?: string; type?: string; code?: string | null; param?: string | null } | undefined;
  try {
    const json = JSON.parse(bodyText) as Record<string, unknown>;
    const err = (json.error ?? json) as Record<string, unknown>;
    if (typeof err === 'object' && err !== null) {
      parsed = {
        ...(typeof err.message === 'string' ? { message: err.message } : {}),
        ...(typeof err.type === 'string' ? { type: err.type } : {}),
        code: typeof err.code === 'string' ? err.code : typeof err.code === 'number' ? String(err.code) : null,
        param: typeof err.param === 'string' ? err.param : null,
      };
    }
  } catch {
    // non-JSON error body: described below
  }
  const clientStatus = status >= 500 && status !== 503 && status !== 504 ? 502 : status;
  const message = parsed?.message ?? `Upstream ${provider} answered HTTP ${status}.`;
  const type = status >= 500 ? (clientStatus === 502 ? 'upstream_error' : 'service_unavailable') : (parsed?.type ?? TYPE_BY_STATUS[status] ?? 'invalid_request_error');
  // A 5xx keeps the provider's message and code; without a code of its own it is `upstream_error`.
  const code = parsed?.code ?? (status >= 500 ? 'upstream_error' : null);
  return new GatewayError(clientStatus, message, type, code, parsed?.param ?? null);
}
