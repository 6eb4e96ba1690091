import type { Readable } from 'node:stream';
import { dataFrame, DONE, namedFrame, translatedBody, type Frame } from '../providers/transport.js';
import type { RelayObserver } from '../upstream/body-relay.js';
import type { GatewayResponse } from '../upstream/types.js';

type Json = Record<string, unknown>;

export interface ReplayRequest {
  endpoint: string;
  stream: boolean;
  /** chat/completions streams: the client asked for the usage chunk (stream_options.include_usage). */
  includeUsage: boolean;
}

/**
 * A stored plain answer served again: as that JSON, or — for a streaming request — as the
 * events the client's format streams (OpenAI chat and completion chunks with [DONE],
 * Anthropic Messages events, Responses events), carrying the same content, tool calls,
 * usage and terminator. Observers (trace, session, response policy) see the frames as
 * they would a live answer's. No upstream header is replayed.
 */
export function replayAnswer(body: Json, request: ReplayRequest, observers: RelayObserver[]): GatewayResponse {
  const frames: Frame[] = request.stream ? streamFrames(body, request) : [{ bytes: JSON.stringify(body) }];
  const headers: Record<string, string> = request.stream ? { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' } : { 'content-type': 'application/json' };
  return { statusCode: 200, headers, body: framesBody(frames, observers) };
}

/** The endpoints a stored answer can be streamed on. */
export const STREAMED_REPLAY = new Set(['chat.completions', 'completions', 'anthropic.messages', 'responses']);

export function streamFrames(body: Json, request: ReplayRequest): Frame[] {
  switch (request.endpoint) {
    case 'chat.completions':
      return chatFrames(body, request.includeUsage);
    case 'completions':
      return completionFrames(body, request.includeUsage);
    case 'anthropic.messages':
      return anthropicFrames(body);
    case 'responses':
      return responsesFrames(body);
    default:
      throw new Error(`no streamed replay for ${request.endpoint}`);
  }
}

function framesBody(frames: Frame[], observers: RelayObserver[]): Readable {
  return translatedBody<Frame>({
    source: (async function* () {
      yield* frames;
    })(),
    translate: (frame) => ({ frames: [frame] }),
    end: () => [],
    terminalError: () => [],
    observers,
    abort: () => undefined,
  });
}

const asArray = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);

function chatFrames(chat: Json, includeUsage: boolean): Frame[] {
  const head = { id: chat.id, object: 'chat.completion.chunk', created: chat.created, model: chat.model, ...(chat.system_fingerprint !== undefined ? { system_fingerprint: chat.system_fingerprint } : {}), ...(chat.service_tier !== undefined ? { service_tier: chat.service_tier } : {}) };
  const usageNull = includeUsage ? { usage: null } : {};
  const chunk = (choice: Json) => dataFrame({ ...head, choices: [choice], ...usageNull });
  const frames: Frame[] = [];
  for (const choice of asArray(chat.choices)) {
    const index = choice.index ?? 0;
    const message = (choice.message ?? {}) as Json;
    const logprobs = (choice.logprobs ?? null) as Json | null;
    frames.push(chunk({ index, delta: { role: message.role ?? 'assistant', content: '', ...(message.refusal !== undefined ? { refusal: null } : {}) }, logprobs: null, finish_reason: null }));
    if (typeof message.content === 'string' && message.content !== '') {
      frames.push(chunk({ index, delta: { content: message.content }, logprobs: logprobs?.content ? { content: logprobs.content, refusal: null } : null, finish_reason: null }));
    }
    if (typeof message.refusal === 'string' && message.refusal !== '') frames.push(chunk({ index, delta: { refusal: message.refusal }, logprobs: null, finish_reason: null }));
    asArray(message.tool_calls).forEach((call, i) => {
      const fn = (call.function ?? {}) as Json;
      frames.push(chunk({ index, delta: { tool_calls: [{ index: i, id: call.id, type: call.type ?? 'function', function: { name: fn.name, arguments: fn.arguments ?? '' } }] }, logprobs: null, finish_reason: null }));
    });
    frames.push(chunk({ index, delta: {}, logprobs: null, finish_reason: choice.finish_reason ?? 'stop' }));
  }
  if (includeUsage && chat.usage) frames.push(dataFrame({ ...head, choices: [], usage: chat.usage }));
  frames.push(DONE);
  return frames;
}

function completionFrames(completion: Json, includeUsage: boolean): Frame[] {
  const head = { id: completion.id, object: 'text_completion', created: completion.created, model: completion.model, ...(completion.system_fingerprint !== undefined ? { system_fingerprint: completion.system_fingerprint } : {}) };
  const frames: Frame[] = [];
  for (const choice of asArray(completion.choices)) {
    const index = choice.index ?? 0;
    if (typeof choice.text === 'string' && choice.text !== '') frames.push(dataFrame({ ...head, choices: [{ index, text: choice.text, logprobs: choice.logprobs ?? null, finish_reason: null }] }));
    frames.push(dataFrame({ ...head, choices: [{ index, text: '', logprobs: null, finish_reason: choice.finish_reason ?? 'stop' }] }));
  }
  if (includeUsage && completion.usage) frames.push(dataFrame({ ...head, choices: [], usage: completion.usage }));
  frames.push(DONE);
  return frames;
}

