import type { Json } from '../chat.js';
import { embeddingList, positiveDimensions, textInputs, wantsBase64 } from '../embeddings.js';

/** Vertex's text-embedding models take up to 250 instances per predict call. */
export const MAX_PREDICT_INSTANCES = 250;

/**
 * Gemini Embedding models on Vertex (`gemini-embedding-001`) take a single input text per
 * `:predict` request ("250 input texts for non-Gemini models, and a single input text for
 * Gemini Embedding models", Vertex AI "Get text embeddings", API limits).
 */
export const isGeminiEmbeddingModel = (model: string): boolean => /^gemini-embedding/.test(model);

/**
 * The `:predict` bodies one embeddings request needs: the body as it is, or, for a Gemini
 * Embedding model given several inputs, one body per instance (same parameters), in order.
 */
export function vertexPredictBodies(body: Json, model: string): Json[] {
  const instances = body.instances;
  if (!isGeminiEmbeddingModel(model) || !Array.isArray(instances) || instances.length <= 1) return [body];
  return instances.map((instance) => ({ ...body, instances: [instance] }));
}

/**
 * OpenAI embeddings → Vertex `:predict` for text-embedding models: one instance per
 * input text (`{content}`), `dimensions` → `parameters.outputDimensionality`. Token
 * arrays are a 400 (Vertex embeds text).
 */
export function toVertexEmbedRequest(body: Json): Json {
  const texts = textInputs(body.input, 'Vertex', MAX_PREDICT_INSTANCES);
  wantsBase64(body); // checked now; the answer is translated with it
  const dimensions = positiveDimensions(body);
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
  let tokens = 0;
  const vectors = (predictions as Json[]).map((p, index) => {
    const e = p?.embeddings as Json | undefined;
    const values = e?.values;
    if (!Array.isArray(values) || !values.every((v) => typeof v === 'number')) throw new Error(`Vertex prediction ${index} holds no embedding values`);
    const count = Number((e?.statistics as Json | undefined)?.token_count ?? 0);
    if (Number.isFinite(count) && count > 0) tokens += count;
    return values as number[];
  });
  return embeddingList(vectors, requestBody.encoding_format === 'base64', model, tokens);
}
