import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../functions/upstream/errors.js';
import { fromEmbeddingAnswers, toEmbeddingCalls } from '../../../functions/providers/bedrock/embeddings.js';

describe('Bedrock embeddings translation', () => {
  it('Cohere: 200 texts become calls of 96, 96 and 8, numbered in order', () => {
    const input = Array.from({ length: 200 }, (_, i) => `t${i}`);
    const plan = toEmbeddingCalls({ model: 'x', input }, 'cohere.embed-multilingual-v3');
    expect(plan.counts).toEqual([96, 96, 8]);
    expect(plan.bodies[2]).toEqual({ texts: input.slice(192), input_type: 'search_document' });
    const answers = plan.counts.map((n, c) => ({ embeddings: Array.from({ length: n }, (_, j) => [c, j]) }));
    const out = fromEmbeddingAnswers(plan, answers, 'm') as { data: Array<{ index: number; embedding: number[] }> };
    expect(out.data).toHaveLength(200);
    expect(out.data[100]).toEqual({ object: 'embedding', index: 100, embedding: [1, 4] });
  });

  it('Titan v1 takes no dimensions; token arrays are refused; base64 packs float32 little-endian', () => {
    expect(() => toEmbeddingCalls({ input: 'x', dimensions: 256 }, 'amazon.titan-embed-text-v1')).toThrow(GatewayError);
    expect(() => toEmbeddingCalls({ input: [1, 2, 3] }, 'amazon.titan-embed-text-v2:0')).toThrow(/array of strings/);
    const plan = toEmbeddingCalls({ input: 'x', encoding_format: 'base64' }, 'amazon.titan-embed-text-v2:0');
    const out = fromEmbeddingAnswers(plan, [{ embedding: [1, -2], inputTextTokenCount: 1 }], 'm') as { data: Array<{ embedding: string }>; usage: unknown };
    expect(Buffer.from(out.data[0]!.embedding, 'base64')).toEqual(Buffer.from([0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0]));
    expect(out.usage).toEqual({ prompt_tokens: 1, total_tokens: 1 });
  });
});
