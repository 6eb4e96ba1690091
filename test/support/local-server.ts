/**
 * The lifecycle every local test upstream shares: listen on 127.0.0.1, keep track of
 * every connection, and on close stop listening and destroy them all (hung ones
 * included, so a test never waits on a response that will not come).
 */
import type { Server } from 'node:http';
import type { Http2Server } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';

export interface LocalServer {
  port: number;
  /** Stops listening and destroys every open connection. */
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:`port` (0: a free port); rejects when the port cannot be had. */
export async function listenLocal(server: Server | Http2Server, port = 0): Promise<LocalServer> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The whole body of a request (an http IncomingMessage or an http2 stream); rejects when the stream fails. */
export async function readBody(req: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** What every test upstream hands back: its base URL, the live request log, and its lifecycle. */
export interface UpstreamHandle<R> {
  url: string;
  requests: R[];
  /** Forgets the recorded requests. */
  reset(): void;
  /** Aborts `closing` (ending pending delays and streams), then closes the server. */
  close(): Promise<void>;
}

/**
 * Builds the handle of an upstream listening on `local`: `url` is
 * `http://127.0.0.1:<port><basePath>`; `reset` empties `requests` in place (the array
 * stays live); `close` aborts `closing`, if given, before `local.close()`.
 */
export function upstreamHandle<R>(local: LocalServer, basePath: string, requests: R[], closing?: AbortController): UpstreamHandle<R> {
  return {
    url: `http://127.0.0.1:${local.port}${basePath}`,
    requests,
    reset: () => {
      requests.length = 0;
    },
    close: () => {
      closing?.abort();
      return local.close();
    },
  };
}
