import type { GatewayError } from '../upstream/errors.js';
import { streamErrorEvent } from './openai/stream.js';
import type { Json } from './chat.js';
import { chatToResponse } from './responses/response.js';
import { chatChunkToResponseEvents, finishResponseEvents, newResponsesStreamState, type ResponsesStreamState } from './responses/stream.js';
import { dataFrame, DONE, namedFrame, type Frame } from './transport.js';
import { anthropicStreamErrorEvent } from './anthropic/errors.js';
import { chatToAnthropicMessage } from './anthropic-ingress/response.js';
import { finishChatStream, newChatToAnthropicState, translateChatChunk } from './anthropic-ingress/stream.js';

/**
 * How translated chat output reaches the client: as chat.completion(.chunk)s on the chat
 * endpoint, re-told as a Responses API answer on /responses (for providers without a
 * Responses API of their own), or as an Anthropic Message / events on the native
 * Anthropic endpoint (for upstreams that are not Anthropic's). One framer per request.
 */
export interface ChatFramer {
  /** The chunks of one upstream event, framed. */
  chunks(chunks: Json[]): Frame[];
  /** The end of a complete stream (usage: the chat usage object, when not carried by a chunk). */
  finish(usage: unknown): Frame[];
  /** The closing bytes when the stream fails. */
  error(error: GatewayError): Frame[];
  /** A complete chat.completion as the client's body. */
  complete(chat: Json): Json;
}

export function chatFramer(endpoint: string, requestBody: Json, model: string, created: number): ChatFramer {
  if (endpoint === 'anthropic.messages') return anthropicFramer(model);
  if (endpoint !== 'responses') {
    return {
      chunks: (chunks) => chunks.map(dataFrame),
      finish: () => [DONE],
      error: (error) => [{ bytes: streamErrorEvent('chat.completions', error) }],
      complete: (chat) => chat,
    };
  }
  let rs: ResponsesStreamState | undefined;
  const state = (chunk: Json) => (rs ??= newResponsesStreamState(String(chunk.id ?? created).replace(/^(chatcmpl-|msg_)/, ''), model, created, requestBody));
  const frame = (events: Array<Json & { type: string }>) => events.map((e) => namedFrame(e.type, e));
  return {
    chunks: (chunks) => chunks.flatMap((c) => frame(chatChunkToResponseEvents(state(c), c))),
    finish: (usage) => frame(finishResponseEvents(state({}), usage)),
    error: (error) => [{ bytes: streamErrorEvent('responses', error) }],
    complete: (chat) => chatToResponse(chat, requestBody, created),
  };
}

/** The native Anthropic endpoint on an upstream that answered in chat terms: Messages and Anthropic events. */
function anthropicFramer(model: string): ChatFramer {
  const s = newChatToAnthropicState(model);
  const frame = (events: Array<[string, Json]>) => events.map(([name, data]) => namedFrame(name, data));
  return {
    chunks: (chunks) => chunks.flatMap((c) => frame(translateChatChunk(s, c))),
    finish: (usage) => {
      // Usage given here wins; otherwise the usage chunk the stream carried is used.
      if (usage !== undefined) s.usage = usage;
      return frame(finishChatStream(s));
    },
    error: (error) => [{ bytes: anthropicStreamErrorEvent(error) }],
    complete: (chat) => chatToAnthropicMessage(chat, model),
  };
}
