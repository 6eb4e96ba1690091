import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * What the container server adds to the local runtime: timeouts a long-running public
 * server needs, a JSON answer (the gateway's error shape) for every request Node refuses
 * before any handler runs, and `/healthz` for load-balancer readiness checks.
 */

/** Time a client has to send its request headers (slow-loris bound). */
export const HEADERS_TIMEOUT_MS = 20_000;
/** Idle keep-alive: above the ALB's idle timeout would keep dead sockets; 65 s as the ALB default + 5 s. */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/** The gateway's error body (OpenAI shape), as every other refusal has it. */
export function errorBody(message: string, code: string): string {
  return JSON.stringify({ error: { message, type: 'invalid_request_error', code, param: null } });
}

/** A raw HTTP/1.1 response for a socket no ServerResponse exists for. */
export function rawJsonResponse(status: number, reason: string, body: string): string {
  return `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

/** Maps a Node HTTP parser error to the status and JSON body it answers. */
export function clientErrorResponse(err: NodeJS.ErrnoException): string {
  if (err.code === 'HPE_HEADER_OVERFLOW') return rawJsonResponse(431, 'Request Header Fields Too Large', errorBody('The request headers are too large.', 'headers_too_large'));
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return rawJsonResponse(408, 'Request Timeout', errorBody('The request headers did not arrive in time.', 'request_timeout'));
  return rawJsonResponse(400, 'Bad Request', errorBody('The request is not valid HTTP/1.1.', 'malformed_request'));
}

/** Applies the production timeouts and refusal answers to a node:http server. */
export function hardenForProduction(server: Server): void {
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // requestTimeout stays 0: a streamed completion may legitimately run for many minutes; the
  // invocation's own deadline (the function timeout) bounds it.
  server.requestTimeout = 0;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable || (err.code === 'ECONNRESET')) {
      socket.destroy();
      return;
    }
    socket.end(clientErrorResponse(err));
  });
  // CONNECT (a proxy tunnel request): not something a gateway does.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.end(rawJsonResponse(405, 'Method Not Allowed', errorBody('CONNECT is not supported.', 'method_not_allowed')));
  });
}

/**
 * Answers `/healthz` (GET or HEAD) and returns true, else returns false. It carries no
 * credential by design: an ALB health check cannot send one, and the answer says nothing
 * beyond "this process accepts requests".
 */
export function answerHealthz(req: IncomingMessage, res: ServerResponse): boolean {
  const path = (req.url ?? '').split('?')[0];
  if (path !== '/healthz' || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
  const body = '{"status":"ok"}';
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}
