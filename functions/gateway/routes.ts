/**
 * The gateway's URL space (see ../shared/DESIGN.md §1):
 *   GET  /healthz
 *   /v1/<endpoint>                                      proxy taken from the key
 *   /v1/messages[/count_tokens]                         Anthropic Messages, proxy taken from the key
 *   GET /v1/models with `anthropic-version`             the model list in Anthropic's shape
 *   GET /v1/approvals/<id>                              a held request's approval status, proxy from the key
 *   POST /v1/actions/check                              may this action run (the action policy stage), proxy from the key
 *   /a/<proxyId>/openai/v1/<endpoint>                   proxy named in the path
 *   /a/<proxyId>/anthropic/v1/messages[/count_tokens]   native Anthropic Messages
 *   /a/<proxyId>/bedrock/model/<modelId>/converse[-stream]   native Bedrock Converse
 *   GET /a/<proxyId>/approvals/<id>                     a held request's approval status
 *   POST /a/<proxyId>/actions/check                     may this action run
 *   /console/…, /admin/…                                the console and its admin API (docs/console.md)
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

/** `headers` (names lower-cased) tell an Anthropic SDK's `GET /v1/models` (it sends `anthropic-version`) from OpenAI's. */
export function matchRoute(method: string, rawPath: string, headers: Record<string, string> = {}): RouteMatch {
  const path = rawPath.length > 1 && rawPath.endsWith('/') ? rawPath.slice(0, -1) : rawPath;
  if (path === '/healthz') {
    return method === 'GET' || method === 'HEAD' ? { ok: true, route: { kind: 'health' } } : { ok: false, status: 405, allow: 'GET' };
  }
  if (/^\/(console|admin)($|\/)/.test(rawPath)) return { ok: true, route: { kind: 'console' } };
  let rest: string | undefined;
  let pathProxyId: string | undefined;
  if (path.startsWith('/v1/')) {
    rest = path.slice(4);
    const anthropicSdk = rest === 'messages' || rest === 'messages/count_tokens' || (rest === 'models' && headers['anthropic-version'] !== undefined);
    if (anthropicSdk) return matchAnthropic(method, undefined, `v1/${rest}`);
    const special = matchGovernance(method, undefined, rest.split('/'));
    if (special) return special;
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
    } else {
      const special = matchGovernance(method, proxyId, parts.slice(3));
      if (special) return special;
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

const ANTHROPIC_ENDPOINTS: Record<string, EndpointSpec | { endpoint: AnthropicEndpoint; method: 'POST' }> = {
  'v1/messages': { endpoint: 'anthropic.messages', method: 'POST' },
  'v1/messages/count_tokens': { endpoint: 'anthropic.count_tokens', method: 'POST' },
  // The model list, answered in Anthropic's shape on this ingress.
  'v1/models': { endpoint: 'models', method: 'GET' },
};

function matchAnthropic(method: string, pathProxyId: string | undefined, rest: string): RouteMatch {
  const spec = Object.hasOwn(ANTHROPIC_ENDPOINTS, rest) ? ANTHROPIC_ENDPOINTS[rest] : undefined;
  if (!spec) return { ok: false, status: 404 };
  if (method !== spec.method) return { ok: false, status: 405, allow: spec.method };
  return { ok: true, route: { kind: 'openai', ingress: 'anthropic', endpoint: spec.endpoint, method: spec.method, ...(pathProxyId !== undefined ? { pathProxyId } : {}) } };
}

/** `approvals/<id>` (GET) and `actions/check` (POST), under `/v1/` or `/a/<proxyId>/`; undefined: not one of them. */
function matchGovernance(method: string, pathProxyId: string | undefined, parts: string[]): RouteMatch | undefined {
  const scope = pathProxyId !== undefined ? { pathProxyId } : {};
  if (parts.length === 2 && parts[0] === 'actions' && parts[1] === 'check') {
    if (method !== 'POST') return { ok: false, status: 405, allow: 'POST' };
    return { ok: true, route: { kind: 'action', ...scope } };
  }
  if (parts.length === 2 && parts[0] === 'approvals' && parts[1] !== '') {
    if (method !== 'GET') return { ok: false, status: 405, allow: 'GET' };
    return { ok: true, route: { kind: 'approval', ...scope, approvalId: decodeSegment(parts[1]!) } };
  }
  return undefined;
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
