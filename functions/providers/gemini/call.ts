import type { IncomingMessage } from 'node:http';
import { badGateway, streamIncomplete } from '../../upstream/errors.js';
import type { SseEvent } from '../../upstream/sse.js';
import type { CallDeps, CallState, GatewayResponse } from '../../upstream/types.js';
import { observersFor, sendPlanned } from '../http-call.js';
import { pickHeaders, toUpstreamError, type UpstreamExchange } from '../../upstream/client.js';
import { chatUsage, usageFromCounts, type Json } from '../chat.js';
import { chatFramer } from '../chat-framer.js';
import { completeBody, readBody, sseEvents, translatedBody, type Frame } from '../transport.js';
import { fromGeminiEmbeddings } from './embeddings.js';
import { mapGeminiError } from './errors.js';
import { fromGeminiResponse } from './response.js';
import { finishGeminiStream, geminiStreamTokens, newGeminiStreamState, translateGeminiChunk } from './stream.js';
import { geminiTokenCounts } from './usage.js';

const MAX_ERROR_BODY = 1024 * 1024;
const MAX_JSON_BODY = 16 * 1024 * 1024;
/** Upstream headers worth passing on with an error (Google sends few). */
const ERROR_HEADERS = ['retry-after', 'x-request-id'];

/**
 * A call to an upstream that answers in Gemini's format (the Gemini API, Gemini models on
 * Vertex): generateContent JSON, streamGenerateContent SSE (`data: {json}\r\n\r\n`, no
 * terminal event) or batchEmbedContents JSON, told to the client as chat completions,
 * Responses API output or Anthropic Messages (per the endpoint it called), or OpenAI
 * embeddings. Errors are Google-shaped and mapped by mapGeminiError.
 */
export async function callGemini(deps: CallDeps, state: CallState, sentAt: number): Promise<GatewayResponse> {
  const observers = observersFor(deps, state);
  const plan = state.upstream;
  const route = state.route;
  if (route.kind !== 'openai' || !plan) throw new Error('callGemini reached without a routed request');
  const exchange = await sendPlanned(deps, state, sentAt);

  if (exchange.status >= 400) {
    const text = await readBody(exchange.body, MAX_ERROR_BODY).catch(() => '');
    throw mapGeminiError(exchange.status, text, pickHeaders(exchange.headers, ERROR_HEADERS));
  }

  const model = plan.modelResolved ?? '';
  const created = Math.floor(Date.now() / 1000);
  const requestBody = state.body?.json ?? {};
  if (route.endpoint === 'embeddings') {
    const answer = await readJson(exchange);
    let result: Json;
    try {
      result = fromGeminiEmbeddings(answer, requestBody, model);
    } catch (err) {
      throw badGateway(`Gemini answered an unreadable embedding: ${(err as Error).message}`, 'upstream_invalid_response');
    }
    const tokens = (result.usage as { prompt_tokens: number }).prompt_tokens;
    if (tokens > 0) state.usage = { promptTokens: tokens, completionTokens: 0, totalTokens: tokens };
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: completeBody(JSON.stringify(result), observers) };
  }

  const framer = chatFramer(route.endpoint, requestBody, model, created);
  const contentType = String(exchange.headers['content-type'] ?? '');
  if (!state.body?.stream || !contentType.startsWith('text/event-stream')) {
    const answer = await readJson(exchange);
    if (answer.error) throw mapGeminiError(500, JSON.stringify(answer));
    const chat = fromGeminiResponse(answer, model, created);
    const usage = usageFromCounts(geminiTokenCounts(answer.usageMetadata));
    if (usage) state.usage = usage;
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: completeBody(JSON.stringify(framer.complete(chat)), observers) };
  }

  const s = newGeminiStreamState(model, state.body.includeUsage ?? false, created, `chatcmpl-${created}-${state.traceId.slice(0, 8)}`);
  const body = translatedBody<SseEvent>({
    source: sseEvents(exchange.body as IncomingMessage),
    translate: (event) => {
      if (event.data === '' || event.data === '[DONE]') return { frames: [] };
      let data: Json;
      try {
        data = JSON.parse(event.data) as Json;
      } catch {
        const error = badGateway('Gemini sent an unreadable stream event.', 'upstream_invalid_response');
        return { frames: framer.error(error), final: true, error };
      }
      const frames: Frame[] = framer.chunks(translateGeminiChunk(s, data));
      if (s.error) return { frames: [...frames, ...framer.error(s.error)], final: true, error: s.error };
      return { frames };
    },
    end: () => {
      // Gemini's stream has no terminal event: a body that ended after a finish reason is complete.
      if (!s.finished) throw streamIncomplete('finishReason');
      return [...framer.chunks(finishGeminiStream(s)), ...framer.finish(chatUsage(geminiStreamTokens(s)))];
    },
    terminalError: (err) => framer.error(toUpstreamError(exchange.abortReason() ?? err)),
    observers: [
      {
        onEnd: () => {
          const usage = usageFromCounts(geminiStreamTokens(s));
          if (usage) state.usage = usage;
        },
      },
      ...observers,
    ],
    abort: exchange.abort,
  });
  return { statusCode: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' }, body };
}

async function readJson(exchange: UpstreamExchange): Promise<Json> {
  try {
    const json = JSON.parse(await readBody(exchange.body, MAX_JSON_BODY)) as unknown;
    if (json && typeof json === 'object' && !Array.isArray(json)) return json as Json;
  } catch {
    // reported below
  }
  throw badGateway('Gemini sent an unreadable response body.', 'upstream_invalid_response');
}
