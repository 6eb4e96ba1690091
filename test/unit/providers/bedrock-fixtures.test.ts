/**
 * Bedrock Converse translation fixtures (test/fixtures/providers/bedrock): OpenAI
 * requests and the Converse input they become (or the 400), Converse outputs and the
 * chat.completion they become, ConverseStream events and the chunks they become.
 */
import { describe, expect, it } from 'vitest';
import { toConverseRequest } from '../../../functions/providers/bedrock/request.js';
import { fromConverseResponse } from '../../../functions/providers/bedrock/response.js';
import { bedrockStreamTokens, newBedrockStreamState, translateBedrockEvent } from '../../../functions/providers/bedrock/stream.js';
import { expectFixtureError, expectStreamEnd, gatewayErrorOf, loadFixtures, simplifyChunk, type RequestFixture, type ResponseFixture, type StreamFixture } from './fixtures.js';

describe('bedrock request fixtures', () => {
  for (const [name, f] of loadFixtures<RequestFixture>('bedrock/request')) {
    it(`${name}: ${f.description}`, () => {
      if (f.error) return expectFixtureError(() => toConverseRequest(f.openai, f.model), f.error);
      expect(toConverseRequest(f.openai, f.model)).toEqual(f.bedrock);
    });
  }
});

describe('bedrock response fixtures', () => {
  for (const [name, f] of loadFixtures<ResponseFixture>('bedrock/response')) {
    it(`${name}: ${f.description}`, () => {
      if (f.error) {
        const e = gatewayErrorOf(() => fromConverseResponse(f.bedrock!, f.model!, 1700000000));
        expect({ status: e.status, code: e.code }).toEqual(f.error);
        return;
      }
      expect(fromConverseResponse(f.bedrock!, f.model!, 1700000000)).toEqual(f.openai);
    });
  }
});

describe('bedrock stream fixtures', () => {
  for (const [name, f] of loadFixtures<StreamFixture>('bedrock/stream')) {
    it(`${name}: ${f.description}`, () => {
      const state = newBedrockStreamState(f.model ?? 'm', f.includeUsage, 1700000000, 'chatcmpl-test');
      const chunks = f.events.flatMap((e) => translateBedrockEvent(state, e));
      expect(chunks.map(simplifyChunk)).toEqual(f.chunks);
      for (const c of chunks) expect(c).toMatchObject({ id: 'chatcmpl-test', object: 'chat.completion.chunk', model: f.model });
      expectStreamEnd(state, state.done, f.error);
      if (f.tokens) expect(bedrockStreamTokens(state)).toEqual(f.tokens);
    });
  }
});
