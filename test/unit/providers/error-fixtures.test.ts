/** Provider error fixtures (test/fixtures/providers/<provider>/errors.json): provider answer → OpenAI error. */
import { describe, expect, it } from 'vitest';
import { mapAnthropicError } from '../../../functions/providers/anthropic/errors.js';
import { mapBedrockError } from '../../../functions/providers/bedrock/errors.js';
import { loadFixture } from './fixtures.js';

const load = <T>(provider: string) => loadFixture<{ cases: T[] }>(`${provider}/errors.json`);

describe('anthropic error fixtures', () => {
  for (const c of load<{ name: string; status: number; body: unknown; expect: { status: number; type: string; code: string } }>('anthropic').cases) {
    it(c.name, () => {
      const e = mapAnthropicError(c.status, typeof c.body === 'string' ? c.body : JSON.stringify(c.body), { 'retry-after': '3' });
      expect({ status: e.status, type: e.type, code: e.code }).toEqual(c.expect);
      expect(e.headers['retry-after']).toBe('3');
    });
  }
});

describe('bedrock error fixtures', () => {
  for (const c of load<{ name: string; error: { name: string; message: string }; expect: { status: number; type: string; code: string; retryAfter?: string } }>('bedrock').cases) {
    it(c.name, () => {
      const e = mapBedrockError(c.error);
      const { retryAfter, ...expected } = c.expect;
      expect({ status: e.status, type: e.type, code: e.code }).toEqual(expected);
      expect(e.headers['retry-after']).toBe(retryAfter);
    });
  }
});
