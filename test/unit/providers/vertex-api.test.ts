/** Vertex base URLs, project/location checks and model paths. */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../functions/upstream/errors.js';
import type { UpstreamTarget } from '../../../functions/upstream/target.js';
import { gcpOf, isClaudeModel, vertexBaseUrl, vertexModelPath } from '../../../functions/providers/vertex/api.js';

const target = (over: Partial<UpstreamTarget>): UpstreamTarget => ({ provider: 'vertex', baseUrl: '', allowPrivateNetwork: false, via: 'proxy', ...over });

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).status).toBe(400);
    return (err as GatewayError).code;
  }
  return 'no error';
}

describe('vertexBaseUrl', () => {
  it('is regional per location, and the global endpoint has no region prefix', () => {
    expect(vertexBaseUrl(target({}), 'us-central1')).toBe('https://us-central1-aiplatform.googleapis.com/v1');
    expect(vertexBaseUrl(target({}), 'europe-west4')).toBe('https://europe-west4-aiplatform.googleapis.com/v1');
    expect(vertexBaseUrl(target({}), 'global')).toBe('https://aiplatform.googleapis.com/v1');
  });

  it("Google's own host follows the request's location (a per-request X-Sluice-GCP-Location)", () => {
    expect(vertexBaseUrl(target({ baseUrl: 'https://us-central1-aiplatform.googleapis.com/v1' }), 'europe-west1')).toBe('https://europe-west1-aiplatform.googleapis.com/v1');
    expect(vertexBaseUrl(target({ baseUrl: 'https://aiplatform.googleapis.com/v1/' }), 'us-east5')).toBe('https://us-east5-aiplatform.googleapis.com/v1');
  });

  it('a configured base URL elsewhere wins (private endpoints, test servers)', () => {
    expect(vertexBaseUrl(target({ baseUrl: 'http://127.0.0.1:9000/v1' }), 'us-east5')).toBe('http://127.0.0.1:9000/v1');
    expect(vertexBaseUrl(target({ baseUrl: 'https://vertex.internal.example.com/v1' }), 'global')).toBe('https://vertex.internal.example.com/v1');
  });
});

describe('gcpOf', () => {
  it('requires a project and a location, naming the CLI flag', () => {
    expect(codeOf(() => gcpOf(target({})))).toBe('gcp_project_missing');
    expect(codeOf(() => gcpOf(target({ gcp: { project: 'acme-prod-123', location: '' } })))).toBe('gcp_location_missing');
  });

  it('refuses values that would change the path', () => {
    expect(codeOf(() => gcpOf(target({ gcp: { project: 'acme/../x', location: 'us-east5' } })))).toBe('invalid_gcp_project');
    expect(codeOf(() => gcpOf(target({ gcp: { project: 'acme-prod-123', location: 'us-east5/x' } })))).toBe('invalid_gcp_location');
    expect(gcpOf(target({ gcp: { project: 'example.com:legacy-proj', location: 'global' } }))).toEqual({ project: 'example.com:legacy-proj', location: 'global' });
  });
});

describe('model paths', () => {
  it('Claude ids (with @ versions) go to the Anthropic publisher, others to Google', () => {
    expect(isClaudeModel('claude-sonnet-4@20250514')).toBe(true);
    expect(isClaudeModel('gemini-2.5-pro')).toBe(false);
    const gcp = { project: 'acme-prod-123', location: 'us-east5' };
    expect(vertexModelPath(gcp, 'claude-sonnet-4@20250514', 'streamRawPredict')).toBe('/projects/acme-prod-123/locations/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514:streamRawPredict');
    expect(vertexModelPath(gcp, 'gemini-2.0-flash-001', 'streamGenerateContent')).toBe('/projects/acme-prod-123/locations/us-east5/publishers/google/models/gemini-2.0-flash-001:streamGenerateContent?alt=sse');
  });

  it('refuses ids with a slash, a colon, a query or a leading dot', () => {
    const gcp = { project: 'acme-prod-123', location: 'us-east5' };
    for (const bad of ['a/b', 'gemini:predict', 'gemini?x=1', '..', '.hidden', '', 'gemini 2', 'gemini#frag', 'x%2F']) {
      expect(codeOf(() => vertexModelPath(gcp, bad, 'generateContent'))).toBe('invalid_model');
    }
  });
});
