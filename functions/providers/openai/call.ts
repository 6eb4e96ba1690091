import { toUpstreamError, type UpstreamExchange } from '../../upstream/client.js';
import { badGateway, streamIncomplete, type GatewayError } from '../../upstream/errors.js';
import type { SseEvent } from '../../upstream/sse.js';
import type { CallDeps, CallState, GatewayResponse } from '../../upstream/types.js';
import type { Json } from '../chat.js';
import { chatFramer } from '../chat-framer.js';
import { fromOpenAIModelList } from '../anthropic-ingress/models.js';
import { errorAnswer, isEventStream, jsonUsageObserver, MAX_OBSERVED_JSON, observersFor, passedHeaders, relayedAnswer, sendPlanned } from '../http-call.js';
import { completeBody, readBody, sseEvents, translatedBody } from '../transport.js';
import { mapUpstreamError } from './errors.js';
import { openaiStreamEnd, StreamUsageTracker, streamErrorEvent, withoutUsage } from './stream.js';
import { usageFromResponseBody } from './usage.js';

/** The provider's error answer (status, body, passed headers) as the client's error. */
export type ErrorMapper = (status: number, text: string, headers: Record<string, string>) => GatewayError;

/**
 * A call to an upstream that speaks OpenAI's API (the OpenAI family, Azure OpenAI): the
 * answer passed through as it comes (the usage the gateway asked for and the client did
 * not filtered out of the stream), or re-told as Anthropic Messages on the Anthropic ingress.
 */
export async function callOpenAIWire(deps: CallDeps, state: CallState, sentAt: number, mapError: ErrorMapper): Promise<GatewayResponse> {
  const route = state.route;
  if (route.kind !== 'openai') throw new Error('callOpenAIWire reached without a model route');
  const exchange = await sendPlanned(deps, state, sentAt);
  if (exchange.status >= 400) {
    const { text, headers } = await errorAnswer(exchange);
    throw mapError(exchange.status, text, headers);
  }
  const headers = passedHeaders(exchange);
  const sse = isEventStream(headers);
  if (route.ingress === 'anthropic') return route.endpoint === 'models' ? modelsToAnthropic(deps, state, exchange) : chatToAnthropic(deps, state, exchange, sse);

  // The gateway asked for usage the client did not: the stream is filtered event by event.
  const stripUsage = sse && state.body !== undefined && state.body.stream && !state.body.includeUsage && (route.endpoint === 'chat.completions' || route.endpoint === 'completions');
  if (stripUsage) {
    const tracker = new StreamUsageTracker();
    const streamEnd = openaiStreamEnd(route.endpoint);
    let sawEnd = false;
    const body = translatedBody<SseEvent>({
      source: sseEvents(exchange.body),
      translate: (event) => {
        const verdict = streamEnd.see(event);
        if (verdict === 'incomplete') throw streamIncomplete(streamEnd.terminal);
        sawEnd ||= verdict === 'done';
        // The tracker sees the usage the client will not.
        tracker.onEvent(event);
        const kept = withoutUsage(event);
        return { frames: kept ? [{ bytes: kept.raw, event: kept }] : [] };
      },
      end: () => {
        if (!sawEnd) throw streamIncomplete(streamEnd.terminal);
        return [];
      },
      terminalError: (err) => [{ bytes: streamErrorEvent(route.endpoint, toUpstreamError(exchange.abortReason() ?? err)) }],
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
  const usage = sse ? streamUsageObserver(state) : jsonUsageObserver(state, usageFromResponseBody);
  return relayedAnswer(deps, state, exchange, headers, { sse, usage, terminal: (error) => streamErrorEvent(route.endpoint, error), streamEnd: openaiStreamEnd(route.endpoint) });
}

/** An OpenAI-compatible model list for the Anthropic SDK: re-told in Anthropic's shape. */
async function modelsToAnthropic(deps: CallDeps, state: CallState, exchange: UpstreamExchange): Promise<GatewayResponse> {
  let list: Json | undefined;
  try {
    list = fromOpenAIModelList(JSON.parse(await readBody(exchange.body, MAX_OBSERVED_JSON)));
  } catch {
    list = undefined;
  }
  if (!list) throw badGateway('The upstream sent an unreadable model list.', 'upstream_invalid_response');
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: completeBody(JSON.stringify(list), observersFor(deps, state)) };
}

/** An OpenAI-compatible answer for the Anthropic ingress: chat.completion(.chunk)s re-told as Messages. */
async function chatToAnthropic(deps: CallDeps, state: CallState, exchange: UpstreamExchange, sse: boolean): Promise<GatewayResponse> {
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
  const streamEnd = openaiStreamEnd('chat.completions');
  const body = translatedBody<SseEvent>({
    source: sseEvents(exchange.body),
    translate: (event) => {
      if (streamEnd.see(event) === 'incomplete') throw streamIncomplete(streamEnd.terminal);
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
      throw streamIncomplete(streamEnd.terminal);
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

function streamUsageObserver(state: CallState) {
  const tracker = new StreamUsageTracker();
  return {
    onEvent: (event: SseEvent) => tracker.onEvent(event),
    onEnd: () => {
      if (tracker.usage) state.usage = tracker.usage;
    },
  };
}
