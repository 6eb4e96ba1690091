/**
 * The gateway's URL space (see ../shared/DESIGN.md §1):
 *   GET  /healthz
 *   /v1/<endpoint>                       proxy taken from the key
 *   /a/<proxyId>/openai/v1/<endpoint>    proxy named in the path
 */
export type Endpoint = 'chat.completions' | 'responses' | 'embeddings' | 'completions' | 'models';

export type Route =
  | { kind: 'health' }
  | { kind: 'openai'; endpoint: Endpoint; pathProxyId?: string; method: 'GET' | 'POST' };

interface EndpointSpec {
  endpoint: Endpoint;
  method: 'GET' | 'POST';
}

const OPENAI_ENDPOINTS: Record<string, EndpointSpec> = {
  'chat/completions': { endpoint: 'chat.completions', method: 'POST' },
  responses: { endpoint: 'responses', method: 'POST' },
  embeddings: { endpoint: 'embeddings', method: 'POST' },
  completions: { endpoint: 'completions', method: 'POST' },
  models: { endpoint: 'models', method: 'GET' },
};

/** Upstream path of each endpoint, relative to the provider's /v1 base URL. */
export const OPENAI_PATHS: Record<Endpoint, string> = {
  'chat.completions': '/chat/completions',
  responses: '/responses',
  embeddings: '/embeddings',
  completions: '/completions',
  models: '/models',
};

export type RouteMatch = { ok: true; route: Route } | { ok: false; status: 404 | 405; allow?: string };

const PROXY_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function matchRoute(method: string, rawPath: string): RouteMatch {
  const path = rawPath.length > 1 && rawPath.endsWith('/') ? rawPath.slice(0, -1) : rawPath;
  if (path === '/healthz') {
    return method === 'GET' || method === 'HEAD' ? { ok: true, route: { kind: 'health' } } : { ok: false, status: 405, allow: 'GET' };
  }
  let rest: string | undefined;
  let pathProxyId: string | undefined;
  if (path.startsWith('/v1/')) {
    rest = path.slice(4);
  } else if (path.startsWith('/a/')) {
    const parts = path.split('/'); // ['', 'a', proxyId, 'openai', 'v1', ...]
    if (parts.length >= 6 && parts[3] === 'openai' && parts[4] === 'v1') {
      pathProxyId = decodeSegment(parts[2] ?? '');
      rest = parts.slice(5).join('/');
    }
  }
  if (rest === undefined) return { ok: false, status: 404 };
  const spec = OPENAI_ENDPOINTS[rest];
  if (!spec) return { ok: false, status: 404 };
  if (method !== spec.method) return { ok: false, status: 405, allow: spec.method };
  return {
    ok: true,
    route: { kind: 'openai', endpoint: spec.endpoint, method: spec.method, ...(pathProxyId !== undefined ? { pathProxyId } : {}) },
  };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** A path proxy id that cannot exist is treated like an unknown proxy (403), never echoed back. */
export function isWellFormedProxyId(id: string): boolean {
  return PROXY_ID.test(id);
}
