import { badRequest } from '../../gateway/errors.js';
import type { Json } from '../chat.js';

/** Vertex's text-embedding models take up to 250 instances per predict call. */
export const MAX_PREDICT_INSTANCES = 250;

/**
 * OpenAI embeddings → Vertex `:predict` for text-embedding models: one instance per
 * input text (`{content}`), `dimensions` → `parameters.outputDimensionality`. Token
 * arrays are a 400 (Vertex embeds text).
 */
export function toVertexEmbedRequest(body: Json): Json {
  const input = body.input;
  const texts = typeof input === 'string' ? [input] : Array.isArray(input) && input.length > 0 && input.every((x) => typeof x === 'string') ? (input as string[]) : undefined;
  if (!texts) throw badRequest(`'input' must be a string or an array of strings for Vertex embeddings (token arrays are not supported).`, 'invalid_value', 'input');
  if (texts.length > MAX_PREDICT_INSTANCES) throw badRequest(`Vertex embeds at most ${MAX_PREDICT_INSTANCES} inputs per request; got ${texts.length}.`, 'invalid_value', 'input');
  const format = body.encoding_format;
  if (format !== undefined && format !== null && format !== 'float' && format !== 'base64') throw badRequest(`'encoding_format' must be "float" or "base64".`, 'invalid_value', 'encoding_format');
  const dimensions = body.dimensions;
  if (dimensions !== undefined && dimensions !== null && (typeof dimensions !== 'number' || !Number.isInteger(dimensions) || dimensions < 1)) throw badRequest(`'dimensions' must be a positive integer.`, 'invalid_value', 'dimensions');
  return { instances: texts.map((content) => ({ content })), ...(typeof dimensions === 'number' ? { parameters: { outputDimensionality: dimensions } } : {}) };
}

/**
 * `{predictions: [{embeddings: {values, statistics: {token_count}}}]}` → OpenAI's list,
 * usage the sum of the token counts. Throws when the answer does not hold one vector per input.
 */
export function fromVertexPredictions(answer: Json, requestBody: Json, model: string): Json {
  const expected = Array.isArray(requestBody.input) ? requestBody.input.length : 1;
  const predictions = answer.predictions;
  if (!Array.isArray(predictions) || predictions.length !== expected) throw new Error('Vertex answered without one prediction per input');
  const base64 = requestBody.encoding_format === 'base64';
  let tokens = 0;
  const data = (predictions as Json[]).map((p, index) => {
    const e = p?.embeddings as Json | undefined;
    const values = e?.values;
    if (!Array.isArray(values) || !values.every((v) => typeof v === 'number')) throw new Error(`Vertex prediction ${index} holds no embedding values`);
    const count = Number((e?.statistics as Json | undefined)?.token_count ?? 0);
    if (Number.isFinite(count) && count > 0) tokens += count;
    return { object: 'embedding', index, embedding: base64 ? base64Float32(values as number[]) : values };
  });
  return { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } };
}

function base64Float32(v: number[]): string {
  const floats = Float32Array.from(v);
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString('base64');
}
