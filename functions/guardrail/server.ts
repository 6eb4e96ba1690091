import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleScore, type ScorerDeps } from './scorer.js';

/** The reference scorer on node:http, for the local runtime and tests. */
export async function startScorerServer(deps: ScorerDeps, opts: { port?: number; host?: string } = {}): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void handleScore(deps, { method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0]!, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}), body: Buffer.concat(chunks).toString('utf8') }).then((r) => {
        res.writeHead(r.status, { 'content-type': 'application/json' }).end(r.body);
      });
    });
  });
  await new Promise<void>((r) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
