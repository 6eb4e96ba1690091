import './awslambda.js';
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_BODY_BYTES } from '../gateway/request-body.js';
import { LambdaResponseStream, PRELUDE_CONTENT_TYPE, PRELUDE_DELIMITER } from './awslambda.js';
import { toFunctionUrlEvent } from './function-url-event.js';
import { answerHealthz, bodyTimeoutBody, hardenForProduction, REQUEST_BODY_TIMEOUT_MS, type ReceiveTimeouts } from './production.js';
import { applyCors, type CorsPolicy } from './cors.js';
import { deadlineError, deadlineResponse, deadlineStreamEnd, routeOf } from './deadline.js';
import { drainHttpServer, type Drainable } from './shutdown.js';

type StreamingHandler = (event: unknown, responseStream: LambdaResponseStream, context: unknown) => Promise<unknown>;

export interface LocalServerOptions {
  /** The streaming handler, exactly as exported for Lambda. */
  handler: unknown;
  port?: number;
  host?: string;
  /** Hold response writes until this many bytes accumulate (reproduces Function URL coalescing). */
  coalesceBytes?: number;
  /**
   * Per-invocation time limit, as the function's timeout (default 15 minutes, Lambda's
   * maximum). An invocation still running then is stopped (its stream destroyed, which
   * aborts the upstream call) and the client gets a 504, or a closing error event when the
   * stream has begun (functions/local/deadline.ts).
   */
  timeoutMs?: number;
  /** The container server: production timeouts, JSON answers for refused requests, `/healthz`. */
  production?: boolean;
  /**
   * With `production`: the bounds on receiving a request (headers, then body; defaults in
   * functions/local/production.ts). A body not complete in time is answered 408.
   */
  receiveTimeouts?: ReceiveTimeouts;
  /** CORS as the Function URL does it (functions/local/cors.ts); none when omitted. */
  cors?: CorsPolicy;
  /** Told of every invocation stopped at `timeoutMs` (the container server logs it). */
  onDeadline?: (stopped: StoppedInvocation) => void;
}

export interface StoppedInvocation {
  method: string;
  path: string;
  timeoutMs: number;
  /** The gateway's trace id, when its response had begun (the trace records the cut, not why). */
  traceId?: string;
  responseBegun: boolean;
}

export interface LocalServer extends Drainable {
  url: string;
  port: number;
  /** Closes at once: connections are cut, invocations get up to 5 s to finish. */
  close(): Promise<void>;
}

/**
 * The local runtime: a node:http server that plays the Function URL and the Lambda
 * runtime around the SAME handler object Lambda runs. Each request becomes a payload
 * 2.0 event; the handler writes to a response stream whose first write carries the
 * JSON prelude and 8 NUL bytes, which this server parses into the HTTP status and
 * headers before piping the rest to the client.
 */
export async function startLocalServer(opts: LocalServerOptions): Promise<LocalServer> {
  const handler = opts.handler as StreamingHandler;
  const timeoutMs = opts.timeoutMs ?? 15 * 60_000;
  // The body bound is the container server's (npm start and sluice dev wait for a body as long as it takes).
  const bodyTimeoutMs = opts.production ? opts.receiveTimeouts?.bodyMs ?? REQUEST_BODY_TIMEOUT_MS : 0;
  // Invocations still running (trace and session writes finish after the last byte):
  // close() waits for them, as Lambda waits for the handler to resolve.
  const inflight = new Set<Promise<void>>();
  const server = http.createServer((req, res) => {
    if (opts.cors && applyCors(opts.cors, req, res)) return;
    if (opts.production && answerHealthz(req, res)) return;
    // Nothing that goes wrong with one request may take the server down (Node exits on an
    // unhandled rejection): an unexpected failure is a 502, or a cut connection once begun.
    const invocation = serve(handler, req, res, opts.coalesceBytes ?? 0, timeoutMs, bodyTimeoutMs, opts.onDeadline).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'Internal Server Error' }));
      } else res.destroy(err instanceof Error ? err : new Error(String(err)));
    });
    inflight.add(invocation);
    void invocation.finally(() => inflight.delete(invocation));
  });
  server.keepAliveTimeout = 65_000;
  if (opts.production) hardenForProduction(server, opts.receiveTimeouts);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    port,
    drain: (graceMs) => drainHttpServer(server, inflight, graceMs),
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await Promise.race([Promise.allSettled([...inflight]), new Promise((r) => setTimeout(r, 5_000).unref())]);
    },
  };
}

