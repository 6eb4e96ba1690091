/**
 * Gemini translation fixtures (test/fixtures/providers/gemini): each JSON file is one
 * named edge case — a JSON Schema and the Gemini Schema it becomes (or the 400), the
 * OpenAI request and the generateContent body, the Gemini answer and the chat.completion,
 * the SSE payloads and the chunks — plus errors.json.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mapGeminiError } from '../../../functions/providers/gemini/errors.js';
import { toGeminiRequest } from '../../../functions/providers/gemini/request.js';
import { fromGeminiResponse } from '../../../functions/providers/gemini/response.js';
import { toGeminiSchema } from '../../../functions/providers/gemini/schema.js';
import { finishGeminiStream, geminiStreamTokens, newGeminiStreamState, translateGeminiChunk } from '../../../functions/providers/gemini/stream.js';
import { expectFixtureError, expectStreamEnd, loadFixture, loadFixtures, type ExpectedError, type RequestFixture, type StreamFixture } from './fixtures.js';

type Json = Record<string, unknown>;

/**
 * The id scheme for calls Gemini sent without an id, written out independently of the
 * code: `call_` + the first 24 hex digits of SHA-256("<responseId>:<candidate>:<position>").
 * Fixtures write `{"$generatedId": "<seed>"}` where such an id is expected.
 */
function withGeneratedIds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withGeneratedIds);
  if (value && typeof value === 'object') {
    const o = value as Json;
    if (typeof o.$generatedId === 'string') return `call_${createHash('sha256').update(o.$generatedId).digest('hex').slice(0, 24)}`;
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, withGeneratedIds(v)]));
  }
  return value;
}

describe('gemini schema fixtures', () => {
  for (const [name, f] of loadFixtures<{ description: string; schema: unknown; gemini?: Json; error?: ExpectedError }>('gemini/schema')) {
    it(`${name}: ${f.description}`, () => {
      if (f.error) return expectFixtureError(() => toGeminiSchema(f.schema, 'tools[0].function.parameters'), f.error);
      expect(toGeminiSchema(f.schema, 'tools[0].function.parameters')).toEqual(f.gemini);
    });
  }
});

describe('gemini request fixtures', () => {
  for (const [name, f] of loadFixtures<RequestFixture & { gemini?: Json }>('gemini/request')) {
    it(`${name}: ${f.description}`, () => {
      if (f.error) return expectFixtureError(() => toGeminiRequest(f.openai, f.model), f.error);
      expect(toGeminiRequest(f.openai, f.model)).toEqual(f.gemini);
    });
  }
});

describe('gemini response fixtures', () => {
  for (const [name, f] of loadFixtures<{ description: string; model: string; gemini: Json; openai: Json }>('gemini/response')) {
    it(`${name}: ${f.description}`, () => {
      expect(fromGeminiResponse(f.gemini, f.model, 1700000000)).toEqual(withGeneratedIds(f.openai));
    });
  }
});

describe('gemini stream fixtures', () => {
  for (const [name, f] of loadFixtures<StreamFixture>('gemini/stream')) {
    it(`${name}: ${f.description}`, () => {
      const state = newGeminiStreamState('gemini-2.5-flash', f.includeUsage, 1700000000, 'chatcmpl-test');
      const chunks: Json[] = [];
      for (const e of f.events) {
        chunks.push(...translateGeminiChunk(state, e));
        if (state.error) break;
      }
      if (!state.error) chunks.push(...finishGeminiStream(state));
      const simplified = chunks.map((c) => {
        const choices = c.choices as Json[];
        if (choices.length === 0) return { usage: c.usage };
        const choice = choices[0]!;
        return f.chunks.some((x) => 'index' in x) ? { index: choice.index, delta: choice.delta, finish_reason: choice.finish_reason } : { delta: choice.delta, finish_reason: choice.finish_reason };
      });
      expect(simplified).toEqual(withGeneratedIds(f.chunks));
      for (const c of chunks) expect(c).toMatchObject({ object: 'chat.completion.chunk', created: 1700000000, id: 'chatcmpl-test' });
      expectStreamEnd(state, state.finished, f.error);
      if (f.tokens) expect(geminiStreamTokens(state)).toEqual(f.tokens);
    });
  }
});

describe('gemini error fixtures', () => {
  const { cases } = loadFixture<{
    cases: Array<{ name: string; status: number; headers?: Record<string, string>; body: unknown; expect: { status: number; type: string; code: string; retryAfter?: string; messageExcludes?: string } }>;
  }>('gemini/errors.json');
  for (const c of cases) {
    it(c.name, () => {
      const e = mapGeminiError(c.status, typeof c.body === 'string' ? c.body : JSON.stringify(c.body), c.headers ?? {});
      const { retryAfter, messageExcludes, ...expected } = c.expect;
      expect({ status: e.status, type: e.type, code: e.code }).toEqual(expected);
      expect(e.headers['retry-after']).toBe(retryAfter);
      if (messageExcludes) expect(e.message).not.toContain(messageExcludes);
      expect(e.toBody().error.message.length).toBeGreaterThan(0);
    });
  }
});
