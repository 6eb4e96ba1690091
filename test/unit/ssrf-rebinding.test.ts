import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUpstreamGuard, pinnedLookup, pinnedRequestOptions, SsrfError, type ResolvedAddress, type Resolver } from '../../functions/net/index.js';

/** A resolver that answers `first` on its first call and `later` on every call after it (DNS rebinding). */
function rebindingResolver(first: ResolvedAddress[], later: ResolvedAddress[]): Resolver & { calls: number } {
  const resolver = Object.assign(
    async (_hostname: string) => (resolver.calls++ === 0 ? first : later),
    { calls: 0 },
  );
  return resolver;
}

function listen(host: string, port: number, name: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    res.setHeader('x-served-by', name);
    res.end(`${name} ${req.headers.host}`);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

function get(options: http.RequestOptions, agent: http.Agent | false = false): Promise<{ servedBy: string; body: string; remote: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ ...options, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ servedBy: String(res.headers['x-served-by']), body, remote: req.socket?.remoteAddress }));
    });
    req.on('error', reject);
    req.end();
  });
}

const close = (server: http.Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('DNS rebinding: the connection goes to the checked address', () => {
  let checked: http.Server;
  let rebound: http.Server;
  let port: number;

  beforeAll(async () => {
    // Two servers on the same port: the one the check approves (127.0.0.1) and the one the
    // name re-binds to afterwards (127.0.0.2; all of 127/8 is loopback on Linux).
    checked = await listen('127.0.0.1', 0, 'checked');
    port = (checked.address() as AddressInfo).port;
    rebound = await listen('127.0.0.2', port, 'rebound');
  });
  afterAll(async () => {
    await Promise.all([close(checked), close(rebound)]);
  });

  it('a request through pinnedLookup reaches the checked server although DNS now answers another address', async () => {
    const resolve = rebindingResolver([{ address: '127.0.0.1', family: 4 }], [{ address: '127.0.0.2', family: 4 }]);
    const guard = createUpstreamGuard({ resolve });
    const target = await guard.check(`http://upstream.rebind.test:${port}/v1`, { allowPrivateNetwork: true });
    expect(target.address).toBe('127.0.0.1');

    // DNS has moved on: an unpinned client resolving the name now lands on the other server.
    const [now] = await resolve(target.hostname);
    expect(now?.address).toBe('127.0.0.2');
    const unpinned = await get({
      host: target.hostname,
      port: target.port,
      path: '/',
      lookup: (_h, _o, cb) => cb(null, [{ address: now?.address ?? '', family: 4 }]),
    });
    expect(unpinned.servedBy).toBe('rebound');

    const pinned = await get({ host: target.hostname, port: target.port, path: '/', lookup: pinnedLookup(target) });
    expect(pinned.servedBy).toBe('checked');
    expect(pinned.remote).toBe('127.0.0.1');
    // The Host header still names the upstream (virtual hosting and TLS SNI keep working).
    expect(pinned.body).toBe(`checked upstream.rebind.test:${port}`);
  });

  it('a public answer at check time pins the public address; the later loopback answer is never used', async () => {
    const resolve = rebindingResolver([{ address: '93.184.216.34', family: 4 }], [{ address: '127.0.0.1', family: 4 }]);
    const guard = createUpstreamGuard({ resolve, ttlMs: 60_000 });
    const target = await guard.check(`https://api.rebind.test:${port}/v1`, { allowPrivateNetwork: false });
    expect(target.address).toBe('93.184.216.34');
    // Within the TTL the cached target is reused: no second resolution that could rebind.
    expect((await guard.check(`https://api.rebind.test:${port}/v1`, { allowPrivateNetwork: false })).address).toBe('93.184.216.34');
    expect(resolve.calls).toBe(1);

    // node:http hands the lookup to the socket; observe what the socket is told and which
    // address it then dials, and abort right there (no network in tests).
    let served = 0;
    checked.on('request', () => served++);
    const looked = await new Promise<{ lookup: unknown[]; attempt: unknown[] }>((resolveLookup, reject) => {
      let lookupArgs: unknown[] = [];
      const req = http.request({
        host: target.hostname,
        port: target.port,
        path: '/',
        lookup: pinnedLookup(target),
        createConnection: (options) => {
          const socket = net.createConnection(options as net.NetConnectOpts);
          socket.once('lookup', (err: Error | null, address: string, family: number | null, host: string) => {
            if (err) reject(err);
            lookupArgs = [address, family, host];
          });
          socket.once('connectionAttempt', (ip: string, attemptPort: number, family: number) => {
            resolveLookup({ lookup: lookupArgs, attempt: [ip, attemptPort, family] });
            // Not synchronously: Node is still inside connect() when it emits this event.
            setImmediate(() => socket.destroy());
          });
          return socket;
        },
      });
      req.on('error', () => {});
      req.end();
    });
    expect(looked.lookup).toEqual(['93.184.216.34', 4, 'api.rebind.test']);
    expect(looked.attempt).toEqual(['93.184.216.34', port, 4]);
    expect(served).toBe(0);
    expect(resolve.calls).toBe(1);
  });

  it('pinnedLookup answers in both callback shapes and refuses any other host', async () => {
    const target = await createUpstreamGuard({ resolve: async () => [{ address: '2606:4700::6810:84e5', family: 6 }] }).check(
      'https://api.example.com/',
      { allowPrivateNetwork: false },
    );
    const lookup = pinnedLookup(target);
    const one = await new Promise((resolve) => lookup('api.example.com', {}, (err, address, family) => resolve({ err, address, family })));
    expect(one).toEqual({ err: null, address: '2606:4700::6810:84e5', family: 6 });
    const all = await new Promise((resolve) => lookup('API.example.com', { all: true }, (err, address) => resolve({ err, address })));
    expect(all).toEqual({ err: null, address: [{ address: '2606:4700::6810:84e5', family: 6 }] });
    const other = await new Promise<NodeJS.ErrnoException | null>((resolve) => lookup('evil.example.com', {}, (err) => resolve(err)));
    expect(other?.code).toBe('ENOTFOUND');
  });

  it('a name answering a public and a loopback address is refused before any connection', async () => {
    let served = 0;
    checked.on('request', () => served++);
    const guard = createUpstreamGuard({
      resolve: async () => [
        { address: '93.184.216.34', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ],
    });
    await expect(guard.check(`https://mixed.rebind.test:${port}/`, { allowPrivateNetwork: false })).rejects.toSatisfy(
      (err) => err instanceof SsrfError && err.reason === 'loopback',
    );
    expect(served).toBe(0);
  });

  describe('with a keep-alive agent', () => {
    // The same name, checked twice with different answers (e.g. by a proxy that allows
    // private networks and later by one that does not): each request must reach the
    // address its own check approved, not a pooled socket opened for the other.
    async function twoTargets() {
      const answers = [[{ address: '127.0.0.1', family: 4 as const }], [{ address: '127.0.0.2', family: 4 as const }]];
      let call = 0;
      const guard = createUpstreamGuard({ resolve: async () => answers[call++] ?? [], ttlMs: 0 });
      const first = await guard.check(`http://api.pool.test:${port}/v1`, { allowPrivateNetwork: true });
      const second = await guard.check(`http://api.pool.test:${port}/v1`, { allowPrivateNetwork: true });
      expect([first.address, second.address]).toEqual(['127.0.0.1', '127.0.0.2']);
      return [first, second] as const;
    }
    const settle = () => new Promise((r) => setImmediate(r));

    it('pinnedRequestOptions keys the pool by address: each request reaches its checked address', async () => {
      const [first, second] = await twoTargets();
      const agent = new http.Agent({ keepAlive: true });
      try {
        const a = await get({ ...pinnedRequestOptions(first, { 'x-test': '1' }), path: '/' }, agent);
        await settle();
        const b = await get({ ...pinnedRequestOptions(second), path: '/' }, agent);
        expect(a.servedBy).toBe('checked');
        expect(b.servedBy).toBe('rebound');
        // The upstream still sees its own name in Host.
        expect(a.body).toBe(`checked api.pool.test:${port}`);
        expect(b.body).toBe(`rebound api.pool.test:${port}`);
      } finally {
        agent.destroy();
      }
    });

    it('(why) a name-keyed pool with pinnedLookup reuses the first socket for the second check', async () => {
      const [first, second] = await twoTargets();
      const agent = new http.Agent({ keepAlive: true });
      try {
        const a = await get({ host: first.hostname, port, path: '/', lookup: pinnedLookup(first) }, agent);
        await settle();
        const b = await get({ host: second.hostname, port, path: '/', lookup: pinnedLookup(second) }, agent);
        expect(a.servedBy).toBe('checked');
        expect(b.servedBy).toBe('checked'); // not 127.0.0.2: the pooled socket won
      } finally {
        agent.destroy();
      }
    });
  });

  it('pinnedRequestOptions names the upstream for TLS and Host', async () => {
    const guard = createUpstreamGuard({ resolve: async () => [{ address: '93.184.216.34', family: 4 }] });
    const named = await guard.check('https://api.example.com./v1', { allowPrivateNetwork: false });
    expect(pinnedRequestOptions(named, { authorization: 'Bearer x' })).toEqual({
      host: '93.184.216.34',
      port: 443,
      servername: 'api.example.com',
      headers: { authorization: 'Bearer x', host: 'api.example.com.' },
    });
    const literal = await guard.check('https://[2606:4700:4700::1111]:8443/v1', { allowPrivateNetwork: false });
    expect(pinnedRequestOptions(literal)).toEqual({
      host: '2606:4700:4700::1111',
      port: 8443,
      headers: { host: '[2606:4700:4700::1111]:8443' },
    });
  });
});
