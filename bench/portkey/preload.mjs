// Preloaded into Portkey's gateway process (`node --import`) by the benchmark. It changes
// nothing in Portkey's own code; it adjusts the Node environment around it:
//
// 1. Loopback only. Portkey's start-server calls serve({ fetch, port }) with no hostname,
//    which listens on every interface; any listen() that names no host binds 127.0.0.1
//    here instead. Its outgoing fetch() is refused for any host but loopback, so no
//    request of the benchmark can leave the machine (Portkey ships plugins that would
//    call public hosts, e.g. a DNS-over-HTTPS lookup).
//
// 2. Portkey issue #1389 ("TypeError: immutable" with @hono/node-server > 1.14.2): on a
//    streamed answer Portkey wraps the upstream fetch Response as `new Response(body,
//    upstreamResponse)`; @hono/node-server's lightweight Response keeps the upstream's
//    Headers object, whose guard is "immutable", and Portkey's updateHeaders() then
//    throws on append() — every stream fails with {"status":"failure"}. Older
//    @hono/node-server versions do not start on Node 24 (Portkey PR #1605), so pinning
//    is no way out. The workaround: hand Portkey upstream responses whose headers are
//    mutable, by re-wrapping each fetch() result in a native Response (same status,
//    headers and body stream; no bytes are copied or buffered).
import net from 'node:net';

const LOOPBACK = '127.0.0.1';
const listen = net.Server.prototype.listen;

net.Server.prototype.listen = function listenOnLoopback(...args) {
  const [first, second] = args;
  if (first !== null && typeof first === 'object' && !('fd' in first) && !('path' in first)) {
    args[0] = { ...first, host: first.host ?? LOOPBACK };
  } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    if (second === undefined) args.splice(1, 1, LOOPBACK);
    else if (typeof second === 'function' || typeof second === 'number') args.splice(1, 0, LOOPBACK);
  }
  return listen.apply(this, args);
};

const NativeResponse = globalThis.Response;
const nativeFetch = globalThis.fetch;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

globalThis.fetch = async function loopbackFetchWithMutableHeaders(input, init) {
  const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
  if (!LOOPBACK_HOSTS.has(url.hostname)) {
    throw new Error(`benchmark preload: refusing non-loopback fetch to ${url.hostname}`);
  }
  const response = await nativeFetch(input, init);
  return new NativeResponse(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers: new Headers(response.headers),
  });
};
