import type { Json } from '../chat.js';
import { embeddingList, positiveDimensions, textInputs, wantsBase64 } from '../embeddings.js';
import { geminiModelId } from './api.js';

/** Gemini's batchEmbedContents takes up to 100 requests per call. */
export const MAX_EMBED_INPUTS = 100;

/**
 * OpenAI embeddings → batchEmbedContents: one request per input text, `dimensions` →
 * `outputDimensionality`. Token arrays are a 400 (Gemini embeds text).
 */
export function toGeminiEmbedRequest(body: Json, model: string): Json {
  const inputs = textInputs(body.input, 'Gemini', MAX_EMBED_INPUTS);
  wantsBase64(body); // checked now; the answer is translated with it
  const dimensions = positiveDimensions(body);
  const name = `models/${geminiModelId(model)}`;
  return { requests: inputs.map((text) => ({ model: name, content: { parts: [{ text }] }, ...(typeof dimensions === 'number' ? { outputDimensionality: dimensions } : {}) })) };
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
  const tokens = Number((answer.usageMetadata as Json | undefined)?.promptTokenCount ?? 0) || 0;
  return embeddingList(
    (embeddings as Array<{ values: number[] }>).map((e) => e.values),
    requestBody.encoding_format === 'base64',
    model,
    tokens,
  );
}
