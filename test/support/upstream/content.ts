/**
 * Deterministic "model" behaviour of the test upstream: what it answers, how many
 * tokens it counts, which embedding it returns. Everything is a pure function of the
 * request, so a test can compute the expected answer from what it sent.
 */
import { createHash } from 'node:crypto';

/** A token is a whitespace-delimited word here; good enough for stable usage numbers. */
export function countTokens(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

/** The answer to a prompt: a fixed prefix plus the prompt, so tests can check round trips. */
export function replyTo(prompt: string): string {
  return `You said: ${prompt}`;
}

/**
 * Splits text into the pieces a stream sends, one "token" each: every piece is a word
 * with its leading whitespace, so `pieces.join('') === text`.
 */
export function splitIntoTokens(text: string): string[] {
  return text.match(/\s*\S+/g) ?? (text ? [text] : []);
}

/** The first `max` tokens of a reply, and whether it was cut short (`finish_reason: "length"`). */
export function limitTokens(pieces: string[], max: unknown): { pieces: string[]; truncated: boolean } {
  if (typeof max === 'number' && Number.isInteger(max) && max >= 0 && max < pieces.length) {
    return { pieces: pieces.slice(0, max), truncated: true };
  }
  return { pieces, truncated: false };
}

/** Text of a chat/responses content field: a string or an array of text parts. */
export function textOfContent(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => (part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string' ? (part as { text: string }).text : ''))
      .filter(Boolean)
      .join(' ');
  }
  return '';
}

interface MessageLike {
  role?: unknown;
  content?: unknown;
  type?: unknown;
  output?: unknown;
}

/** All text in a list of chat messages (or responses input items), for prompt token counts. */
export function allText(messages: readonly MessageLike[]): string {
  return messages.map((m) => textOfContent(m.content ?? m.output)).join(' ');
}

/** The text of the last user message, which the reply echoes. */
export function lastUserText(messages: readonly MessageLike[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m && (m.role === 'user' || (m.role === undefined && m.type === undefined))) return textOfContent(m.content);
  }
  return '';
}

/** Normalises the Responses API `input` (a string or a list of items) to message-like items. */
export function responsesInputItems(input: unknown): MessageLike[] {
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  if (Array.isArray(input)) return input.filter((item): item is MessageLike => !!item && typeof item === 'object');
  return [];
}

/** The legacy completions `prompt`: a string or strings (token arrays are counted, not echoed). */
export function completionPrompts(prompt: unknown): string[] {
  if (typeof prompt === 'string') return [prompt];
  if (Array.isArray(prompt) && prompt.every((p) => typeof p === 'string')) return prompt as string[];
  if (Array.isArray(prompt)) return [prompt.map(String).join(' ')];
  return [''];
}

/** Embedding inputs: a string, strings, a token array, or token arrays. */
export function embeddingInputs(input: unknown): string[] {
  if (typeof input === 'string') return [input];
  if (Array.isArray(input)) {
    if (input.every((x) => typeof x === 'number')) return [input.join(' ')];
    return input.map((x) => (Array.isArray(x) ? x.join(' ') : String(x)));
  }
  return [];
}

export const DEFAULT_EMBEDDING_DIMENSIONS = 16;

/**
 * A unit-length vector derived from the SHA-256 of the text: the same text always gets
 * the same vector. Values are rounded to float32 so the float and base64 encodings agree.
 */
export function embeddingFor(text: string, dimensions = DEFAULT_EMBEDDING_DIMENSIONS): number[] {
  const raw: number[] = [];
  for (let block = 0; raw.length < dimensions; block++) {
    const digest = createHash('sha256').update(`${block}:${text}`).digest();
    for (let i = 0; i + 2 <= digest.length && raw.length < dimensions; i += 2) raw.push(digest.readInt16LE(i) / 32768);
  }
  const norm = Math.hypot(...raw) || 1;
  return Array.from(Float32Array.from(raw.map((v) => v / norm)));
}

/** OpenAI's `encoding_format: "base64"`: little-endian float32 values, base64-encoded. */
export function toBase64Float32(vector: readonly number[]): string {
  const floats = Float32Array.from(vector);
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString('base64');
}
