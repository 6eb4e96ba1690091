import { randomUUID } from 'node:crypto';
import { hashKey } from '../../stores/keys.js';
import { LayeredCache } from '../../stores/layered-cache.js';
import { LruCache } from '../../stores/lru-cache.js';
import { CachedSessionLinks, linkKeys } from '../../sessions/links.js';
import { ResponseCapture } from '../../sessions/response-capture.js';
import { chainKeyAfterTurn, resolveSession } from '../../sessions/resolve.js';
import { extractAnthropicKeys, extractKeys } from './auth.js';
import type { BodyObserver, GatewayDeps, Plugin, RequestState } from '../types.js';

/**
 * session — which conversation this call belongs to, and which turn of it
 * (functions/sessions/resolve.ts: header → previous_response_id → user → fingerprint
 * of messages[:-1] → new). After the response it records what the next turn will be
 * looked up by: the conversation so far including the new assistant answer (chat), or
 * the returned response id (Responses API). A session store failure never fails the
 * request: the call proceeds on the header's or a fresh id, without a turn.
 */
export function sessionPlugin(deps: Pick<GatewayDeps, 'sessions' | 'cache' | 'logger'>): Plugin {
  const store = deps.sessions;
  // Links live in the session store; a DynamoDB cache layer in front of DynamoDB would only double the writes.
  const linkCache = deps.cache instanceof LayeredCache ? (deps.cache.without('dynamodb') ?? new LruCache({ maxEntries: 10_000 })) : deps.cache;
  const links = store ? new CachedSessionLinks(store, linkCache) : undefined;
  return {
    name: 'session',
    async before(state: RequestState) {
      const fallbackStrategy = state.sluiceHeaders.sessionId ? 'header' : 'new';
      const { route, proxy } = state;
      const gatewayKey = route.kind === 'openai' && route.ingress === 'anthropic' ? extractAnthropicKeys(state.headers).gatewayKey : extractKeys(state.headers).gatewayKey;
      // Listing models and counting tokens are not turns of a conversation.
      const counted = route.kind === 'openai' && route.endpoint !== 'models' && route.endpoint !== 'anthropic.count_tokens';
      if (!store || !links || !counted || !proxy || !gatewayKey) {
        state.session = { id: state.sessionId, strategy: fallbackStrategy };
        state.trace.set({ sessionStrategy: fallbackStrategy });
        return;
      }
      // The same key auth identified (same extraction), hashed there once.
      const keyHash = state.gatewayKeyHash ?? hashKey(gatewayKey);
      try {
        const resolved = await resolveSession(
          { store, links, newId: randomUUID },
          {
            ...(state.sluiceHeaders.sessionId ? { headerSessionId: state.sluiceHeaders.sessionId } : {}),
            keyHash,
            proxyId: proxy.id,
            traceId: state.traceId,
            ...(state.body ? { body: state.body.json } : {}),
          },
        );
        state.session = resolved;
        state.sessionId = resolved.id;
        state.trace.record.sessionId = resolved.id;
        state.trace.set({
          sessionStrategy: resolved.strategy,
          sessionTurn: resolved.turn,
          ...(resolved.refusedId ? { sessionRefusedId: resolved.refusedId } : {}),
        });
      } catch (err) {
        state.log.warn('session store unavailable: continuing without a turn', { error: (err as Error).message });
        state.session = { id: state.sessionId, strategy: fallbackStrategy };
        state.trace.set({ sessionStrategy: fallbackStrategy, sessionError: (err as Error).message });
        return;
      }
      if (CONVERSATIONAL.has(route.endpoint)) state.observers.push(recordNextTurnLookup(links, state, keyHash));
    },
  };
}

/** Endpoints whose answer the next turn builds on (an assistant message or a response id). */
const CONVERSATIONAL: ReadonlySet<string> = new Set(['chat.completions', 'responses', 'anthropic.messages', 'bedrock.converse', 'bedrock.converse-stream']);

/** Once the body is complete, writes the link the next turn is looked up by (tracked in state.pending). */
function recordNextTurnLookup(links: CachedSessionLinks, state: RequestState, keyHash: string): BodyObserver {
  const capture = new ResponseCapture();
  return {
    onChunk: (chunk) => capture.onChunk(chunk),
    onEvent: (event) => capture.onEvent(event),
    onEnd: ({ error }) => {
      if (error) return;
      const { assistant, responseId } = capture.result();
      const messages = state.body?.json.messages;
      let key: string | undefined;
      if (responseId) key = linkKeys.responseChain(keyHash, responseId);
      else if (assistant && Array.isArray(messages)) key = chainKeyAfterTurn(keyHash, messages, assistant);
      if (!key) return;
      const write = links.put(key, state.sessionId).catch((err: Error) => {
        state.log.warn('session link write failed', { error: err.message });
      });
      state.pending.push(write);
    },
  };
}
