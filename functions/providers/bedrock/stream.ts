import type { GatewayError } from '../../upstream/errors.js';
import { chatChunk, chatUsage, usageChunk, type FinishReason, type Json, type TokenCounts } from '../chat.js';
import { mapBedrockError } from './errors.js';
import { finishReasonOf } from './response.js';
import { bedrockTokenCounts } from './usage.js';

/** Everything one translated ConverseStream remembers; one object per stream. */
export interface BedrockStreamState {
  id: string;
  model: string;
  created: number;
  includeUsage: boolean;
  /** contentBlockIndex → the dense OpenAI tool index (never Bedrock's block index). */
  toolIndexByBlock: Map<number, number>;
  nextToolIndex: number;
  /** contentBlockIndex → reasoning text and signature gathered so far. */
  reasoning: Map<number, { text: string; signature?: string; redacted?: string }>;
  reasoningText: string;
  usage: Json | undefined;
  finishReason?: FinishReason;
  /** messageStop seen (metadata may still follow). */
  stopped: boolean;
  done: boolean;
  error?: GatewayError;
}

export function newBedrockStreamState(model: string, includeUsage: boolean, created: number, id: string): BedrockStreamState {
  return { id, model, created, includeUsage, toolIndexByBlock: new Map(), nextToolIndex: 0, reasoning: new Map(), reasoningText: '', usage: undefined, stopped: false, done: false };
}

const EXCEPTIONS = [
  'internalServerException',
  'modelStreamErrorException',
  'validationException',
  'throttlingException',
  'serviceUnavailableException',
] as const;

/**
 * One ConverseStream event (`{ messageStart: … }`, `{ contentBlockDelta: … }`, …) → the
 * chat.completion.chunk payloads it becomes. Usage arrives in `metadata`, after
 * `messageStop`: the usage chunk (when the client asked for it) is written then.
 */
export function translateBedrockEvent(state: BedrockStreamState, event: Json): Json[] {
  if (event.messageStart) return [chatChunk(state, { role: 'assistant', content: '' })];
  if (event.contentBlockStart) {
    const e = event.contentBlockStart as Json;
    const use = (e.start as Json | undefined)?.toolUse as Json | undefined;
    if (!use) return [];
    const toolIndex = state.nextToolIndex++;
    state.toolIndexByBlock.set(Number(e.contentBlockIndex), toolIndex);
    return [chatChunk(state, { tool_calls: [{ index: toolIndex, id: String(use.toolUseId), type: 'function', function: { name: String(use.name), arguments: '' } }] })];
  }
  if (event.contentBlockDelta) {
    const e = event.contentBlockDelta as Json;
    const index = Number(e.contentBlockIndex);
    const delta = (e.delta ?? {}) as Json;
    if (typeof delta.text === 'string') return [chatChunk(state, { content: delta.text })];
    if (delta.toolUse) {
      const toolIndex = state.toolIndexByBlock.get(index);
      if (toolIndex === undefined) return [];
      return [chatChunk(state, { tool_calls: [{ index: toolIndex, function: { arguments: String((delta.toolUse as Json).input ?? '') } }] })];
    }
    if (delta.reasoningContent) {
      const rc = delta.reasoningContent as Json;
      const r = state.reasoning.get(index) ?? { text: '' };
      state.reasoning.set(index, r);
      if (typeof rc.text === 'string') {
        r.text += rc.text;
        state.reasoningText += rc.text;
        return [chatChunk(state, { reasoning_content: rc.text })];
      }
      if (typeof rc.signature === 'string') r.signature = (r.signature ?? '') + rc.signature;
      if (rc.redactedContent !== undefined) r.redacted = Buffer.from(rc.redactedContent as Uint8Array).toString('base64');
      return [];
    }
    return [];
  }
  if (event.contentBlockStop) {
    const r = state.reasoning.get(Number((event.contentBlockStop as Json).contentBlockIndex));
    if (!r) return [];
    const block = r.redacted !== undefined ? { type: 'redacted_thinking', data: r.redacted } : { type: 'thinking', thinking: r.text, ...(r.signature !== undefined ? { signature: r.signature } : {}) };
    return [chatChunk(state, { thinking_blocks: [block] })];
  }
  if (event.messageStop) {
    state.stopped = true;
    state.finishReason = finishReasonOf((event.messageStop as Json).stopReason);
    return [chatChunk(state, {}, state.finishReason)];
  }
  if (event.metadata) {
    state.usage = ((event.metadata as Json).usage as Json | undefined) ?? {};
    state.done = true;
    return state.includeUsage ? [usageChunk(state, chatUsage(bedrockStreamTokens(state)))] : [];
  }
  for (const name of EXCEPTIONS) {
    const e = event[name] as Json | undefined;
    if (e) {
      state.done = true;
      state.error = mapBedrockError({ name, message: typeof e.message === 'string' ? e.message : '' });
      return [];
    }
  }
  return [];
}

export function bedrockStreamTokens(state: BedrockStreamState): TokenCounts {
  return bedrockTokenCounts(state.usage, state.reasoningText);
}
