import type { Json } from '../chat.js';
import { anthropicUsageOf, stopReasonOf } from './response.js';

/** One OpenAI chunk stream being re-told as Anthropic events; one object per stream. */
export interface ChatToAnthropicState {
  model: string;
  started: boolean;
  /** The Anthropic content block open now: its index and kind (and for tools the OpenAI index). */
  open?: { index: number; kind: 'text' | 'tool_use'; toolIndex?: number };
  nextBlock: number;
  finishReason?: unknown;
  usage?: unknown;
  done: boolean;
}

export function newChatToAnthropicState(model: string): ChatToAnthropicState {
  return { model, started: false, nextBlock: 0, done: false };
}

type Event = [name: string, data: Json];

/**
 * One chat.completion.chunk → the Anthropic events it becomes. Text opens a text block;
 * each new tool-call index closes what is open and starts a tool_use block; argument
 * fragments become input_json_delta. The closing events are written by finish().
 */
export function translateChatChunk(s: ChatToAnthropicState, chunk: Json): Event[] {
  const events: Event[] = [];
  if (!s.started) {
    s.started = true;
    events.push(['message_start', { type: 'message_start', message: { id: `msg_${String(chunk.id ?? '')}`, type: 'message', role: 'assistant', model: String(chunk.model ?? s.model), content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 0, output_tokens: 0 } } }]);
  }
  if (chunk.usage) s.usage = chunk.usage;
  const choice = ((chunk.choices as Json[] | undefined) ?? [])[0];
  if (!choice) return events;
  const delta = (choice.delta ?? {}) as Json;
  if (typeof delta.content === 'string' && delta.content !== '') {
    if (s.open?.kind !== 'text') events.push(...openBlock(s, 'text', { type: 'text', text: '' }));
    events.push(['content_block_delta', { type: 'content_block_delta', index: s.open!.index, delta: { type: 'text_delta', text: delta.content } }]);
  }
  for (const call of (delta.tool_calls as Json[] | undefined) ?? []) {
    const toolIndex = Number(call.index ?? 0);
    const fn = (call.function ?? {}) as Json;
    if (s.open?.kind !== 'tool_use' || s.open.toolIndex !== toolIndex) {
      events.push(...openBlock(s, 'tool_use', { type: 'tool_use', id: String(call.id ?? ''), name: String(fn.name ?? ''), input: {} }, toolIndex));
    }
    if (typeof fn.arguments === 'string' && fn.arguments !== '') {
      events.push(['content_block_delta', { type: 'content_block_delta', index: s.open!.index, delta: { type: 'input_json_delta', partial_json: fn.arguments } }]);
    }
  }
  if (choice.finish_reason) s.finishReason = choice.finish_reason;
  return events;
}

/** `[DONE]`: close the open block, then message_delta (stop reason, usage) and message_stop. */
export function finishChatStream(s: ChatToAnthropicState): Event[] {
  const events: Event[] = [];
  if (!s.started) events.push(...translateChatChunk(s, {}));
  if (s.open) events.push(['content_block_stop', { type: 'content_block_stop', index: s.open.index }]);
  s.open = undefined;
  const usage = anthropicUsageOf(s.usage);
  events.push(['message_delta', { type: 'message_delta', delta: { stop_reason: stopReasonOf(s.finishReason), stop_sequence: null }, usage }]);
  events.push(['message_stop', { type: 'message_stop' }]);
  s.done = true;
  return events;
}

function openBlock(s: ChatToAnthropicState, kind: 'text' | 'tool_use', block: Json, toolIndex?: number): Event[] {
  const events: Event[] = [];
  if (s.open) events.push(['content_block_stop', { type: 'content_block_stop', index: s.open.index }]);
  const index = s.nextBlock++;
  s.open = { index, kind, ...(toolIndex !== undefined ? { toolIndex } : {}) };
  events.push(['content_block_start', { type: 'content_block_start', index, content_block: block }]);
  return events;
}
