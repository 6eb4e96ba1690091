import type { GatewayError } from '../../upstream/errors.js';
import { chatChunk, chatUsage, usageChunk, type FinishReason, type Json, type TokenCounts } from '../chat.js';
import { mapGeminiStreamError } from './errors.js';
import { candidateParts, finishReasonOf, responseIdOf, toolCallId, toolCallOf } from './response.js';
import { geminiTokenCounts } from './usage.js';

/** Everything one translated Gemini stream remembers; one object per stream, nothing shared. */
export interface GeminiStreamState {
  id: string;
  model: string;
  created: number;
  /** Whether the client asked for the usage chunk (stream_options.include_usage). */
  includeUsage: boolean;
  /** Gemini's responseId (the same on every chunk of one answer), for stable tool call ids. */
  responseId: string;
  /** Per candidate index: the dense tool index so far, and whether it finished. */
  candidates: Map<number, { started: boolean; nextToolIndex: number; finishReason?: FinishReason }>;
  /** The last chunk's usageMetadata (each chunk carries the totals so far). */
  usage: Json | undefined;
  /** Set once a finish reason (or a blocked prompt) closed the answer. */
  finished: boolean;
  error?: GatewayError;
}

export function newGeminiStreamState(model: string, includeUsage: boolean, created: number, id: string): GeminiStreamState {
  return { id, model, created, includeUsage, responseId: '', candidates: new Map(), usage: undefined, finished: false };
}

/**
 * One streamGenerateContent SSE payload (a whole GenerateContentResponse) → the
 * chat.completion.chunk payloads it becomes. Gemini sends each functionCall part whole:
 * it becomes one tool_call delta (id, name and all its arguments) with a dense 0-based
 * index per candidate. The stream has no terminal event: the answer is complete when a
 * finishReason came and the body ended (finishGeminiStream); an `error` payload ends it
 * with the mapped error.
 */
export function translateGeminiChunk(state: GeminiStreamState, data: Json): Json[] {
  if (data.error) {
    state.error = mapGeminiStreamError(data.error);
    return [];
  }
  if (data.usageMetadata && typeof data.usageMetadata === 'object') state.usage = data.usageMetadata as Json;
  if (state.responseId === '' && typeof data.responseId === 'string') state.responseId = data.responseId;
  if (typeof data.modelVersion === 'string' && data.modelVersion !== '') state.model = data.modelVersion;
  const out: Json[] = [];
  const candidates = Array.isArray(data.candidates) ? (data.candidates as Json[]) : [];
  if (candidates.length === 0 && (data.promptFeedback as Json | undefined)?.blockReason !== undefined) {
    const c = candidate(state, 0, out);
    c.finishReason = 'content_filter';
    state.finished = true;
    out.push(chatChunk(state, {}, 'content_filter'));
    return out;
  }
  candidates.forEach((cand, position) => {
    const index = typeof cand.index === 'number' ? cand.index : position;
    const c = candidate(state, index, out);
    const { text, reasoning, toolCalls: calls } = candidateParts(cand, (p) => {
      const toolIndex = c.nextToolIndex++;
      return { index: toolIndex, ...toolCallOf(p, toolCallId((p.functionCall as Json).id, state.responseId, index, toolIndex)) };
    });
    if (reasoning !== '') out.push(chatChunk(state, { reasoning_content: reasoning }, null, index));
    if (text !== '') out.push(chatChunk(state, { content: text }, null, index));
    if (calls.length > 0) out.push(chatChunk(state, { tool_calls: calls }, null, index));
    if (cand.finishReason !== undefined && cand.finishReason !== null && cand.finishReason !== 'FINISH_REASON_UNSPECIFIED') {
      c.finishReason = finishReasonOf(cand.finishReason, c.nextToolIndex > 0);
      out.push(chatChunk(state, {}, c.finishReason, index));
      state.finished = true;
    }
  });
  return out;
}

/** The end of a complete stream: the usage chunk, when the client asked for it. */
export function finishGeminiStream(state: GeminiStreamState): Json[] {
  return state.includeUsage ? [usageChunk(state, chatUsage(geminiStreamTokens(state)))] : [];
}

export function geminiStreamTokens(state: GeminiStreamState): TokenCounts {
  return geminiTokenCounts(state.usage);
}

function candidate(state: GeminiStreamState, index: number, out: Json[]) {
  let c = state.candidates.get(index);
  if (!c) {
    c = { started: true, nextToolIndex: 0 };
    state.candidates.set(index, c);
    out.push(chatChunk(state, { role: 'assistant', content: '' }, null, index));
  }
  return c;
}

