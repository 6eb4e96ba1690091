/** Azure OpenAI fixtures (test/fixtures/providers/azure-openai/): errors, stream chunk handling, usage, paths. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mapAzureError, filteredCategories } from '../../../functions/providers/azure-openai/errors.js';
import { azureBaseUrl, azureHeaders, azurePath } from '../../../functions/providers/azure-openai/api.js';
import { StreamUsageTracker, withoutUsage } from '../../../functions/providers/openai/stream.js';
import { usageFromResponseBody } from '../../../functions/providers/openai/usage.js';
import { SseSplitter } from '../../../functions/upstream/sse.js';
import type { OpenAIEndpoint } from '../../../functions/gateway/routes.js';
import { loadFixture } from './fixtures.js';

const dir = join(import.meta.dirname, '../../fixtures/providers/azure-openai');
const load = <T>(path: string) => loadFixture<T>(`azure-openai/${path}`);

interface ErrorCase {
  name: string;
  status: number;
  body: unknown;
  expect: { status: number; type: string; code: string; param: string | null; messageContains: string[]; messageOmits?: string[] };
}

describe('azure-openai error fixtures', () => {
  for (const c of load<{ cases: ErrorCase[] }>('errors.json').cases) {
    it(c.name, () => {
      const e = mapAzureError(c.status, typeof c.body === 'string' ? c.body : JSON.stringify(c.body));
      expect({ status: e.status, type: e.type, code: e.code, param: e.param }).toEqual({ status: c.expect.status, type: c.expect.type, code: c.expect.code, param: c.expect.param });
      for (const s of c.expect.messageContains) expect(e.message).toContain(s);
      for (const s of c.expect.messageOmits ?? []) expect(e.message).not.toContain(s);
    });
  }
});

describe('azure-openai stream fixtures', () => {
  for (const file of readdirSync(join(dir, 'stream'))) {
    const f = load<{ description: string; includeUsage: boolean; events: string[]; client: unknown[] | 'events'; tokens: Record<string, number> }>(`stream/${file}`);
    it(`${file}: ${f.description.slice(0, 80)}`, () => {
      const wire = f.events.map((e) => `data: ${e}\n\n`).join('');
      const events = new SseSplitter().push(wire);
      expect(events).toHaveLength(f.events.length);
      const tracker = new StreamUsageTracker();
      const forwarded: string[] = [];
      for (const event of events) {
        tracker.onEvent(event);
        const kept = f.includeUsage ? event : withoutUsage(event);
        if (kept) forwarded.push(kept.raw);
      }
      if (f.client === 'events') expect(forwarded.join('')).toBe(wire);
      else expect(forwarded.map((raw) => raw.slice('data: '.length).trim()).map((d) => (d === '[DONE]' ? d : JSON.parse(d)))).toEqual(f.client);
      expect(tracker.usage).toEqual(f.tokens);
    });
  }
});

describe('azure-openai response fixtures', () => {
  for (const file of readdirSync(join(dir, 'response'))) {
    const f = load<{ description: string; azure: unknown; tokens: Record<string, number> }>(`response/${file}`);
    it(`${file}: usage read from the passed-through body`, () => {
      expect(usageFromResponseBody(f.azure)).toEqual(f.tokens);
    });
  }
});

describe('azure-openai paths and headers', () => {
  for (const c of load<{ cases: { endpoint: OpenAIEndpoint; deployment?: string; apiVersion: string; path: string }[] }>('paths.json').cases) {
    it(`${c.endpoint} ${c.deployment ?? ''} → ${c.path}`, () => {
      expect(azurePath(c.endpoint, c.deployment, c.apiVersion)).toBe(c.path);
    });
  }

  it('the resource base URL', () => {
    expect(azureBaseUrl('contoso-eu')).toBe('https://contoso-eu.openai.azure.com/openai');
  });

  it('the key goes in api-key, never Authorization; client authorization is not forwarded', () => {
    const body = Buffer.from('{}');
    const h = azureHeaders({ authorization: 'Bearer sk-sluice-gateway', 'openai-beta': 'x', cookie: 'c=1' }, 'azure-secret', body);
    expect(h['api-key']).toBe('azure-secret');
    expect(h['authorization']).toBeUndefined();
    expect(h['cookie']).toBeUndefined();
    expect(h['openai-beta']).toBe('x');
    expect(h['content-length']).toBe('2');
    expect(azureHeaders({}, undefined, undefined)['api-key']).toBeUndefined();
  });

  it('filteredCategories names only filtered categories', () => {
    expect(filteredCategories({ hate: { filtered: false, severity: 'safe' }, profanity: { filtered: true, detected: true }, violence: { filtered: true, severity: 'low' }, custom_blocklists: [] })).toEqual(['profanity (detected)', 'violence (low)']);
    expect(filteredCategories(undefined)).toEqual([]);
  });
});