async function serve(handler: StreamingHandler, req: IncomingMessage, res: ServerResponse, coalesceBytes: number, timeoutMs: number, bodyTimeoutMs: number, onDeadline?: (stopped: StoppedInvocation) => void) {
  const body = await readBody(req, bodyTimeoutMs);
  // The client went away before its body was complete: there is no one to answer.
  if (body === 'aborted') return;
  if (body === 'timed-out') {
    // Slow or stalled body: answered (HTTP still allows it, nothing has been sent) and the
    // connection closed, so whatever else trickles in is not read.
    const refusal = bodyTimeoutBody(bodyTimeoutMs);
    res.writeHead(408, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(refusal), 'x-sluice-trace-id': randomUUID(), 'x-sluice-session-id': randomUUID(), connection: 'close' });
    res.end(refusal);
    return;
  }
  if (body === 'too-large') {
    const refusal = JSON.stringify({ error: { message: `Request body exceeds the ${MAX_BODY_BYTES} byte limit.`, type: 'invalid_request_error', code: 'payload_too_large', param: null } });
    res.writeHead(413, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(refusal), 'x-sluice-trace-id': randomUUID(), 'x-sluice-session-id': randomUUID(), connection: 'close' });
    res.end(refusal);
    return;
  }
  let event;
  try {
    event = toFunctionUrlEvent(req, body);
  } catch {
    // A request target no URL parser takes (`/%zz`, `//`): the Function URL front end refuses
    // those before any function runs; here it is a 400 in the gateway's error shape.
    const text = JSON.stringify({ error: { message: 'The request path is not a valid URL path.', type: 'invalid_request_error', code: 'invalid_path', param: null } });
    res.writeHead(400, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-sluice-trace-id': randomUUID(), 'x-sluice-session-id': randomUUID() });
    res.end(text);
    return;
  }
  const writer = new ResponseWriter(res, coalesceBytes);
  const stream = new LambdaResponseStream((chunk, done) => writer.write(chunk, done));
  stream.on('finish', () => writer.end());
  // A client that goes away aborts the invocation's stream, and with it the upstream call.
  // Once the handler has finished the stream there is nothing left to abort (and an error
  // on a stream nobody listens to any more would take the whole server down).
  // Not every handler path listens for errors on the stream (the console's answers do not):
  // the no-op listener keeps such a disconnect from being an uncaught exception.
  res.on('close', () => {
    if (res.writableFinished || stream.writableFinished) return;
    stream.once('error', () => {});
    stream.destroy(new Error('client disconnected'));
  });
  const deadline = Date.now() + timeoutMs;
  let timedOut = false;
  const timer = setTimeout(() => {
    if (res.writableEnded || res.destroyed) return;
    timedOut = true;
    const responseBegun = res.headersSent;
    onDeadline?.({ method: event.requestContext.http.method, path: event.rawPath, timeoutMs, responseBegun, ...(writer.traceId ? { traceId: writer.traceId } : {}) });
    const held = writer.stop();
    const error = deadlineError(timeoutMs);
    const route = routeOf(event.requestContext.http.method, event.rawPath, lowerCased(req.headers));
    if (!res.headersSent) {
      const answer = deadlineResponse(route, error);
      res.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body), 'x-sluice-trace-id': randomUUID(), 'x-sluice-session-id': randomUUID() });
      res.end(answer.body);
    } else {
      const end = deadlineStreamEnd(route, writer.contentType, error);
      if (end) res.end(held.length ? Buffer.concat([held, end]) : end);
      else res.destroy(error);
    }
    // As Lambda stops the invocation: the handler's stream goes, and with it the upstream call
    // (an error nobody else listens to must not take the server down).
    stream.once('error', () => {});
    stream.destroy(error);
  }, timeoutMs);
  const context = {
    awsRequestId: event.requestContext.requestId,
    functionName: 'sluice-local',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:sluice-local',
    memoryLimitInMB: '1024',
    logGroupName: '/aws/lambda/sluice-local',
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    await handler(event, stream, context);
    if (!stream.writableEnded && !timedOut) stream.end();
  } catch (err) {
    if (timedOut) return; // answered at the deadline
    // As a Function URL does when the function fails before its prelude: 502.
    if (!res.headersSent && !writer.started) {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'Internal Server Error' }));
    } else {
      res.destroy(err as Error);
    }
  } finally {
    clearTimeout(timer);
  }
}

function lowerCased(headers: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (typeof value === 'string') out[name.toLowerCase()] = value;
  return out;
}

/**
 * The whole request body, or why not: over the size limit, not complete within `timeoutMs`
 * of the headers (0: no bound), or the client gone first.
 */
