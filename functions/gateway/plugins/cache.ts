import { cacheConfigOf } from '../../cache/config.js';
import { cacheControlsOf, type CacheControls } from '../../cache/controls.js';
import { cacheKeyOf, credentialFingerprint, keyString, ANSWER_HEADERS } from '../../cache/key.js';
import { cacheabilityOf } from '../../cache/rules.js';
import { SingleFlight } from '../../cache/single-flight.js';
import type { CacheKey, CachedAnswer, ResponseCacheStore } from '../../cache/store.js';
import type { StoredAnswer } from '../../cache/runtime.js';
import type { GatewayDeps, GatewayResponse, Plugin, RequestState } from '../types.js';

type Runtime = typeof import('../../cache/runtime.js');
let runtime: Promise<Runtime> | undefined;
const loadRuntime = () => (runtime ??= import('../../cache/runtime.js'));

export type CacheDeps = Pick<GatewayDeps, 'now' | 'upstreamDeadlineMs'> & Partial<Pick<GatewayDeps, 'responseCache' | 'pricing'>> & {
  /** How long a store read may take before it counts as a miss (default 250 ms: a backstop behind the store's own bounded wait). */
  lookupTimeoutMs?: number;
  /** How long an identical concurrent miss waits for the first one's answer (default: the upstream deadline). */
  flightWaitMs?: number;
};

/** A miss being answered: where its answer goes once complete. */
interface Pending {
  key: CacheKey;
  ttlSeconds: number;
  /** Set in `after` when the upstream answered 200. */
  ok: boolean;
  settle?: (answer: StoredAnswer | undefined) => void;
}
const pendings = new WeakMap<RequestState, Pending>();

/**
 * cache — the response cache, opt-in per proxy (`cache.ttlSeconds`). After the request
 * policy and the rate limits, before the budget reservation: a denied or held request
 * never gets a cached answer, a hit counts against request-rate limits and reserves
 * nothing. A hit is replayed by the handler instead of the model call (no upstream
 * attempt, $0), in the client's format, plain or streamed; the response-stage policy and
 * the session observers run on it as on a live answer. A miss keeps a bounded copy of
 * the answer and stores it once complete; identical concurrent misses make one upstream
 * call. The trace gets a `cache` step: hit (with the cost saved), miss, bypass, too_large.
 */
