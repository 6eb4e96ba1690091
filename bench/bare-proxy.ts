// Child process entry: the bare Node pipe proxy, the limit reference of the gateway benchmark
// (issue #17). Each request is piped to the upstream over a keep-alive agent and the answer
// piped back: the same HTTP hop a gateway makes, with no parsing, no auth, no traces.
// BARE_PROXY_UPSTREAM = the upstream's base URL (http://127.0.0.1:<port>/v1).
import { Agent, createServer, request } from 'node:http';

const upstream = new URL(process.env.BARE_PROXY_UPSTREAM ?? '');
if (upstream.hostname !== '127.0.0.1') throw new Error('BARE_PROXY_UPSTREAM must be a loopback URL');
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const base = upstream.pathname.replace(/\/$/, '');

const server = createServer((req, res) => {
  const out = request(
    { agent, host: upstream.hostname, port: upstream.port, method: req.method, path: `${base}${(req.url ?? '/').replace(/^\/v1/, '')}`, headers: req.headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  out.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(out);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') process.stdout.write(`BARE_PROXY_URL=http://127.0.0.1:${address.port}/v1\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
