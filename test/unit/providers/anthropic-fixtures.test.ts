/**
 * Anthropic translation fixtures (test/fixtures/providers/anthropic): each JSON file is
 * one named edge case, readable as documentation — the OpenAI request and the Messages
 * request it becomes (or the 400 it is), the Messages answer and the chat.completion it
 * becomes, the SSE events and the chunks they become.
 */
import { describe, expect, it } from 'vitest';
import { toAnthropicRequest } from '../../../functions/providers/anthropic/request.js';
import { fromAnthropicResponse } from '../../../functions/providers/anthropic/response.js';
import { anthropicStreamTokens, newAnthropicStreamState, translateAnthropicEvent } from '../../../functions/providers/anthropic/stream.js';
import { expectFixtureError, expectStreamEnd, loadFixtures, simplifyChunk, type RequestFixture, type ResponseFixture, type StreamFixture } from './fixtures.js';

describe('anthropic request fixtures', () => {
  for (const [name, f] of loadFixtures<RequestFixture>('anthropic/request')) {
    it(`${name}: ${f.description}`, () => {
      if (f.error) return expectFixtureError(() => toAnthropicRequest(f.openai, f.model), f.error);
      expect(toAnthropicRequest(f.openai, f.model)).toEqual(f.anthropic);
    });
  }
});

describe('anthropic response fixtures', () => {
  for (const [name, f] of loadFixtures<ResponseFixture>('anthropic/response')) {
    it(`${name}: ${f.description}`, () => {
      expect(fromAnthropicResponse(f.anthropic!, 1700000000)).toEqual(f.openai);
    });
  }
});

describe('anthropic stream fixtures', () => {
  for (const [name, f] of loadFixtures<StreamFixture>('anthropic/stream')) {
    it(`${name}: ${f.description}`, () => {
      const state = newAnthropicStreamState(f.includeUsage, 1700000000);
      const chunks = f.events.flatMap((e) => translateAnthropicEvent(state, e));
      expect(chunks.map(simplifyChunk)).toEqual(f.chunks);
      for (const c of chunks) expect(c).toMatchObject({ object: 'chat.completion.chunk', created: 1700000000, id: expect.stringMatching(/^msg_/) });
      expectStreamEnd(state, state.done, f.error);
      if (f.tokens) expect(anthropicStreamTokens(state)).toEqual(f.tokens);
    });
  }
});
