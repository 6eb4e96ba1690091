import type { IncomingMessage } from 'node:http';
import { mapUpstreamError } from '../providers/openai/errors.js';
import { mapAzureError } from '../providers/azure-openai/errors.js';
import { StreamUsageTracker, streamErrorEvent, withoutUsage } from '../providers/openai/stream.js';
import { normalizeUsage, usageFromResponseBody } from '../providers/openai/usage.js';
import { anthropicStreamErrorEvent, mapAnthropicError } from '../providers/anthropic/errors.js';
import { fromAnthropicResponse } from '../providers/anthropic/response.js';
import { anthropicStreamTokens, newAnthropicStreamState, translateAnthropicEvent } from '../providers/anthropic/stream.js';
import { anthropicTokenCounts } from '../providers/anthropic/usage.js';
import { callBedrock } from '../providers/bedrock/call.js';
import { callGemini } from '../providers/gemini/call.js';
import { isAnthropicErrorBody, mapVertexError } from '../providers/vertex/errors.js';
import { callVertexEmbeddings } from '../providers/vertex/call.js';
import { chatUsage, usageFromCounts, type Json, type TokenCounts } from '../providers/chat.js';
import { completeBody, readBody, sseEvents, translatedBody, type Frame } from '../providers/transport.js';
import { chatFramer } from '../providers/chat-framer.js';
import { anthropicModelList, fromOpenAIModelList } from '../providers/anthropic-ingress/models.js';
import { relayBody, type RelayObserver } from './body-relay.js';
import { GatewayError, badGateway } from './errors.js';
import type { SseEvent } from './sse.js';
import { pickHeaders, sendUpstream, toUpstreamError, type UpstreamExchange } from './upstream-client.js';
import type { GatewayDeps, GatewayResponse, RequestState, Usage } from './types.js';

/** Upstream response headers worth passing to the client; hop-by-hop and cookies stay behind. */
const PASSED_HEADERS = /^(content-type|cache-control|retry-after|x-request-id|request-id|openai-[a-z-]+|anthropic-[a-z-]+|x-ratelimit-[a-z-]+|x-rate-limit-[a-z-]+)$/;
const ERROR_HEADERS = ['retry-after', 'retry-after-ms', 'x-request-id', 'request-id', 'x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests', 'x-ratelimit-limit-tokens', 'x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens',
  // Azure OpenAI's older spelling (seconds), sent on some 429s without `retry-after`.
  'x-rate-limit-reset-requests', 'x-rate-limit-reset-tokens'];
const MAX_ERROR_BODY = 1024 * 1024;
const MAX_OBSERVED_JSON = 16 * 1024 * 1024;

type Deps = Pick<GatewayDeps, 'upstreamIdleTimeoutMs' | 'upstreamDeadlineMs' | 'now' | 'bedrock'>;

/**
 * The model call: sends the planned request and answers as soon as the upstream's
 * status and headers arrive, with the body relayed (or translated) as it comes.
 */
