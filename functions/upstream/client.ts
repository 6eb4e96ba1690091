import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { pinnedRequestOptions } from '../net/index.js';
import { badGateway, gatewayTimeout, GatewayError } from './errors.js';
import type { UpstreamPlan } from './types.js';

/** Keep-alive agents: connection reuse is most of the gateway's latency budget. */
const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 256 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 256 }),
};

export interface UpstreamExchange {
  status: number;
  headers: IncomingMessage['headers'];
  body: IncomingMessage;
  /** Aborts the call (used on client disconnect and deadlines). */
  abort(reason?: Error): void;
  /** Why the gateway ended the call (a timeout), if it did: the body's own error is generic. */
  abortReason(): Error | undefined;
}

export interface UpstreamTimeouts {
  /** No byte for this long (before or after the headers) aborts the call. */
  idleMs: number;
  /** The whole exchange, body included, may take at most this long. */
  deadlineMs: number;
  /** A new connection must be established within this long. */
  connectMs?: number;
  /** The status line must arrive within this long. */
  firstByteMs?: number;
}

export class UpstreamTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UpstreamTimeoutError';
  }
}

/** The named upstream headers that came as one value each (for an error answer: retry-after, request ids, rate limits). */
export function pickHeaders(headers: IncomingMessage['headers'], names: readonly string[]): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of names) {
    const v = headers[name];
    if (typeof v === 'string') picked[name] = v;
  }
  return picked;
}

/** Why a relayed upstream body stopped, as the client's error: a timeout is a 504, any other cut a 502 `stream_interrupted`. */
export function toUpstreamError(err: Error): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof UpstreamTimeoutError) return gatewayTimeout(`The upstream stream stopped: ${err.message}`);
  return badGateway('The upstream stream was interrupted before it completed.', 'stream_interrupted');
}

/**
 * Sends the planned request to the address the SSRF guard checked (never re-resolving
 * the name) and resolves when the upstream's status and headers arrive. Redirects are
 * not followed: a 3xx is returned to the caller as it is (providers/http-call.ts refuses it).
 */
export function sendUpstream(plan: UpstreamPlan, timeouts: UpstreamTimeouts): Promise<UpstreamExchange> {
  const { target } = plan;
  const isHttps = target.url.protocol === 'https:';
  const basePath = target.url.pathname.replace(/\/$/, '');
  return new Promise((resolve, reject) => {
    let settled = false;
    let abortReason: Error | undefined;
    const end = (reason: Error) => {
      abortReason ??= reason;
      req.destroy(reason);
    };
    // Dial the checked address itself (Host header and TLS SNI carry the name): the agent pools
    // sockets by address, so a socket opened for one check is never reused for another answer.
    const req = (isHttps ? https : http).request({
      method: plan.method,
      path: `${basePath}${plan.path}${target.url.search}`,
      agent: isHttps ? agents.https : agents.http,
      ...pinnedRequestOptions(target, plan.headers),
    });
    const deadline = setTimeout(() => {
      end(new UpstreamTimeoutError(`Upstream did not complete within ${timeouts.deadlineMs} ms.`));
    }, timeouts.deadlineMs);
    deadline.unref();
    const firstByte = timeouts.firstByteMs
      ? setTimeout(() => end(new UpstreamTimeoutError(`Upstream sent no status line within ${timeouts.firstByteMs} ms.`)), timeouts.firstByteMs)
      : undefined;
    if (timeouts.connectMs) {
      const connectMs = timeouts.connectMs;
      req.once('socket', (socket) => {
        if (!socket.connecting) return;
        const t = setTimeout(() => end(new UpstreamTimeoutError(`Upstream connection not established within ${connectMs} ms.`)), connectMs);
        socket.once('connect', () => clearTimeout(t));
        socket.once('close', () => clearTimeout(t));
      });
    }
    req.setTimeout(timeouts.idleMs, () => {
      end(new UpstreamTimeoutError(`Upstream sent nothing for ${timeouts.idleMs} ms.`));
    });
    req.on('error', (err) => {
      clearTimeout(deadline);
      clearTimeout(firstByte);
      if (settled) return;
      settled = true;
      reject(err instanceof UpstreamTimeoutError ? gatewayTimeout(err.message) : badGateway(`Upstream connection failed: ${describe(err)}.`));
    });
    req.on('response', (res) => {
      settled = true;
      clearTimeout(firstByte);
      const clear = () => clearTimeout(deadline);
      res.once('end', clear);
      res.once('close', clear);
      resolve({
        status: res.statusCode ?? 502,
        headers: res.headers,
        body: res,
        abort: (reason) => end(reason ?? new Error('aborted by the gateway')),
        abortReason: () => abortReason,
      });
    });
    req.end(plan.body);
  });
}

function describe(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code ? `${code}` : err.message;
}
