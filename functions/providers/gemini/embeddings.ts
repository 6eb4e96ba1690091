import { badRequest } from '../../gateway/errors.js';
import type { Json } from '../chat.js';
import { geminiModelId } from './api.js';

/** Gemini's batchEmbedContents takes up to 100 requests per call. */
export const MAX_EMBED_INPUTS = 100;

/**
 * OpenAI embeddings → batchEmbedContents: one request per input text, `dimensions` →
 * `outputDimensionality`. Token arrays are a 400 (Gemini embeds text).
 */
export function toGeminiEmbedRequest(body: Json, model: string): Json {
  const inputs = textInputs(body.input);
  if (inputs.length > MAX_EMBED_INPUTS) throw badRequest(`Gemini embeds at most ${MAX_EMBED_INPUTS} inputs per request; got ${inputs.length}.`, 'invalid_value', 'input');
  const format = body.encoding_format;
  if (format !== undefined && format !== null && format !== 'float' && format !== 'base64') throw badRequest(`'encoding_format' must be "float" or "base64".`, 'invalid_value', 'encoding_format');
  const dimensions = body.dimensions;
  if (dimensions !== undefined && dimensions !== null && (typeof dimensions !== 'number' || !Number.isInteger(dimensions) || dimensions < 1)) throw badRequest(`'dimensions' must be a positive integer.`, 'invalid_value', 'dimensions');
  const name = `models/${geminiModelId(model)}`;
  return { requests: inputs.map((text) => ({ model: name, content: { parts: [{ text }] }, ...(typeof dimensions === 'number' ? { outputDimensionality: dimensions } : {}) })) };
}

function textInputs(input: unknown): string[] {
  if (typeof input === 'string') return [input];
  if (Array.isArray(input) && input.length > 0 && input.every((x) => typeof x === 'string')) return input as string[];
  throw badRequest(`'input' must be a string or an array of strings for Gemini embeddings (token arrays are not supported).`, 'invalid_value', 'input');
}

/**
 * batchEmbedContents' `{embeddings: [{values}]}` → OpenAI's list. Gemini reports no token
 * count for embeddings: usage is read from `usageMetadata.promptTokenCount` when present,
 * else 0 (not metered). Throws when the answer does not hold one vector per input.
 */
export function fromGeminiEmbeddings(answer: Json, requestBody: Json, model: string): Json {
  const expected = Array.isArray(requestBody.input) ? requestBody.input.length : 1;
  const embeddings = answer.embeddings;
  if (!Array.isArray(embeddings) || embeddings.length !== expected || !embeddings.every((e) => Array.isArray((e as Json | null)?.values))) throw new Error('Gemini answered without one embedding per input');
  const base64 = requestBody.encoding_format === 'base64';
  const data = (embeddings as Array<{ values: number[] }>).map((e, index) => ({ object: 'embedding', index, embedding: base64 ? base64Float32(e.values) : e.values }));
  const tokens = Number((answer.usageMetadata as Json | undefined)?.promptTokenCount ?? 0) || 0;
  return { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } };
}

function base64Float32(v: number[]): string {
  const floats = Float32Array.from(v);
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString('base64');
}
