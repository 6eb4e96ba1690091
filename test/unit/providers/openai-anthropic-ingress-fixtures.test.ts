/**
 * The Anthropic ingress on OpenAI-family proxies (test/fixtures/providers/openai/anthropic-ingress):
 * the Messages body a client sends and the chat.completions body the upstream gets, or the
 * 400 it is before any upstream call. `upstreamRefusal` is OpenAI's answer to the body the
 * gateway used to send; the wire-faithful fake upstream must give that same answer, and must
 * accept what the translator sends now.
 */
import { describe, expect, it } from 'vitest';
import { anthropicToChatRequest } from '../../../functions/providers/anthropic-ingress/request.js';
import { isReasoningModel } from '../../../functions/providers/openai/reasoning-models.js';
import { reasoningModelRefusal } from '../../support/upstream/wire.js';
import { expectFixtureError, loadFixtures, type ExpectedError } from './fixtures.js';

type Json = Record<string, unknown>;

interface IngressFixture {
  description: string;
  model: string;
  anthropic: Json;
  openai?: Json;
  error?: ExpectedError;
  upstreamRefusal?: { sent: Json; status: number; body: Json };
}

describe('Anthropic ingress → OpenAI chat fixtures', () => {
  for (const [name, f] of loadFixtures<IngressFixture>('openai/anthropic-ingress')) {
    it(`${name}: ${f.description}`, () => {
      if (f.upstreamRefusal) {
        expect(f.upstreamRefusal.status).toBe(400);
        expect(reasoningModelRefusal(f.upstreamRefusal.sent)).toEqual(f.upstreamRefusal.body);
      }
      if (f.error) return expectFixtureError(() => anthropicToChatRequest(f.anthropic, f.model), f.error);
      const sent = anthropicToChatRequest(f.anthropic, f.model);
      expect(sent).toEqual(f.openai);
      expect(reasoningModelRefusal(sent)).toBeUndefined();
    });
  }
});

describe('isReasoningModel', () => {
  it.each([
    ['o1', true],
    ['o3-mini', true],
    ['o4-mini-2025-04-16', true],
    ['gpt-5', true],
    ['gpt-5-mini', true],
    ['gpt-5.1', true],
    ['openai/gpt-5-nano', true],
    ['gpt-5-chat-latest', false],
    ['gpt-4o-mini', false],
    ['gpt-4.1', false],
    ['omni-moderation-latest', false],
    ['llama-3.1-70b', false],
  ])('%s → %s', (model, expected) => expect(isReasoningModel(model)).toBe(expected));
});
