import { badRequest } from '../../upstream/errors.js';
import type { Json } from '../chat.js';
import { embeddingList, textInputs, wantsBase64 } from '../embeddings.js';

/**
 * OpenAI embeddings ↔ Bedrock InvokeModel bodies for the embedding families Bedrock
 * serves with a text API: Amazon Titan Text Embeddings (v1, v2: one text per call) and
 * Cohere Embed v3 (up to 96 texts per call). Other embedding models are a 400.
 */
export type EmbeddingFamily = 'titan-v1' | 'titan-v2' | 'cohere';

export function embeddingFamilyOf(modelId: string): EmbeddingFamily | undefined {
  if (/amazon\.titan-embed-text-v2/.test(modelId)) return 'titan-v2';
  if (/amazon\.titan-embed-text-v1|amazon\.titan-embed-g1-text/.test(modelId)) return 'titan-v1';
  if (/cohere\.embed-(english|multilingual)-v3/.test(modelId)) return 'cohere';
  return undefined;
}

const COHERE_MAX_TEXTS = 96;

export interface EmbeddingPlan {
  family: EmbeddingFamily;
  /** One InvokeModel body per call, in input order. */
  bodies: Json[];
  /** Inputs covered by each call, to number the results. */
  counts: number[];
  base64: boolean;
}

/** The OpenAI embeddings request → the InvokeModel calls that answer it. */
export function toEmbeddingCalls(body: Json, modelId: string): EmbeddingPlan {
  const family = embeddingFamilyOf(modelId);
  if (!family) throw badRequest(`Embeddings on Bedrock are served for Amazon Titan Text Embeddings and Cohere Embed v3 models; '${modelId}' is not one of them.`, 'unsupported_model', 'model');
  const inputs = textInputs(body.input, 'Bedrock');
  const base64 = wantsBase64(body);
  const dimensions = body.dimensions;
  if (dimensions !== undefined && dimensions !== null) {
    if (family !== 'titan-v2') throw badRequest(`'dimensions' is supported only by Titan Text Embeddings v2 on Bedrock.`, 'unsupported_parameter', 'dimensions');
    if (dimensions !== 256 && dimensions !== 512 && dimensions !== 1024) throw badRequest(`'dimensions' must be 256, 512 or 1024 for Titan Text Embeddings v2.`, 'invalid_value', 'dimensions');
  }
  if (family === 'cohere') {
    const bodies: Json[] = [];
    const counts: number[] = [];
    for (let i = 0; i < inputs.length; i += COHERE_MAX_TEXTS) {
      const texts = inputs.slice(i, i + COHERE_MAX_TEXTS);
      bodies.push({ texts, input_type: 'search_document' });
      counts.push(texts.length);
    }
    return { family, bodies, counts, base64 };
  }
  const bodies = inputs.map((inputText) => (family === 'titan-v2' ? { inputText, ...(dimensions ? { dimensions } : {}), normalize: true } : { inputText }));
  return { family, bodies, counts: inputs.map(() => 1), base64 };
}

/** The InvokeModel answers (in call order) → OpenAI's embedding list. */
export function fromEmbeddingAnswers(plan: EmbeddingPlan, answers: Json[], model: string): Json {
  const vectors: number[][] = [];
  let tokens = 0;
  answers.forEach((a, i) => {
    if (plan.family === 'cohere') {
      const embeddings = Array.isArray(a.embeddings) ? a.embeddings : ((a.embeddings as Json | undefined)?.float as unknown[] | undefined);
      if (!Array.isArray(embeddings) || embeddings.length !== plan.counts[i]) throw new Error('Cohere answered without one embedding per text');
      vectors.push(...(embeddings as number[][]));
    } else {
      if (!Array.isArray(a.embedding)) throw new Error('Titan answered without an embedding');
      vectors.push(a.embedding as number[]);
      if (typeof a.inputTextTokenCount === 'number') tokens += a.inputTextTokenCount;
    }
  });
  return embeddingList(vectors, plan.base64, model, tokens);
}
