/**
 * What the embedding translators of the providers that embed text (Bedrock, Gemini,
 * Vertex) share: reading OpenAI's `input` as texts, and writing OpenAI's embedding list.
 */
import { badRequest } from '../upstream/errors.js';
import type { Json } from './chat.js';

/** OpenAI's `input` as texts: a string or a non-empty array of strings (at most `max`); token arrays are a 400. */
export function textInputs(input: unknown, provider: string, max = Infinity): string[] {
  const texts = typeof input === 'string' ? [input] : Array.isArray(input) && input.length > 0 && input.every((x) => typeof x === 'string') ? (input as string[]) : undefined;
  if (!texts) throw badRequest(`'input' must be a string or an array of strings for ${provider} embeddings (token arrays are not supported).`, 'invalid_value', 'input');
  if (texts.length > max) throw badRequest(`${provider} embeds at most ${max} inputs per request; got ${texts.length}.`, 'invalid_value', 'input');
  return texts;
}

/** `encoding_format` checked (float, the default, or base64): whether vectors go back base64. */
export function wantsBase64(body: Json): boolean {
  const format = body.encoding_format;
  if (format !== undefined && format !== null && format !== 'float' && format !== 'base64') throw badRequest(`'encoding_format' must be "float" or "base64".`, 'invalid_value', 'encoding_format');
  return format === 'base64';
}

/** `dimensions` where any positive integer is taken: undefined when absent. */
export function positiveDimensions(body: Json): number | undefined {
  const dimensions = body.dimensions;
  if (dimensions === undefined || dimensions === null) return undefined;
  if (typeof dimensions !== 'number' || !Number.isInteger(dimensions) || dimensions < 1) throw badRequest(`'dimensions' must be a positive integer.`, 'invalid_value', 'dimensions');
  return dimensions;
}

/** Vectors in input order → OpenAI's embedding list; `base64`: each vector as little-endian float32 bytes, as OpenAI sends them. */
export function embeddingList(vectors: number[][], base64: boolean, model: string, tokens: number): Json {
  const data = vectors.map((v, index) => ({ object: 'embedding', index, embedding: base64 ? base64Float32(v) : v }));
  return { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } };
}

function base64Float32(v: number[]): string {
  const floats = Float32Array.from(v);
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString('base64');
}
