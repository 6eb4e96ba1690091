/**
 * Vertex fixtures (test/fixtures/providers/vertex/): the request each ingress becomes on
 * Vertex (path, wire, body), and the errors Vertex answers.
 */
import { describe, expect, it } from 'vitest';
import type { Endpoint, Ingress } from '../../../functions/gateway/routes.js';
import { vertexRequest } from '../../../functions/providers/vertex/plan.js';
import { isAnthropicErrorBody, mapVertexError } from '../../../functions/providers/vertex/errors.js';
import { gatewayErrorOf, loadFixture, loadFixtures } from './fixtures.js';

type Json = Record<string, unknown>;

interface VertexRequestFixture {
  description: string;
  endpoint: Endpoint;
  ingress: Ingress;
  model: string;
  gcp: { project: string; location: string };
  input: Json;
  path?: string;
  wire?: string;
  vertex?: Json;
  error?: { status: number; code: string; param?: string };
}

const TOKEN = 'ya29.fixture-token';

describe('vertex request fixtures', () => {
  for (const [name, f] of loadFixtures<VertexRequestFixture>('vertex/request')) {
    it(`${name}: ${f.description}`, () => {
      const call = () => vertexRequest({ endpoint: f.endpoint, ingress: f.ingress, json: f.input, stream: f.input.stream === true, clientHeaders: {}, model: f.model, gcp: f.gcp, accessToken: TOKEN });
      if (f.error) {
        const e = gatewayErrorOf(call);
        expect({ status: e.status, code: e.code, param: e.param ?? undefined }).toEqual({ status: f.error.status, code: f.error.code, param: f.error.param });
        return;
      }
      const wire = call();
      expect(wire.path).toBe(f.path);
      expect(wire.wire).toBe(f.wire);
      expect(JSON.parse(wire.body!.toString('utf8'))).toEqual(f.vertex);
      expect(wire.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(wire.headers['content-length']).toBe(String(wire.body!.length));
      expect(wire.headers['x-api-key']).toBeUndefined();
      expect(wire.headers.accept).toBe(f.input.stream === true ? 'text/event-stream' : 'application/json');
    });
  }

  it('cache_control survives byte for byte on the native ingress (key order and unknown fields included)', () => {
    const json = { model: 'claude-sonnet-4@20250514', max_tokens: 5, system: [{ type: 'text', text: 's', cache_control: { type: 'ephemeral', ttl: '5m', future_field: 1 } }], messages: [{ role: 'user', content: 'hi' }] };
    const wire = vertexRequest({ endpoint: 'anthropic.messages', ingress: 'anthropic', json, stream: false, clientHeaders: { 'anthropic-beta': 'extended-cache-ttl-2025-04-11' }, model: json.model, gcp: { project: 'acme-prod-123', location: 'us-east5' }, accessToken: TOKEN });
    expect(wire.body!.toString('utf8')).toBe('{"anthropic_version":"vertex-2023-10-16","max_tokens":5,"system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral","ttl":"5m","future_field":1}}],"messages":[{"role":"user","content":"hi"}]}');
    expect(wire.headers['anthropic-beta']).toBe('extended-cache-ttl-2025-04-11');
  });
});

interface ErrorCase {
  name: string;
  status: number;
  body: unknown;
  expect: { status: number; type: string; code: string };
}

describe('vertex error fixtures', () => {
  const { cases } = loadFixture<{ cases: ErrorCase[] }>('vertex/errors.json');
  for (const c of cases) {
    it(c.name, () => {
      const text = typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
      const e = mapVertexError(c.status, text, { 'retry-after': '3' });
      expect({ status: e.status, type: e.type, code: e.code }).toEqual(c.expect);
      expect(e.headers['retry-after']).toBe('3');
    });
  }

  it('tells Anthropic bodies (passed through on the native ingress) from Google ones', () => {
    expect(isAnthropicErrorBody('{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}')).toBe(true);
    expect(isAnthropicErrorBody('{"error":{"code":429,"message":"Quota","status":"RESOURCE_EXHAUSTED"}}')).toBe(false);
    expect(isAnthropicErrorBody('[{"error":{"code":400,"message":"x","status":"INVALID_ARGUMENT"}}]')).toBe(false);
    expect(isAnthropicErrorBody('not json')).toBe(false);
  });
});