function readBody(req: IncomingMessage, timeoutMs: number): Promise<Buffer | 'too-large' | 'timed-out' | 'aborted'> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      req.resume();
      resolve('too-large');
      return;
    }
    const timer = timeoutMs > 0 ? setTimeout(() => {
      req.removeAllListeners('data');
      req.pause();
      resolve('timed-out');
    }, timeoutMs) : undefined;
    req.once('close', () => {
      clearTimeout(timer);
      if (!req.complete) resolve('aborted');
    });
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      clearTimeout(timer);
      resolve(size > MAX_BODY_BYTES ? 'too-large' : Buffer.concat(chunks));
    });
    req.on('error', () => {
      clearTimeout(timer);
      resolve('aborted');
    });
  });
}

/**
 * Parses the prelude out of the byte stream and forwards the rest, optionally
 * coalescing writes as Function URLs have been reported to.
 */
class ResponseWriter {
  started = false;
  /** The content type the prelude gave the response (writeHead's headers are not readable back). */
  contentType = '';
  /** The gateway's X-Sluice-Trace-Id from the prelude. */
  traceId: string | undefined;
  private stopped = false;
  private head: Buffer[] = [];
  private held: Buffer[] = [];
  private heldBytes = 0;

  constructor(
    private readonly res: ServerResponse,
    private readonly coalesceBytes: number,
  ) {}

  /** Stops forwarding (the invocation ran out of time); returns the bytes held for coalescing. */
  stop(): Buffer {
    this.stopped = true;
    const held = Buffer.concat(this.held);
    this.held = [];
    this.heldBytes = 0;
    return held;
  }

  write(chunk: Buffer, done: (err?: Error | null) => void): void {
    if (this.stopped) return done();
    this.started = true;
    this.corkUntilImmediate();
    if (!this.res.headersSent && this.head !== undefined) {
      this.head.push(chunk);
      const joined = this.head.length === 1 ? chunk : Buffer.concat(this.head);
      const at = joined.indexOf(PRELUDE_DELIMITER);
      if (at < 0) return done();
      const prelude = JSON.parse(joined.subarray(0, at).toString('utf8')) as { statusCode?: number; headers?: Record<string, string>; cookies?: string[] };
      const headers: Record<string, string | string[]> = { ...(prelude.headers ?? {}) };
      if (prelude.cookies?.length) headers['set-cookie'] = prelude.cookies;
      for (const [name, value] of Object.entries(headers)) {
        if (name.toLowerCase() === 'content-type') this.contentType = String(value);
        if (name.toLowerCase() === 'x-sluice-trace-id') this.traceId = String(value);
      }
      this.res.writeHead(prelude.statusCode ?? 200, headers);
      this.res.flushHeaders();
      const rest = joined.subarray(at + PRELUDE_DELIMITER.length);
      return rest.length ? this.forward(rest, done) : done();
    }
    this.forward(chunk, done);
  }

  private forward(chunk: Buffer, done: (err?: Error | null) => void): void {
    if (this.coalesceBytes > 0) {
      this.held.push(chunk);
      this.heldBytes += chunk.length;
      if (this.heldBytes < this.coalesceBytes) return done();
      chunk = Buffer.concat(this.held);
      this.held = [];
      this.heldBytes = 0;
    }
    if (this.res.write(chunk)) done();
    else this.res.once('drain', () => done());
  }

  /**
   * Writes made in the same turn of the event loop (prelude, body, end) leave in one
   * socket write instead of one each: the connection is corked until the loop's check
   * phase, which comes right after the I/O that produced them, so nothing is held back
   * longer than that (streamed events still leave as they arrive). res.end() uncorks
   * the connection fully by itself. The socket is corked, not the response: a corked
   * ServerResponse holds chunked writes apart and res.end() sends its terminating chunk
   * ahead of them (Node 24).
   */
  private corked = false;
  private corkUntilImmediate(): void {
    const socket = this.res.socket;
    if (this.corked || this.res.writableEnded || !socket) return;
    this.corked = true;
    socket.cork();
    setImmediate(() => {
      this.corked = false;
      if (!this.res.writableEnded) socket.uncork();
    });
  }

  end(): void {
    if (this.stopped) return;
    if (!this.res.headersSent) {
      // No prelude: a handler that streamed raw bytes. Lambda answers 200 with the stream's content type.
      const raw = Buffer.concat(this.head);
      this.res.writeHead(200, { 'content-type': 'application/octet-stream' });
      this.res.end(raw);
      return;
    }
    if (this.held.length) this.res.write(Buffer.concat(this.held));
    this.res.end();
  }
}

export { PRELUDE_CONTENT_TYPE };
