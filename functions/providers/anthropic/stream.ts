import type { StreamEnd } from '../../upstream/body-relay.js';
import { eventType } from '../../upstream/sse.js';
import type { GatewayError } from '../../upstream/errors.js';
import { chatChunk, chatUsage, usageChunk, type FinishReason, type Json, type TokenCounts } from '../chat.js';
import { mapAnthropicStreamError } from './errors.js';
import { finishReasonOf } from './response.js';
import { anthropicTokenCounts } from './usage.js';

/** Everything one translated stream remembers; one object per stream, nothing shared. */
export interface AnthropicStreamState {
  id: string;
  model: string;
  created: number;
  /** Whether the client asked for the usage chunk (stream_options.include_usage). */
  includeUsage: boolean;
  /** Anthropic content-block index → its kind, and for tool_use the dense OpenAI tool index. */
  blocks: Map<number, { kind: string; toolIndex?: number; thinking?: string; signature?: string }>;
  nextToolIndex: number;
  usage: Json;
  thinkingText: string;
  finishReason?: FinishReason;
  /** Set once message_stop or an error event closed the stream. */
  done: boolean;
  error?: GatewayError;
}

export function newAnthropicStreamState(includeUsage: boolean, created: number): AnthropicStreamState {
  return { id: '', model: '', created, includeUsage, blocks: new Map(), nextToolIndex: 0, usage: {}, thinkingText: '', done: false };
}

/**
 * One Anthropic SSE event (parsed `data`) → the chat.completion.chunk payloads it
 * becomes (possibly none). Tool calls get dense 0-based indices in order of appearance,
 * whatever Anthropic's content-block index is; `ping` produces nothing; an `error`
 * event ends the stream with the mapped error (the caller writes it and `[DONE]`).
 */
export function translateAnthropicEvent(state: AnthropicStreamState, data: Json): Json[] {
  switch (data.type) {
    case 'message_start': {
      const message = (data.message ?? {}) as Json;
      state.id = String(message.id ?? '');
      state.model = String(message.model ?? '');
      state.usage = { ...((message.usage as Json | undefined) ?? {}) };
      return [chatChunk(state, { role: 'assistant', content: '' })];
    }
    case 'content_block_start': {
      const index = Number(data.index);
      const block = (data.content_block ?? {}) as Json;
      if (block.type === 'tool_use') {
        const toolIndex = state.nextToolIndex++;
        state.blocks.set(index, { kind: 'tool_use', toolIndex });
        return [chatChunk(state, { tool_calls: [{ index: toolIndex, id: String(block.id), type: 'function', function: { name: String(block.name), arguments: '' } }] })];
      }
      if (block.type === 'thinking') {
        state.blocks.set(index, { kind: 'thinking', thinking: '' });
        return [];
      }
      if (block.type === 'redacted_thinking') {
        state.blocks.set(index, { kind: 'redacted_thinking' });
        return [chatChunk(state, { thinking_blocks: [{ type: 'redacted_thinking', data: String(block.data ?? '') }] })];
      }
      state.blocks.set(index, { kind: String(block.type) });
      return typeof block.text === 'string' && block.text !== '' ? [chatChunk(state, { content: block.text })] : [];
    }
    case 'content_block_delta': {
      const block = state.blocks.get(Number(data.index));
      const delta = (data.delta ?? {}) as Json;
      if (delta.type === 'text_delta') return [chatChunk(state, { content: String(delta.text ?? '') })];
      if (delta.type === 'input_json_delta' && block?.toolIndex !== undefined) {
        return [chatChunk(state, { tool_calls: [{ index: block.toolIndex, function: { arguments: String(delta.partial_json ?? '') } }] })];
      }
      if (delta.type === 'thinking_delta' && block) {
        const text = String(delta.thinking ?? '');
        block.thinking = (block.thinking ?? '') + text;
        state.thinkingText += text;
        return [chatChunk(state, { reasoning_content: text })];
      }
      if (delta.type === 'signature_delta' && block) block.signature = (block.signature ?? '') + String(delta.signature ?? '');
      return [];
    }
    case 'content_block_stop': {
      const block = state.blocks.get(Number(data.index));
      // The whole block with its signature, so the client can send it back on the next turn
      // (also a signature-only block with empty thinking).
      if (block?.kind === 'thinking') {
        return [chatChunk(state, { thinking_blocks: [{ type: 'thinking', thinking: block.thinking ?? '', ...(block.signature !== undefined ? { signature: block.signature } : {}) }] })];
      }
      return [];
    }
    case 'message_delta': {
      const delta = (data.delta ?? {}) as Json;
      // message_delta usage is cumulative: it replaces what message_start said.
      if (data.usage && typeof data.usage === 'object') Object.assign(state.usage, stripNulls(data.usage as Json));
      if (delta.stop_reason === undefined || delta.stop_reason === null) return [];
      state.finishReason = finishReasonOf(delta.stop_reason);
      return [chatChunk(state, {}, state.finishReason)];
    }
    case 'message_stop': {
      state.done = true;
      return state.includeUsage ? [usageChunk(state, chatUsage(anthropicStreamTokens(state)))] : [];
    }
    case 'error': {
      state.done = true;
      state.error = mapAnthropicStreamError(data);
      return [];
    }
    default:
      // ping and event types added later carry nothing for the client.
      return [];
  }
}

export function anthropicStreamTokens(state: AnthropicStreamState): TokenCounts {
  return anthropicTokenCounts(state.usage, state.thinkingText);
}

function stripNulls(o: Json): Json {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined));
}

/** A native Messages stream ends with `message_stop` (or an `error` event of Anthropic's own). */
export function anthropicStreamEnd(): StreamEnd {
  let done = false;
  return {
    terminal: 'message_stop',
    see(event) {
      if (!done) {
        const type = event.event ?? eventType(event.data);
        done = type === 'message_stop' || type === 'error';
      }
      return done ? 'done' : 'more';
    },
  };
}