export function cachePlugin(deps: CacheDeps): Plugin {
  const store = deps.responseCache;
  const flights = new SingleFlight<StoredAnswer>();
  const lookupTimeoutMs = deps.lookupTimeoutMs ?? 250;

  const hit = (state: RequestState, rt: Runtime, answer: StoredAnswer, attributes: Record<string, unknown>, started: number) => {
    const saved = deps.pricing && answer.usage ? deps.pricing.cost(answer.provider, answer.model, answer.usage, state.proxy?.id) : undefined;
    state.trace.step('cache', { result: 'hit', ...attributes, ...(saved?.usd != null ? { savedUsd: saved.usd } : {}) }, started);
    // A hit costs nothing: priced at $0 (not unknown), so spend never counts it as unpriced.
    state.trace.set({ cache: 'hit', cost: { usd: 0, unknown: false, pricingVersion: saved?.pricingVersion ?? '' } });
    state.cache = {
      result: 'hit',
      replay: (): GatewayResponse => {
        if (answer.usage) state.usage = answer.usage;
        const body = state.body!;
        return rt.replayAnswer(answer.body, { endpoint: answer.endpoint, stream: body.stream, includeUsage: body.includeUsage }, [
          { onChunk: () => void (state.firstByteAt ??= deps.now()), onEvent: () => void (state.firstByteAt ??= deps.now()) },
          ...state.observers,
        ]);
      },
    };
  };

  return {
    name: 'cache',
    async before(state) {
      const { route, proxy, identity, body, upstream, target } = state;
      if (!store || route.kind !== 'openai' || !proxy || !identity || !upstream || !target) return;
      const config = cacheConfigOf(proxy);
      if (!config) return;
      const cacheability = cacheabilityOf(route, body?.json);
      if (!cacheability.cacheable) {
        if ('reason' in cacheability) bypass(state, cacheability.reason);
        return;
      }
      const controls: CacheControls = cacheControlsOf(state.headers, config.ttlSeconds);
      if (controls.mode === 'bypass') return bypass(state, 'no-store');
      const rt = await loadRuntime();
      if (body!.stream && !rt.STREAMED_REPLAY.has(route.endpoint)) return bypass(state, 'stream_not_replayable');

      const callerAws = target.callerAws;
      const fingerprint = target.callerCredential
        ? credentialFingerprint(target.callerCredential)
        : callerAws
          ? credentialFingerprint(`${callerAws.accessKeyId}\u0000${callerAws.secretAccessKey}\u0000${callerAws.sessionToken ?? ''}`)
          : proxy.byok
            ? 'byok:none'
            : undefined;
      const answerHeaders: Record<string, string> = {};
      for (const h of ANSWER_HEADERS) if (upstream.headers[h] !== undefined) answerHeaders[h] = upstream.headers[h]!;
      const key = cacheKeyOf({
        orgId: proxy.orgId,
        proxyId: proxy.id,
        ingress: route.ingress,
        endpoint: route.endpoint,
        provider: upstream.provider,
        targetName: `${target.via}:${target.name ?? ''}${callerAws ? `:${callerAws.region}` : ''}`,
        baseUrl: upstream.target.url.href,
        path: upstream.path,
        ...(upstream.modelResolved !== undefined ? { modelResolved: upstream.modelResolved } : {}),
        upstreamBody: upstream.body ?? body!.json,
        answerHeaders,
        ...(fingerprint ? { credentialFingerprint: fingerprint } : {}),
        ...(config.scope === 'key' ? { keyId: identity.keyId } : {}),
      });
      const id = keyString(key);
      const started = deps.now();
      // The digest in every cache step: what `sluice cache purge --key` takes.
      const scope = config.scope ?? 'proxy';
      const traced = { scope, key: key.digest };

      if (controls.mode === 'use') {
        const found = await lookup(store, key, lookupTimeoutMs);
        const now = deps.now();
        // Every read checks the expiry itself (store TTL deletion lags), and X-Sluice-Cache-Ttl also bounds the age accepted.
        const live = found.entry && found.entry.expiresAt > now && now - found.entry.storedAt < controls.ttlSeconds * 1000 ? found.entry : undefined;
        const answer = live ? rt.decodeAnswer(live.payload) : undefined;
        if (answer && live) return hit(state, rt, answer, { ...traced, ageMs: Math.round(now - live.storedAt) }, started);
        const joined = flights.join(id, deps.flightWaitMs ?? deps.upstreamDeadlineMs);
        if (joined) {
          const shared = await joined;
          if (shared) return hit(state, rt, shared, { ...traced, coalesced: true }, started);
        }
        state.trace.step('cache', { result: 'miss', ...traced, ...(found.error ? { storeError: found.error } : {}) }, started);
      } else state.trace.step('cache', { result: 'miss', ...traced, refresh: true }, started);
      state.trace.set({ cache: 'miss' });
      state.cache = { result: 'miss' };

      const pending: Pending = { key, ttlSeconds: controls.ttlSeconds, ok: false };
      const settle = controls.mode === 'use' ? flights.lead(id) : undefined;
      if (settle) pending.settle = settle;
      pendings.set(state, pending);
      const capture = new rt.AnswerCapture(route.endpoint, (result) => {
        const answered = pending.ok && result.ok ? result.body : undefined;
        if (!answered) {
          pending.settle?.(undefined);
          if (pending.ok && !result.ok && result.reason === 'too_large') state.trace.step('cache', { result: 'too_large', ...traced });
          return;
        }
        const answer: StoredAnswer = {
          v: 1,
          ingress: route.ingress,
          endpoint: route.endpoint,
          body: rt.withWireUsage(route.endpoint, answered, state.usage),
          ...(state.usage ? { usage: state.usage } : {}),
          provider: state.upstream?.provider ?? upstream.provider,
          ...(state.upstream?.modelResolved !== undefined ? { model: state.upstream.modelResolved } : {}),
        };
        const encoded = rt.encodeAnswer(answer);
        pending.settle?.(answer);
        if (!encoded.ok) {
          state.trace.step('cache', { result: 'too_large', ...traced, bytes: encoded.bytes });
          return;
        }
        const storedAt = deps.now();
        const entry: CachedAnswer = { storedAt, expiresAt: storedAt + pending.ttlSeconds * 1000, payload: encoded.payload };
        state.pending.push(store.set(key, entry).catch((err: Error) => state.log.warn('response cache write failed', { error: err.message })));
      });
      // First in line: the outcome is known (and traced) before the trace plugin completes the trace.
      state.observers.unshift(capture);
    },
    after(state, response) {
      const pending = pendings.get(state);
      if (pending) pending.ok = response.statusCode === 200;
    },
    onError(state) {
      pendings.get(state)?.settle?.(undefined);
    },
  };
}

function bypass(state: RequestState, reason: string): void {
  state.cache = { result: 'bypass' };
  state.trace.set({ cache: 'bypass' });
  state.trace.step('cache', { result: 'bypass', reason });
}

/** A store read bounded in time: slow or failing is a miss, never an error. */
async function lookup(store: ResponseCacheStore, key: CacheKey, timeoutMs: number): Promise<{ entry?: CachedAnswer; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ error: string }>((resolve) => {
    timer = setTimeout(() => resolve({ error: 'timeout' }), timeoutMs);
    timer.unref?.();
  });
  try {
    return await Promise.race([store.get(key).then((entry) => (entry ? { entry } : {})), timeout]);
  } catch (err) {
    return { error: (err as Error).message.slice(0, 200) };
  } finally {
    clearTimeout(timer);
  }
}
