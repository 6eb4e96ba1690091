import { createHash, randomBytes } from 'node:crypto';
import { assistantMessage, chatUsage, type ChatToolCall, type FinishReason, type Json } from '../chat.js';
import { geminiTokenCounts } from './usage.js';

/** Candidate finish reasons that mean the answer was withheld or cut by a filter. */
const FILTERED = new Set(['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY', 'IMAGE_PROHIBITED_CONTENT', 'IMAGE_RECITATION']);

/**
 * Gemini finishReason → OpenAI finish_reason: safety, recitation, blocklist, prohibited
 * content, SPII and image safety → `content_filter`; MAX_TOKENS → `length`; STOP →
 * `stop`, or `tool_calls` when the candidate holds function calls; anything else
 * (LANGUAGE, OTHER, MALFORMED_FUNCTION_CALL, unknown) → `stop`, never passed through.
 */
export function finishReasonOf(reason: unknown, hasToolCalls: boolean): FinishReason {
  if (typeof reason === 'string' && FILTERED.has(reason)) return 'content_filter';
  if (reason === 'MAX_TOKENS') return 'length';
  return hasToolCalls ? 'tool_calls' : 'stop';
}

/**
 * A tool call id: Gemini's own `functionCall.id` when it sent one, else `call_` + 24 hex
 * digits derived from the response id, candidate and position (stable for one answer;
 * random when Gemini sent no responseId).
 */
export function toolCallId(given: unknown, responseId: string, candidate: number, position: number): string {
  if (typeof given === 'string' && given !== '') return given;
  const seed = responseId !== '' ? `${responseId}:${candidate}:${position}` : randomBytes(12).toString('hex');
  return `call_${createHash('sha256').update(seed).digest('hex').slice(0, 24)}`;
}

/** A functionCall part → an OpenAI tool call (a thought signature rides in `extra_content.google`). */
export function toolCallOf(part: Json, id: string): ChatToolCall & Json {
  const call = part.functionCall as Json;
  return {
    id,
    type: 'function',
    function: { name: String(call.name ?? ''), arguments: JSON.stringify(call.args ?? {}) },
    ...(typeof part.thoughtSignature === 'string' ? { extra_content: { google: { thought_signature: part.thoughtSignature } } } : {}),
  };
}

/** A candidate's parts: its text, its thought text (`thought: true`), and its functionCall parts as tool calls (`call` builds each, given its 0-based position). */
export function candidateParts(c: Json, call: (part: Json, position: number) => Json): { text: string; reasoning: string; toolCalls: Json[] } {
  const parts = Array.isArray((c.content as Json | undefined)?.parts) ? ((c.content as Json).parts as Json[]) : [];
  let text = '';
  let reasoning = '';
  const toolCalls: Json[] = [];
  for (const p of parts) {
    if (p.functionCall && typeof p.functionCall === 'object') toolCalls.push(call(p, toolCalls.length));
    else if (typeof p.text === 'string') {
      if (p.thought === true) reasoning += p.text;
      else text += p.text;
    }
  }
  return { text, reasoning, toolCalls };
}

export const responseIdOf = (r: Json): string => (typeof r.responseId === 'string' ? r.responseId : '');

/**
 * A generateContent answer → chat.completion. One choice per candidate (by its index);
 * text parts are joined in order, `thought: true` parts are `reasoning_content`,
 * functionCall parts are tool_calls. A prompt blocked before any candidate
 * (`promptFeedback.blockReason`) is one empty choice with `content_filter`.
 */
export function fromGeminiResponse(r: Json, model: string, created: number): Json {
  const responseId = responseIdOf(r);
  const candidates = Array.isArray(r.candidates) ? (r.candidates as Json[]) : [];
  const choices: Json[] = candidates.map((c, position) => {
    const index = typeof c.index === 'number' ? c.index : position;
    const { text, reasoning, toolCalls } = candidateParts(c, (p, n) => toolCallOf(p, toolCallId((p.functionCall as Json).id, responseId, index, n)));
    return { index, message: assistantMessage(text, toolCalls, reasoning), logprobs: null, finish_reason: finishReasonOf(c.finishReason, toolCalls.length > 0) };
  });
  if (choices.length === 0) {
    // No candidate: the prompt was blocked (promptFeedback.blockReason), or nothing came back.
    const blocked = (r.promptFeedback as Json | undefined)?.blockReason !== undefined;
    choices.push({ index: 0, message: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: blocked ? 'content_filter' : 'stop' });
  }
  return {
    id: responseId !== '' ? `chatcmpl-${responseId}` : `chatcmpl-${randomBytes(12).toString('hex')}`,
    object: 'chat.completion',
    created,
    model: typeof r.modelVersion === 'string' ? r.modelVersion : model,
    choices,
    usage: chatUsage(geminiTokenCounts(r.usageMetadata)),
  };
}
