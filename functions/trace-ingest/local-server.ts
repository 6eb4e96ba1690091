import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';

export interface LocalIngestServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * Serves a buffered Function URL handler (trace-ingest) over node:http with the
 * payload-2.0 event shape, for local runs, tests and benchmarks.
 */
export async function serveFunctionUrl(
  handler: (event: LambdaFunctionURLEvent) => Promise<LambdaFunctionURLResult>,
  opts: { host?: string; port?: number } = {},
): Promise<LocalIngestServer> {
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://local');
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
      const event = {
        version: '2.0',
        routeKey: '$default',
        rawPath: url.pathname,
        rawQueryString: url.search.slice(1),
        headers,
        requestContext: { http: { method: req.method ?? 'GET', path: url.pathname, protocol: 'HTTP/1.1', sourceIp: req.socket.remoteAddress ?? '', userAgent: headers['user-agent'] ?? '' } },
        body: body.toString('base64'),
        isBase64Encoded: true,
      } as unknown as LambdaFunctionURLEvent;
      const result = await handler(event);
      const out = typeof result === 'string' ? { statusCode: 200, body: result, headers: {} } : result;
      res.writeHead(out.statusCode ?? 200, (out.headers ?? {}) as Record<string, string>);
      res.end(out.isBase64Encoded && out.body ? Buffer.from(out.body, 'base64') : (out.body ?? ''));
    })().catch((err: Error) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(err.message);
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}/`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
