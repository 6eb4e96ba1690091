import type { Route } from '../upstream/endpoints.js';
import { GatewayError } from '../upstream/errors.js';
import { matchRoute } from '../gateway/routes.js';
import { errorResponseFor } from '../providers/ingress-errors.js';
import { streamErrorEvent } from '../providers/openai/stream.js';
import { anthropicStreamErrorEvent } from '../providers/anthropic/errors.js';
import { bedrockTypeOf } from '../providers/bedrock/errors.js';
import { encodeException } from '../providers/bedrock/eventstream.js';

/**
 * What the local runtime and the container server answer when an invocation runs past its
 * time limit (the function timeout in Lambda, `SLUICE_REQUEST_TIMEOUT_SECONDS` in the
 * container). Lambda stops such an invocation and its Function URL cuts the response;
 * here it is stopped too, but the client is told, in the API shape it speaks: a 504 error
 * body before the first byte, a closing error event in a stream that has begun.
 */

export function deadlineError(timeoutMs: number): GatewayError {
  const limit = timeoutMs % 1000 === 0 ? `${timeoutMs / 1000} s` : `${timeoutMs} ms`;
  return new GatewayError(504, `The request ran past the gateway's ${limit} time limit and was stopped.`, 'timeout_error', 'request_timeout');
}

/** The route a request took, for the error's shape; unknown paths get the OpenAI shape. */
export function routeOf(method: string, rawPath: string, headers: Record<string, string>): Route | undefined {
  const match = matchRoute(method, rawPath, headers);
  return match.ok ? match.route : undefined;
}

/** Before the response began: a 504 with the error body of the client's ingress. */
export function deadlineResponse(route: Route | undefined, error: GatewayError): { status: number; headers: Record<string, string>; body: string } {
  const shaped = errorResponseFor(route, error);
  return { status: error.status, headers: { 'content-type': 'application/json', ...shaped.headers }, body: shaped.body };
}

/**
 * After the response began: the closing bytes of the stream in its own format (an SSE
 * error event, or a Bedrock event-stream exception), or undefined when the body is not a
 * stream the client can be told in (then the connection is cut, so the client sees an
 * incomplete body rather than a short one that looks whole).
 */
export function deadlineStreamEnd(route: Route | undefined, contentType: string, error: GatewayError): Buffer | undefined {
  const type = contentType.toLowerCase();
  if (type.startsWith('text/event-stream')) {
    const endpoint = route?.kind === 'openai' ? route.endpoint : undefined;
    if (endpoint === 'anthropic.messages') return Buffer.from(anthropicStreamErrorEvent(error));
    return Buffer.from(streamErrorEvent(endpoint === 'responses' ? 'responses' : 'chat.completions', error));
  }
  if (type.startsWith('application/vnd.amazon.eventstream')) {
    const name = bedrockTypeOf(error);
    return encodeException(name.charAt(0).toLowerCase() + name.slice(1), error.message);
  }
  return undefined;
}
