import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * What the container server adds to the local runtime: timeouts a long-running public
 * server needs, a JSON answer (the gateway's error shape) for every request Node refuses
 * before any handler runs, and `/healthz` for load-balancer readiness checks.
 */

/** Time a client has by default to send its request headers, from its first byte (slow-loris bound). */
export const HEADERS_TIMEOUT_MS = 20_000;
/** Time a client has by default to send its whole request body once the headers are in (6 MiB at ~100 KB/s). */
export const REQUEST_BODY_TIMEOUT_MS = 60_000;
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

/** The bounds on receiving a request; the response is bounded by the invocation time limit instead. */
export interface ReceiveTimeouts {
  /** From a request's first byte (or the connection's start) until its headers are complete. */
  headersMs: number;
  /** From the headers until the last byte of the body (the local server's own timer). */
  bodyMs: number;
}

const TIMEOUT_VARIABLES = [
  ['SLUICE_HEADERS_TIMEOUT_MS', 'headersMs', HEADERS_TIMEOUT_MS],
  ['SLUICE_REQUEST_BODY_TIMEOUT_MS', 'bodyMs', REQUEST_BODY_TIMEOUT_MS],
] as const;

/** Reads SLUICE_HEADERS_TIMEOUT_MS / SLUICE_REQUEST_BODY_TIMEOUT_MS (whole ms, 100-3,600,000); throws on a bad value. */
export function receiveTimeoutsFromEnv(env: Record<string, string | undefined>): ReceiveTimeouts {
  const out = { headersMs: HEADERS_TIMEOUT_MS, bodyMs: REQUEST_BODY_TIMEOUT_MS };
  for (const [name, field, fallback] of TIMEOUT_VARIABLES) {
    const text = env[name]?.trim();
    const value = text ? Number(text) : fallback;
    if (!Number.isInteger(value) || value < 100 || value > 3_600_000) throw new Error(`${name} must be an integer 100-3600000 (milliseconds), not "${env[name]}"`);
    out[field] = value;
  }
  return out;
}

/** The 408 for a request whose body did not arrive within the bound. */
export function bodyTimeoutBody(bodyMs: number): string {
  return errorBody(`The request body did not arrive within ${bodyMs} ms.`, 'request_timeout');
}

/**
 * Applies the production timeouts and refusal answers to a node:http server (before it
 * listens: Node reads the checking interval when listening starts).
 */
export function hardenForProduction(server: Server, timeouts: ReceiveTimeouts = { headersMs: HEADERS_TIMEOUT_MS, bodyMs: REQUEST_BODY_TIMEOUT_MS }): void {
  server.headersTimeout = timeouts.headersMs;
  // Node checks the headers bound on an interval (30 s by default, which would let a 20 s bound
  // run to 50 s): check often enough that a bound is kept within a quarter of itself (or 1 s).
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.max(25, Math.min(1_000, Math.floor(timeouts.headersMs / 4)));
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // requestTimeout stays 0: the body bound is the server's own timer (functions/local/server.ts),
  // which answers a 408 in the gateway's shape through the request's response. Neither bound
  // covers the response: a streamed completion is bounded by the invocation time limit only.
  server.requestTimeout = 0;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // A response already begun on this connection (a pipelined request went wrong behind
    // it): writing a refusal now would corrupt it. Let it finish, then close.
    const current = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (current?.headersSent && !current.writableFinished) {
      current.once('close', () => socket.destroy());
      return;
    }
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
