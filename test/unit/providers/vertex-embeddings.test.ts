/** Vertex :predict answers → OpenAI embedding lists. */
import { describe, expect, it } from 'vitest';
import { fromVertexPredictions, toVertexEmbedRequest, vertexPredictBodies } from '../../../functions/providers/vertex/embeddings.js';

const answer = {
  predictions: [
    { embeddings: { values: [0.5, -0.25], statistics: { token_count: 3, truncated: false } } },
    { embeddings: { values: [1, 0], statistics: { token_count: 2, truncated: false } } },
  ],
  metadata: { billableCharacterCount: 20 },
};

describe('fromVertexPredictions', () => {
  it('vectors in order, usage the sum of token counts', () => {
    expect(fromVertexPredictions(answer, { input: ['a b c', 'd e'] }, 'text-embedding-005')).toEqual({
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: [0.5, -0.25] },
        { object: 'embedding', index: 1, embedding: [1, 0] },
      ],
      model: 'text-embedding-005',
      usage: { prompt_tokens: 5, total_tokens: 5 },
    });
  });

  it('base64: little-endian float32 bytes', () => {
    const out = fromVertexPredictions(answer, { input: ['a', 'b'], encoding_format: 'base64' }, 'm');
    const first = (out.data as Array<{ embedding: string }>)[0]!.embedding;
    const bytes = Buffer.from(first, 'base64');
    expect([bytes.readFloatLE(0), bytes.readFloatLE(4)]).toEqual([0.5, -0.25]);
  });

  it('throws when the answer does not hold one vector per input', () => {
    expect(() => fromVertexPredictions(answer, { input: 'one' }, 'm')).toThrow(/one prediction per input/);
    expect(() => fromVertexPredictions({ predictions: [{ embeddings: {} }] }, { input: 'one' }, 'm')).toThrow(/no embedding values/);
  });
});

describe('vertexPredictBodies', () => {
  const body = toVertexEmbedRequest({ input: ['a', 'b', 'c'], dimensions: 4 });

  it('text-embedding models: every input in one :predict body', () => {
    expect(vertexPredictBodies(body, 'text-embedding-005')).toEqual([{ instances: [{ content: 'a' }, { content: 'b' }, { content: 'c' }], parameters: { outputDimensionality: 4 } }]);
  });

  it('Gemini Embedding models: one body per input (a single instance per request on Vertex), parameters on each', () => {
    expect(vertexPredictBodies(body, 'gemini-embedding-001')).toEqual([
      { instances: [{ content: 'a' }], parameters: { outputDimensionality: 4 } },
      { instances: [{ content: 'b' }], parameters: { outputDimensionality: 4 } },
      { instances: [{ content: 'c' }], parameters: { outputDimensionality: 4 } },
    ]);
    expect(vertexPredictBodies({ instances: [{ content: 'x' }] }, 'gemini-embedding-001')).toEqual([{ instances: [{ content: 'x' }] }]);
  });
});