function anthropicFrames(message: Json): Frame[] {
  const usage = (message.usage ?? {}) as Json;
  const { output_tokens: outputTokens, ...inputUsage } = usage;
  const frames: Frame[] = [
    namedFrame('message_start', { type: 'message_start', message: { ...message, content: [], stop_reason: null, stop_sequence: null, usage: { ...inputUsage, output_tokens: 1 } } }),
  ];
  asArray(message.content).forEach((block, index) => {
    const type = block.type;
    const delta = (d: Json) => frames.push(namedFrame('content_block_delta', { type: 'content_block_delta', index, delta: d }));
    if (type === 'text') {
      const { text, citations, ...rest } = block;
      frames.push(namedFrame('content_block_start', { type: 'content_block_start', index, content_block: { ...rest, text: '', ...(citations !== undefined ? { citations: [] } : {}) } }));
      for (const citation of asArray(citations)) delta({ type: 'citations_delta', citation });
      if (typeof text === 'string' && text !== '') delta({ type: 'text_delta', text });
    } else if (type === 'tool_use' || type === 'server_tool_use') {
      const { input, ...rest } = block;
      frames.push(namedFrame('content_block_start', { type: 'content_block_start', index, content_block: { ...rest, input: {} } }));
      delta({ type: 'input_json_delta', partial_json: JSON.stringify(input ?? {}) });
    } else if (type === 'thinking') {
      const { thinking, signature, ...rest } = block;
      frames.push(namedFrame('content_block_start', { type: 'content_block_start', index, content_block: { ...rest, thinking: '', signature: '' } }));
      if (typeof thinking === 'string' && thinking !== '') delta({ type: 'thinking_delta', thinking });
      if (typeof signature === 'string' && signature !== '') delta({ type: 'signature_delta', signature });
    } else {
      // redacted_thinking, tool results and blocks without deltas arrive whole in their start event.
      frames.push(namedFrame('content_block_start', { type: 'content_block_start', index, content_block: block }));
    }
    frames.push(namedFrame('content_block_stop', { type: 'content_block_stop', index }));
  });
  frames.push(namedFrame('message_delta', { type: 'message_delta', delta: { stop_reason: message.stop_reason ?? 'end_turn', stop_sequence: message.stop_sequence ?? null }, usage: { ...usage, output_tokens: outputTokens ?? 0 } }));
  frames.push(namedFrame('message_stop', { type: 'message_stop' }));
  return frames;
}

function responsesFrames(response: Json): Frame[] {
  let seq = 0;
  const frames: Frame[] = [];
  const ev = (type: string, e: Json) => frames.push(namedFrame(type, { type, ...e, sequence_number: seq++ }));
  const snapshot = { ...response, status: 'in_progress', output: [], usage: null };
  ev('response.created', { response: snapshot });
  ev('response.in_progress', { response: snapshot });
  asArray(response.output).forEach((item, outputIndex) => {
    const id = item.id;
    if (item.type === 'message') {
      ev('response.output_item.added', { output_index: outputIndex, item: { ...item, status: 'in_progress', content: [] } });
      asArray(item.content).forEach((part, contentIndex) => {
        const at = { item_id: id, output_index: outputIndex, content_index: contentIndex };
        if (part.type === 'output_text') {
          ev('response.content_part.added', { ...at, part: { ...part, text: '', annotations: [] } });
          if (typeof part.text === 'string' && part.text !== '') ev('response.output_text.delta', { ...at, delta: part.text, logprobs: [] });
          asArray(part.annotations).forEach((annotation, annotationIndex) => ev('response.output_text.annotation.added', { ...at, annotation_index: annotationIndex, annotation }));
          ev('response.output_text.done', { ...at, text: part.text ?? '', logprobs: [] });
        } else if (part.type === 'refusal') {
          ev('response.content_part.added', { ...at, part: { ...part, refusal: '' } });
          ev('response.refusal.delta', { ...at, delta: part.refusal ?? '' });
          ev('response.refusal.done', { ...at, refusal: part.refusal ?? '' });
        } else ev('response.content_part.added', { ...at, part });
        ev('response.content_part.done', { ...at, part });
      });
    } else if (item.type === 'function_call') {
      ev('response.output_item.added', { output_index: outputIndex, item: { ...item, status: 'in_progress', arguments: '' } });
      ev('response.function_call_arguments.delta', { item_id: id, output_index: outputIndex, delta: item.arguments ?? '' });
      ev('response.function_call_arguments.done', { item_id: id, output_index: outputIndex, arguments: item.arguments ?? '' });
    } else {
      ev('response.output_item.added', { output_index: outputIndex, item });
    }
    ev('response.output_item.done', { output_index: outputIndex, item });
  });
  ev('response.completed', { response });
  return frames;
}