export async function callModel(deps: Deps, state: RequestState): Promise<GatewayResponse> {
  const { route, proxy } = state;
  if (route.kind !== 'openai' || !proxy || !state.upstream) throw new Error('callModel reached without a routed request');
  if (route.endpoint === 'models' && proxy.allowedModels?.length) return allowedModelsList(proxy.allowedModels, proxy.modelAliases, proxy.id, route.ingress);

  const plan = state.upstream;
  const sentAt = deps.now();
  state.overheadMs = sentAt - state.startedAt;
  if (plan.wire === 'bedrock') return callBedrock(deps, state, sentAt, observersFor(deps, state));
  if (plan.provider === 'vertex' && route.endpoint === 'embeddings') return callVertexEmbeddings(deps, state, sentAt, observersFor(deps, state));
  if (plan.wire === 'gemini') return callGemini(deps, state, sentAt, observersFor(deps, state));

  const exchange = await sendUpstream(plan, { idleMs: deps.upstreamIdleTimeoutMs, deadlineMs: deps.upstreamDeadlineMs });
  state.trace.step('llm', { provider: plan.provider, model: plan.modelResolved, status: exchange.status }, sentAt);
  state.trace.set({ status: exchange.status });

  if (exchange.status >= 400) {
    const text = await readBounded(exchange.body, MAX_ERROR_BODY);
    const headers = pickHeaders(exchange.headers, ERROR_HEADERS);
    // Claude on Vertex: Google's error bodies mapped; Anthropic's own handled as on Anthropic.
    if (plan.provider === 'vertex' && !(route.ingress === 'anthropic' && isAnthropicErrorBody(text))) throw mapVertexError(exchange.status, text, headers);
    if (plan.wire === 'anthropic') {
      if (route.ingress === 'anthropic') throw new NativeUpstreamError(exchange.status, text, headers);
      throw mapAnthropicError(exchange.status, text, headers);
    }
    const error = plan.provider === 'azure-openai' ? mapAzureError(exchange.status, text) : mapUpstreamError(exchange.status, text, plan.provider);
    throw new GatewayError(error.status, error.message, error.type, error.code, error.param, headers);
  }

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(exchange.headers)) {
    if (value !== undefined && PASSED_HEADERS.test(name)) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const sse = (headers['content-type'] ?? '').startsWith('text/event-stream');
  if (plan.wire === 'anthropic' && route.ingress === 'openai') return anthropicToChat(deps, state, exchange, headers, sse);
  if (plan.wire === 'openai' && route.ingress === 'anthropic') return route.endpoint === 'models' ? modelsToAnthropic(deps, state, exchange) : chatToAnthropic(deps, state, exchange, sse);

  const terminal = (err: Error) => {
    const error = toUpstreamError(exchange.abortReason() ?? err);
    return route.ingress === 'anthropic' ? anthropicStreamErrorEvent(error) : streamErrorEvent(route.endpoint, error);
  };
  // The gateway asked for usage the client did not: the stream is filtered event by event.
  const stripUsage = sse && plan.wire === 'openai' && state.body !== undefined && state.body.stream && !state.body.includeUsage && (route.endpoint === 'chat.completions' || route.endpoint === 'completions');
  if (stripUsage) {
    const tracker = new StreamUsageTracker();
    const body = translatedBody<SseEvent>({
      source: sseEvents(exchange.body),
      translate: (event) => {
        // The tracker sees the usage the client will not.
        tracker.onEvent(event);
        const kept = withoutUsage(event);
        return { frames: kept ? [{ bytes: kept.raw, event: kept }] : [] };
      },
      end: () => [],
      terminalError: (err) => [{ bytes: terminal(err) }],
      observers: [
        {
          onEnd: () => {
            if (tracker.usage) state.usage = tracker.usage;
          },
        },
        ...observersFor(deps, state),
      ],
      abort: exchange.abort,
    });
    return { statusCode: exchange.status, headers, body };
  }
  const usageObserver = sse ? (plan.wire === 'anthropic' ? anthropicUsageObserver(state) : streamUsageObserver(state)) : jsonUsageObserver(state, plan.wire === 'anthropic' ? anthropicUsageOf : usageFromResponseBody);
  const observers: RelayObserver[] = [firstByteObserver(deps, state), usageObserver, ...state.observers];
  const body = relayBody(exchange.body, { sse, observers, terminalError: terminal, abortUpstream: exchange.abort });
  return { statusCode: exchange.status, headers, body };
}

/** Thrown on the native Anthropic ingress: the provider's own error body and status, passed through. */
export class NativeUpstreamError extends GatewayError {
  constructor(status: number, readonly bodyText: string, headers: Record<string, string>) {
    const parsed = mapAnthropicError(status, bodyText);
    super(status, parsed.message, anthropicTypeFromBody(bodyText) ?? parsed.type, parsed.code, null, headers);
    this.name = 'NativeUpstreamError';
  }
}

function anthropicTypeFromBody(text: string): string | undefined {
  try {
    const t = (JSON.parse(text) as { error?: { type?: unknown } }).error?.type;
    return typeof t === 'string' ? t : undefined;
  } catch {
    return undefined;
  }
}

