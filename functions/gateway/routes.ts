/**
 * The gateway's URL space (see ../shared/DESIGN.md §1):
 *   GET  /healthz
 *   /v1/<endpoint>                                      proxy taken from the key
 *   /a/<proxyId>/openai/v1/<endpoint>                   proxy named in the path
 *   /a/<proxyId>/anthropic/v1/messages[/count_tokens]   native Anthropic Messages
 *   /a/<proxyId>/bedrock/model/<modelId>/converse[-stream]   native Bedrock Converse
 *   GET /a/<proxyId>/approvals/<id>                     a held request's approval status
 */
import { type AnthropicEndpoint, type BedrockEndpoint, type OpenAIEndpoint, type Route } from '../upstream/endpoints.js';

export type { AnthropicEndpoint, BedrockEndpoint, Endpoint, Ingress, OpenAIEndpoint, Route } from '../upstream/endpoints.js';
export { isOpenAIEndpoint, OPENAI_PATHS } from '../upstream/endpoints.js';

interface EndpointSpec {
  endpoint: OpenAIEndpoint;
  method: 'GET' | 'POST';
}

const OPENAI_ENDPOINTS: Record<string, EndpointSpec> = {
  'chat/completions': { endpoint: 'chat.completions', method: 'POST' },
  responses: { endpoint: 'responses', method: 'POST' },
  embeddings: { endpoint: 'embeddings', method: 'POST' },
  completions: { endpoint: 'completions', method: 'POST' },
  models: { endpoint: 'models', method: 'GET' },
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
    const proxyId = decodeSegment(parts[2] ?? '');
    if (parts.length >= 6 && parts[3] === 'openai' && parts[4] === 'v1') {
      pathProxyId = proxyId;
      rest = parts.slice(5).join('/');
    } else if (parts[3] === 'anthropic') {
      return matchAnthropic(method, proxyId, parts.slice(4).join('/'));
    } else if (parts[3] === 'bedrock') {
      return matchBedrock(method, proxyId, parts.slice(4));
    } else if (parts[3] === 'approvals' && parts.length === 5 && parts[4] !== '') {
      if (method !== 'GET') return { ok: false, status: 405, allow: 'GET' };
      return { ok: true, route: { kind: 'approval', pathProxyId: proxyId, approvalId: decodeSegment(parts[4]!) } };
    }
  }
  if (rest === undefined) return { ok: false, status: 404 };
  const spec = OPENAI_ENDPOINTS[rest];
  if (!spec) return { ok: false, status: 404 };
  if (method !== spec.method) return { ok: false, status: 405, allow: spec.method };
  return {
    ok: true,
    route: { kind: 'openai', ingress: 'openai', endpoint: spec.endpoint, method: spec.method, ...(pathProxyId !== undefined ? { pathProxyId } : {}) },
  };
}

const ANTHROPIC_ENDPOINTS: Record<string, AnthropicEndpoint> = {
  'v1/messages': 'anthropic.messages',
  'v1/messages/count_tokens': 'anthropic.count_tokens',
};

function matchAnthropic(method: string, pathProxyId: string, rest: string): RouteMatch {
  const endpoint = ANTHROPIC_ENDPOINTS[rest];
  if (!endpoint) return { ok: false, status: 404 };
  if (method !== 'POST') return { ok: false, status: 405, allow: 'POST' };
  return { ok: true, route: { kind: 'openai', ingress: 'anthropic', endpoint, method: 'POST', pathProxyId } };
}

/** `model/<modelId>/converse[-stream]`; the model id may be an ARN, URL-encoded into one segment. */
function matchBedrock(method: string, pathProxyId: string, parts: string[]): RouteMatch {
  if (parts.length !== 3 || parts[0] !== 'model') return { ok: false, status: 404 };
  const action = parts[2];
  if (action !== 'converse' && action !== 'converse-stream') return { ok: false, status: 404 };
  const modelId = decodeSegment(parts[1] ?? '');
  if (modelId === '') return { ok: false, status: 404 };
  if (method !== 'POST') return { ok: false, status: 405, allow: 'POST' };
  const endpoint: BedrockEndpoint = action === 'converse' ? 'bedrock.converse' : 'bedrock.converse-stream';
  return { ok: true, route: { kind: 'openai', ingress: 'bedrock', endpoint, method: 'POST', pathProxyId, modelId } };
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
