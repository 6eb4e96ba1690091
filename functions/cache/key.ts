import { createHash } from 'node:crypto';
import type { CacheKey } from './store.js';

/**
 * Everything that decides an answer, as the cache plugin reads it off the request after
 * routing and the request stage. Pure data: no headers beyond the few that change the
 * answer, never a trace id, never a credential (only its fingerprint).
 */
export interface CacheKeyInput {
  orgId: string;
  proxyId: string;
  /** `openai` or `anthropic`: the client's format (the stored answer is in it). */
  ingress: string;
  endpoint: string;
  /** The upstream: provider, the target the request went to (proxy's own or X-Sluice-Upstream choice), its base URL. */
  provider: string;
  targetName: string;
  baseUrl: string;
  /** The upstream path (a streaming variant is normalised to the plain one). */
  path: string;
  modelResolved?: string;
  /** The body sent upstream after the request stage (bytes), or the client body when the wire takes none (Bedrock SDK). */
  upstreamBody: Buffer | Record<string, unknown> | undefined;
  /** Upstream headers that change the answer (anthropic-version, anthropic-beta), when sent. */
  answerHeaders?: Record<string, string>;
  /** SHA-256 hex of the caller's provider credential: always set on BYOK proxies and with caller-supplied credentials. */
  credentialFingerprint?: string;
  /** The gateway key id: only when the proxy's cache scope is `key`. */
  keyId?: string;
}

/** Upstream request headers that change the answer (others — auth, tracing, user agent — do not). */
export const ANSWER_HEADERS = ['anthropic-version', 'anthropic-beta'] as const;

/** Fields of an upstream body that only choose how the answer is delivered: a streamed and a plain request share an entry. */
const DELIVERY_FIELDS = ['stream', 'stream_options'];

/** The cache key: the org and proxy in the clear (purge scopes), a SHA-256 of the rest. */
export function cacheKeyOf(input: CacheKeyInput): CacheKey {
  const parts = [
    'v1',
    input.ingress,
    input.endpoint,
    input.provider,
    input.targetName,
    input.baseUrl,
    plainPath(input.path),
    input.modelResolved ?? '',
    canonicalBody(input.upstreamBody),
    canonicalJson(input.answerHeaders ?? {}),
    input.credentialFingerprint ?? '',
    input.keyId ?? '',
  ];
  // org and proxy are hashed too, so a digest alone can never name another proxy's entry.
  const digest = createHash('sha256').update(JSON.stringify([input.orgId, input.proxyId, ...parts])).digest('hex');
  return { orgId: input.orgId, proxyId: input.proxyId, digest };
}

/** One string per key, for in-process maps (single-flight). */
export function keyString(key: CacheKey): string {
  return `${key.orgId}\u0000${key.proxyId}\u0000${key.digest}`;
}

/** SHA-256 hex of a credential: what the key holds instead of it. */
export function credentialFingerprint(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** A streaming variant of an upstream path as its plain one (Gemini `:streamGenerateContent?alt=sse`, Bedrock `converse-stream`). */
export function plainPath(path: string): string {
  return path
    .replace(':streamGenerateContent', ':generateContent')
    .replace(/([?&])alt=sse(&|$)/, (_m, lead: string, tail: string) => (tail ? lead : ''))
    .replace(/\/converse-stream(\?|$)/, '/converse$1');
}

/**
 * The body without the delivery fields, keys sorted at every level, so bodies that differ
 * only in key order or in `stream` share an entry. A body that is not JSON is hashed as bytes.
 */
export function canonicalBody(body: Buffer | Record<string, unknown> | undefined): string {
  if (body === undefined) return '';
  let json: unknown = body;
  if (Buffer.isBuffer(body)) {
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      return `raw:${createHash('sha256').update(body).digest('hex')}`;
    }
  }
  if (json && typeof json === 'object' && !Array.isArray(json)) {
    const copy: Record<string, unknown> = { ...(json as Record<string, unknown>) };
    for (const f of DELIVERY_FIELDS) delete copy[f];
    json = copy;
  }
  return canonicalJson(json);
}

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.keys(value as Record<string, unknown>)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}