/** Anthropic Messages answer on the OpenAI chat endpoint: translated, plain or streamed. */
async function anthropicToChat(deps: Deps, state: RequestState, exchange: UpstreamExchange, headers: Record<string, string>, sse: boolean): Promise<GatewayResponse> {
  const created = Math.floor(Date.now() / 1000);
  const observers = observersFor(deps, state);
  const framer = chatFramer(state.route.kind === 'openai' ? state.route.endpoint : 'chat.completions', state.body?.json ?? {}, state.upstream?.modelResolved ?? '', created);
  if (!sse) {
    let text: string;
    let json: Json;
    try {
      text = await readBody(exchange.body, MAX_OBSERVED_JSON);
      json = JSON.parse(text) as Json;
    } catch {
      throw badGateway('Anthropic sent an unreadable response body.', 'upstream_invalid_response');
    }
    const chat = fromAnthropicResponse(json, created);
    state.usage = usageFromResponseBody(chat);
    return { statusCode: 200, headers: { ...headers, 'content-type': 'application/json' }, body: completeBody(JSON.stringify(framer.complete(chat)), observers) };
  }
  const s = newAnthropicStreamState(state.body?.includeUsage ?? false, created);
  const body = translatedBody<SseEvent>({
    source: sseEvents(exchange.body),
    translate: (event) => {
      if (event.data === '') return { frames: [] };
      let data: Json;
      try {
        data = JSON.parse(event.data) as Json;
      } catch {
        return { frames: [] };
      }
      const frames: Frame[] = framer.chunks(translateAnthropicEvent(s, data));
      if (s.error) return { frames: [...frames, ...framer.error(s.error)], final: true, error: s.error };
      if (s.done) return { frames: [...frames, ...framer.finish(chatUsage(anthropicStreamTokens(s)))], final: true };
      return { frames };
    },
    end: () => {
      throw new Error('Anthropic stream ended without message_stop');
    },
    terminalError: (err) => framer.error(toUpstreamError(exchange.abortReason() ?? err)),
    observers: [{ onEnd: () => setUsage(state, anthropicStreamTokens(s)) }, ...observers],
    abort: exchange.abort,
  });
  return { statusCode: 200, headers: { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' }, body };
}

function setUsage(state: RequestState, counts: TokenCounts): void {
  const usage = usageFromCounts(counts);
  if (usage) state.usage = usage;
}

/** An OpenAI-compatible answer for the Anthropic ingress: chat.completion(.chunk)s re-told as Messages. */
async function chatToAnthropic(deps: Deps, state: RequestState, exchange: UpstreamExchange, sse: boolean): Promise<GatewayResponse> {
  const framer = chatFramer('anthropic.messages', state.body?.json ?? {}, state.upstream?.modelResolved ?? '', Math.floor(Date.now() / 1000));
  const observers = observersFor(deps, state);
  if (!sse) {
    let chat: Json;
    try {
      chat = JSON.parse(await readBody(exchange.body, MAX_OBSERVED_JSON)) as Json;
    } catch {
      throw badGateway('The upstream sent an unreadable response body.', 'upstream_invalid_response');
    }
    const usage = usageFromResponseBody(chat);
    if (usage) state.usage = usage;
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: completeBody(JSON.stringify(framer.complete(chat)), observers) };
  }
  const tracker = new StreamUsageTracker();
  const body = translatedBody<SseEvent>({
    source: sseEvents(exchange.body),
    translate: (event) => {
      if (event.data === '[DONE]') return { frames: framer.finish(undefined), final: true };
      tracker.onEvent(event);
      let chunk: Json;
      try {
        chunk = JSON.parse(event.data) as Json;
      } catch {
        return { frames: [] };
      }
      if (chunk.error) {
        const error = mapUpstreamError(500, event.data, state.upstream?.provider ?? 'upstream');
        return { frames: framer.error(error), final: true, error };
      }
      return { frames: framer.chunks([chunk]) };
    },
    end: () => {
      throw new Error('upstream stream ended without [DONE]');
    },
    terminalError: (err) => framer.error(toUpstreamError(exchange.abortReason() ?? err)),
    observers: [
      {
        onEnd: () => {
          if (tracker.usage) state.usage = tracker.usage;
        },
      },
      ...observers,
    ],
    abort: exchange.abort,
  });
  return { statusCode: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' }, body };
}

/** First-byte timing plus every plugin's observers (trace completion among them). */
export function observersFor(deps: Pick<GatewayDeps, 'now'>, state: RequestState): RelayObserver[] {
  return [firstByteObserver(deps, state), ...state.observers];
}

function firstByteObserver(deps: Pick<GatewayDeps, 'now'>, state: RequestState): RelayObserver {
  const mark = () => {
    state.firstByteAt ??= deps.now();
  };
  return { onChunk: mark, onEvent: mark };
}

function streamUsageObserver(state: RequestState): RelayObserver {
  const tracker = new StreamUsageTracker();
  return {
    onEvent: (event) => tracker.onEvent(event),
    onEnd: () => {
      if (tracker.usage) state.usage = tracker.usage;
    },
  };
}

/** Native Anthropic streams: usage from message_start and the cumulative message_delta. */
function anthropicUsageObserver(state: RequestState): RelayObserver {
  const usage: Json = {};
  return {
    onEvent: (event) => {
      if (!event.data.includes('"usage"')) return;
      try {
        const data = JSON.parse(event.data) as Json;
        const u = (data.type === 'message_start' ? (data.message as Json | undefined)?.usage : data.usage) as Json | undefined;
        if (u) for (const [k, v] of Object.entries(u)) if (typeof v === 'number') usage[k] = v;
      } catch {
        // not JSON
      }
    },
    onEnd: () => setUsage(state, anthropicTokenCounts(usage)),
  };
}

function anthropicUsageOf(body: unknown): Usage | undefined {
  const json = body as Json | undefined;
  if (!json || typeof json !== 'object') return undefined;
  // Only a Message bills tokens; a count_tokens answer ({input_tokens}) is not usage.
  if (json.type === 'message') return normalizeUsage(chatUsage(anthropicTokenCounts(json.usage)));
  return undefined;
}

/** Plain JSON bodies: keep a bounded copy to read usage once the body is complete. */
function jsonUsageObserver(state: RequestState, read: (body: unknown) => Usage | undefined): RelayObserver {
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    onChunk: (chunk) => {
      size += chunk.length;
      if (size <= MAX_OBSERVED_JSON) chunks.push(chunk);
    },
    onEnd: ({ error }) => {
      if (error || size > MAX_OBSERVED_JSON) return;
      try {
        const usage = read(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        if (usage) state.usage = usage;
      } catch {
        // not JSON: no usage to read
      }
    },
  };
}

function readBounded(body: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    body.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    body.on('error', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

/** An OpenAI-compatible model list for the Anthropic SDK: re-told in Anthropic's shape. */
async function modelsToAnthropic(deps: Deps, state: RequestState, exchange: UpstreamExchange): Promise<GatewayResponse> {
  let list: Json | undefined;
  try {
    list = fromOpenAIModelList(JSON.parse(await readBody(exchange.body, MAX_OBSERVED_JSON)));
  } catch {
    list = undefined;
  }
  if (!list) throw badGateway('The upstream sent an unreadable model list.', 'upstream_invalid_response');
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: completeBody(JSON.stringify(list), observersFor(deps, state)) };
}

function allowedModelsList(allowed: string[], aliases: Record<string, string> | undefined, ownedBy: string, ingress: string): GatewayResponse {
  const ids = new Set(allowed);
  for (const [alias, target] of Object.entries(aliases ?? {})) if (ids.has(target)) ids.add(alias);
  if (ingress === 'anthropic') return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(anthropicModelList([...ids].map((id) => ({ id })))) };
  const data = [...ids].map((id) => ({ id, object: 'model', created: 0, owned_by: ownedBy }));
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ object: 'list', data }) };
}
