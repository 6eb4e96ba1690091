import { hash } from 'node:crypto';
import { historyFingerprint, lookupPrefixes } from './canonical.js';
import { linkKeys, type CachedSessionLinks } from './links.js';
import type { SessionStore } from './store.js';

export type SessionStrategy = 'header' | 'previous_response_id' | 'user' | 'fingerprint' | 'new';

export interface SessionRequest {
  /** A valid X-Sluice-Session-Id (the envelope already refused malformed ones). */
  headerSessionId?: string;
  /** SHA-256 hex of the gateway key. */
  keyHash: string;
  proxyId: string;
  traceId: string;
  /** The parsed request body (chat completions, responses, …), when there is one. */
  body?: Record<string, unknown>;
}

export interface ResolvedSession {
  id: string;
  strategy: SessionStrategy;
  turn: number;
  /** A session id that belongs to another proxy and was therefore not joined. */
  refusedId?: string;
}

export interface ResolveDeps {
  store: SessionStore;
  links: CachedSessionLinks;
  newId: () => string;
}

/**
 * Which session a request belongs to, in priority order: the client's header, the
 * session of `previous_response_id`, the session of the `user` field, the session whose
 * conversation so far equals `messages[:-1]` (fingerprint), else a new one. The chosen
 * session is then counted for the proxy; one owned by another proxy is never joined.
 */
export async function resolveSession(deps: ResolveDeps, req: SessionRequest): Promise<ResolvedSession> {
  const candidate = await findCandidate(deps, req);
  const userKey = userLinkKey(req);
  const [counted] = await Promise.all([
    deps.store.advanceTurn({ sessionId: candidate.id, proxyId: req.proxyId, traceId: req.traceId, ...(candidate.fresh ? { fresh: true } : {}) }),
    // The user's link slides with every request it carries; written alongside the count, not after it.
    candidate.strategy === 'user' && userKey ? deps.links.put(userKey, candidate.id) : undefined,
  ]);
  if (counted.owned) return { id: candidate.id, strategy: candidate.strategy, turn: counted.turn };

  const fresh = deps.newId();
  const [recount] = await Promise.all([
    deps.store.advanceTurn({ sessionId: fresh, proxyId: req.proxyId, traceId: req.traceId, fresh: true }),
    candidate.strategy === 'user' && userKey ? deps.links.put(userKey, fresh) : undefined,
  ]);
  if (!recount.owned) throw new Error('a freshly minted session id is owned by another proxy');
  return { id: fresh, strategy: 'new', turn: recount.turn, refusedId: candidate.id };
}

interface Candidate {
  id: string;
  strategy: SessionStrategy;
  /** Minted for this request rather than found. */
  fresh?: boolean;
}

async function findCandidate(deps: ResolveDeps, req: SessionRequest): Promise<Candidate> {
  if (req.headerSessionId) return { id: req.headerSessionId, strategy: 'header' };
  const body = req.body ?? {};
  if (typeof body.previous_response_id === 'string' && body.previous_response_id !== '') {
    const id = await deps.links.get(linkKeys.responseChain(req.keyHash, body.previous_response_id));
    if (id) return { id, strategy: 'previous_response_id' };
  }
  const userKey = userLinkKey(req);
  if (userKey) {
    const id = await deps.links.get(userKey);
    return id ? { id, strategy: 'user' } : { id: deps.newId(), strategy: 'user', fresh: true };
  }
  if (Array.isArray(body.messages)) {
    for (const prefix of lookupPrefixes(body.messages)) {
      const id = await deps.links.get(linkKeys.chain(req.keyHash, historyFingerprint(prefix)));
      if (id) return { id, strategy: 'fingerprint' };
    }
  }
  return { id: deps.newId(), strategy: 'new', fresh: true };
}

function userLinkKey(req: SessionRequest): string | undefined {
  // OpenAI's `user`, or Anthropic's `metadata.user_id`.
  const metadata = req.body?.metadata;
  const user = req.body?.user ?? (typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>).user_id : undefined);
  if (typeof user !== 'string' || user === '') return undefined;
  return linkKeys.userSession(req.keyHash, hash('sha256', user, 'hex'));
}

/** The link written after a chat turn: the conversation so far, the new assistant answer included. */
export function chainKeyAfterTurn(keyHash: string, messages: readonly unknown[], assistant: unknown): string {
  return linkKeys.chain(keyHash, historyFingerprint([...messages, assistant]));
}
