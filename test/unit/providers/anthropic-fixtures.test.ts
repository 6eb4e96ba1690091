/**
 * Anthropic translation fixtures (test/fixtures/providers/anthropic): each JSON file is
 * one named edge case, readable as documentation — the OpenAI request and the Messages
 * request it becomes (or the 400 it is), the Messages answer and the chat.completion it
 * becomes, the SSE events and the chunks they become.
 */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../functions/gateway/errors.js';
import { toAnthropicRequest } from '../../../functions/providers/anthropic/request.js';
import { fromAnthropicResponse } from '../../../functions/providers/anthropic/response.js';
import { anthropicStreamTokens, newAnthropicStreamState, translateAnthropicEvent } from '../../../functions/providers/anthropic/stream.js';
import { loadFixtures, simplifyChunk, type RequestFixture, type ResponseFixture, type StreamFixture } from './fixtures.js';

describe('anthropic request fixtures', () => {
  for (const [name, f] of loadFixtures<RequestFixture>('anthropic/request')) {
    it(`${name}: ${f.description}`, () => {
      if (f.error) {
        let caught: unknown;
        try {
          toAnthropicRequest(f.openai, f.model);
        } catch (err) {
          caught = err;
        }
        expect(caught).toBeInstanceOf(GatewayError);
        const e = caught as GatewayError;
        expect({ status: e.status, code: e.code, ...(f.error.param ? { param: e.param } : {}) }).toEqual({ status: f.error.status, code: f.error.code, ...(f.error.param ? { param: f.error.param } : {}) });
        if (f.error.message) expect(e.message).toContain(f.error.message);
        return;
      }
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
      if (f.error) {
        expect(state.error).toBeInstanceOf(GatewayError);
        expect({ status: state.error!.status, type: state.error!.type, code: state.error!.code, message: state.error!.message }).toEqual(f.error);
      } else {
        expect(state.done).toBe(true);
        expect(state.error).toBeUndefined();
      }
      if (f.tokens) expect(anthropicStreamTokens(state)).toEqual(f.tokens);
    });
  }
});
