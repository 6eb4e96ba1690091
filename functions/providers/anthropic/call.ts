import { toUpstreamError, type UpstreamExchange } from '../../upstream/client.js';
import { badGateway, GatewayError, streamIncomplete } from '../../upstream/errors.js';
import type { SseEvent } from '../../upstream/sse.js';
import type { CallDeps, CallState, GatewayResponse, Usage } from '../../upstream/types.js';
import { chatUsage, type Json } from '../chat.js';
import { chatFramer } from '../chat-framer.js';
import { errorAnswer, isEventStream, jsonUsageObserver, MAX_OBSERVED_JSON, observersFor, passedHeaders, relayedAnswer, sendPlanned, setUsage } from '../http-call.js';
import { normalizeUsage, usageFromResponseBody } from '../openai/usage.js';
import { completeBody, readBody, sseEvents, translatedBody, type Frame } from '../transport.js';
import { anthropicStreamErrorEvent, mapAnthropicError } from './errors.js';
import { fromAnthropicResponse } from './response.js';
import { anthropicStreamEnd, anthropicStreamTokens, newAnthropicStreamState, translateAnthropicEvent } from './stream.js';
import { anthropicTokenCounts } from './usage.js';

/**
 * A call to an upstream that answers in Anthropic's Messages format (Anthropic, Claude on
 * Vertex): passed through on the native Anthropic ingress, translated to chat completions
 * (or Responses) otherwise. `ownError` maps an error body that is not Anthropic's (Google's
 * on Vertex); undefined leaves it to Anthropic's mapping.
 */
export async function callAnthropicWire(
  deps: CallDeps,
  state: CallState,
  sentAt: number,
  ownError?: (status: number, text: string, headers: Record<string, string>) => GatewayError | undefined,
): Promise<GatewayResponse> {
  const route = state.route;
  if (route.kind !== 'openai') throw new Error('callAnthropicWire reached without a model route');
  const exchange = await sendPlanned(deps, state, sentAt);
  if (exchange.status >= 400) {
    const { text, headers } = await errorAnswer(exchange);
    const own = ownError?.(exchange.status, text, headers);
    if (own) throw own;
    if (route.ingress === 'anthropic') throw new NativeUpstreamError(exchange.status, text, headers);
    throw mapAnthropicError(exchange.status, text, headers);
  }
  const headers = passedHeaders(exchange);
  const sse = isEventStream(headers);
  if (route.ingress === 'openai') return anthropicToChat(deps, state, exchange, headers, sse);
  const usage = sse ? anthropicUsageObserver(state) : jsonUsageObserver(state, anthropicUsageOf);
  return relayedAnswer(deps, state, exchange, headers, { sse, usage, terminal: anthropicStreamErrorEvent, streamEnd: anthropicStreamEnd() });
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
async function anthropicToChat(deps: CallDeps, state: CallState, exchange: UpstreamExchange, headers: Record<string, string>, sse: boolean): Promise<GatewayResponse> {
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
      throw streamIncomplete('message_stop');
    },
    terminalError: (err) => framer.error(toUpstreamError(exchange.abortReason() ?? err)),
    observers: [{ onEnd: () => setUsage(state, anthropicStreamTokens(s)) }, ...observers],
    abort: exchange.abort,
  });
  return { statusCode: 200, headers: { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' }, body };
}

/** Native Anthropic streams: usage from message_start and the cumulative message_delta. */
function anthropicUsageObserver(state: CallState) {
  const usage: Json = {};
  return {
    onEvent: (event: SseEvent) => {
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
