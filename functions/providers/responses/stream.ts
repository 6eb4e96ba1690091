import type { Json } from '../chat.js';
import { outputItems, responseObject } from './response.js';

/** One chat chunk stream being re-told as Responses API events; one object per stream. */
export interface ResponsesStreamState {
  id: string;
  model: string;
  createdAt: number;
  body: Json;
  seq: number;
  started: boolean;
  /** Output index of the text message item, once opened. */
  textIndex?: number;
  text: string;
  /** Tool calls by chat tool index: their output index, id, name and arguments so far. */
  calls: Map<number, { outputIndex: number; id: string; name: string; arguments: string }>;
  nextOutput: number;
  finishReason?: unknown;
}

export function newResponsesStreamState(id: string, model: string, createdAt: number, body: Json): ResponsesStreamState {
  return { id, model, createdAt, body, seq: 0, started: false, text: '', calls: new Map(), nextOutput: 0 };
}

type Event = Json & { type: string };

const ev = (s: ResponsesStreamState, e: Json & { type: string }): Event => ({ ...e, sequence_number: s.seq++ });
const msgId = (s: ResponsesStreamState) => `msg_${s.id}`;
const fcId = (s: ResponsesStreamState, i: number) => `fc_${s.id}_${i}`;

/** One chat.completion.chunk → Responses events (created/in_progress first, then item and delta events). */
export function chatChunkToResponseEvents(s: ResponsesStreamState, chunk: Json): Event[] {
  const out: Event[] = [];
  if (!s.started) {
    s.started = true;
    const snapshot = responseObject(s.id, s.model, s.createdAt, s.body, [], undefined, undefined, 'in_progress');
    out.push(ev(s, { type: 'response.created', response: snapshot }), ev(s, { type: 'response.in_progress', response: snapshot }));
  }
  const choice = ((chunk.choices as Json[] | undefined) ?? [])[0];
  if (!choice) return out;
  const delta = (choice.delta ?? {}) as Json;
  if (typeof delta.content === 'string' && delta.content !== '') {
    if (s.textIndex === undefined) {
      s.textIndex = s.nextOutput++;
      out.push(ev(s, { type: 'response.output_item.added', output_index: s.textIndex, item: { type: 'message', id: msgId(s), status: 'in_progress', role: 'assistant', content: [] } }));
      out.push(ev(s, { type: 'response.content_part.added', item_id: msgId(s), output_index: s.textIndex, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }));
    }
    s.text += delta.content;
    out.push(ev(s, { type: 'response.output_text.delta', item_id: msgId(s), output_index: s.textIndex, content_index: 0, delta: delta.content }));
  }
  for (const tc of (delta.tool_calls as Json[] | undefined) ?? []) {
    const index = Number(tc.index ?? 0);
    const fn = (tc.function ?? {}) as Json;
    let call = s.calls.get(index);
    if (!call) {
      call = { outputIndex: s.nextOutput++, id: String(tc.id ?? ''), name: String(fn.name ?? ''), arguments: '' };
      s.calls.set(index, call);
      out.push(ev(s, { type: 'response.output_item.added', output_index: call.outputIndex, item: { type: 'function_call', id: fcId(s, index), call_id: call.id, name: call.name, arguments: '', status: 'in_progress' } }));
    }
    if (typeof fn.arguments === 'string' && fn.arguments !== '') {
      call.arguments += fn.arguments;
      out.push(ev(s, { type: 'response.function_call_arguments.delta', item_id: fcId(s, index), output_index: call.outputIndex, delta: fn.arguments }));
    }
  }
  if (choice.finish_reason) s.finishReason = choice.finish_reason;
  return out;
}

/** The closing events: each item's done events, then response.completed (or incomplete) with usage. */
export function finishResponseEvents(s: ResponsesStreamState, usage: unknown): Event[] {
  const out: Event[] = [];
  if (!s.started) out.push(...chatChunkToResponseEvents(s, {}));
  if (s.textIndex !== undefined) {
    const part = { type: 'output_text', text: s.text, annotations: [] };
    out.push(ev(s, { type: 'response.output_text.done', item_id: msgId(s), output_index: s.textIndex, content_index: 0, text: s.text }));
    out.push(ev(s, { type: 'response.content_part.done', item_id: msgId(s), output_index: s.textIndex, content_index: 0, part }));
    out.push(ev(s, { type: 'response.output_item.done', output_index: s.textIndex, item: { type: 'message', id: msgId(s), status: 'completed', role: 'assistant', content: [part] } }));
  }
  for (const [index, call] of s.calls) {
    out.push(ev(s, { type: 'response.function_call_arguments.done', item_id: fcId(s, index), output_index: call.outputIndex, arguments: call.arguments }));
    out.push(ev(s, { type: 'response.output_item.done', output_index: call.outputIndex, item: { type: 'function_call', id: fcId(s, index), call_id: call.id, name: call.name, arguments: call.arguments, status: 'completed' } }));
  }
  const calls = [...s.calls.values()].sort((a, b) => a.outputIndex - b.outputIndex);
  const output = s.textIndex === undefined && calls.length > 0 ? outputItems(s.id, '', calls) : outputItems(s.id, s.text, calls);
  const response = responseObject(s.id, s.model, s.createdAt, s.body, output, s.finishReason, usage);
  out.push(ev(s, { type: response.status === 'incomplete' ? 'response.incomplete' : 'response.completed', response }));
  return out;
}
