import { badRequest } from '../../upstream/errors.js';
import { geminiHeaders } from '../gemini/api.js';
import type { UpstreamTarget } from '../../upstream/target.js';

/**
 * Vertex AI endpoints. The base URL is regional (`https://{location}-aiplatform.googleapis.com/v1`,
 * `global` → `https://aiplatform.googleapis.com/v1`) and every model path names the
 * project and location. Gemini models are Google publisher models (generateContent);
 * Claude models are Anthropic publisher models (rawPredict, with Messages bodies).
 */

/** The Messages API version Claude on Vertex takes in the body. */
export const VERTEX_ANTHROPIC_VERSION = 'vertex-2023-10-16';

/** A base URL on Google's own Vertex host (any location): recomputed from the request's location. */
const GOOGLE_VERTEX_BASE = /^https:\/\/([a-z0-9-]+-)?aiplatform\.googleapis\.com(\/v1)?\/?$/;

/** Project ids and locations as the X-Sluice-GCP-* headers take them (6 to 30 of [a-z0-9-], starting with a letter; `us-central1`, `global`). */
export const GCP_PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
export const GCP_LOCATION = /^[a-z]+(-[a-z]+\d+)?$/;

export function vertexBaseUrlFor(location: string): string {
  return location === 'global' ? 'https://aiplatform.googleapis.com/v1' : `https://${location}-aiplatform.googleapis.com/v1`;
}

/** Project and location of a Vertex target; a 400 naming what to set when either is missing or malformed. */
export function gcpOf(target: UpstreamTarget): { project: string; location: string } {
  const project = target.gcp?.project;
  const location = target.gcp?.location;
  if (!project) throw badRequest('This Vertex AI upstream has no Google Cloud project: configure the proxy with --gcp-project, or send X-Sluice-GCP-Project where the proxy allows upstream selection.', 'gcp_project_missing');
  if (!location) throw badRequest('This Vertex AI upstream has no Google Cloud location: configure the proxy with --gcp-location, or send X-Sluice-GCP-Location where the proxy allows upstream selection.', 'gcp_location_missing');
  // Project ids: 6-30 of [a-z0-9-]; older projects may carry a domain prefix (`example.com:proj`).
  if (!/^([a-z0-9.-]+:)?[a-z][a-z0-9-]{4,29}$/.test(project)) throw badRequest(`'${project.slice(0, 64)}' is not a Google Cloud project id.`, 'invalid_gcp_project');
  if (!/^[a-z][a-z0-9-]{1,40}$/.test(location)) throw badRequest(`'${location.slice(0, 64)}' is not a Google Cloud location.`, 'invalid_gcp_location');
  return { project, location };
}

/**
 * The base URL calls go to: a configured one that is not Google's own regional host
 * wins (a private endpoint, a test server); Google's host (or none) follows the location.
 */
export function vertexBaseUrl(target: UpstreamTarget, location: string): string {
  const configured = target.baseUrl?.trim();
  if (configured && !GOOGLE_VERTEX_BASE.test(configured)) return configured;
  return vertexBaseUrlFor(location);
}

/** Claude models (`claude-sonnet-4-5`, `claude-sonnet-4@20250514`) are Anthropic's; everything else is Google's. */
export const isClaudeModel = (model: string): boolean => /^claude-/.test(model);

/** Model ids go into the path as they are: letters, digits, `.`, `_`, `-`, `@` (version suffixes), `+` and `=`; nothing that could end or change a path segment. */
function checkedModel(model: string): string {
  if (!/^[A-Za-z0-9_@+=-][A-Za-z0-9._@+=-]{0,199}$/.test(model)) throw badRequest(`'${model.slice(0, 64)}' is not a Vertex AI model id.`, 'invalid_model', 'model');
  return model;
}

export type VertexMethod = 'generateContent' | 'streamGenerateContent' | 'rawPredict' | 'streamRawPredict' | 'predict';

/** `/projects/{p}/locations/{l}/publishers/{google|anthropic}/models/{m}:{method}` (streamGenerateContent asks for SSE). */
export function vertexModelPath(gcp: { project: string; location: string }, model: string, method: VertexMethod): string {
  const publisher = isClaudeModel(model) ? 'anthropic' : 'google';
  const query = method === 'streamGenerateContent' ? '?alt=sse' : '';
  return `/projects/${gcp.project}/locations/${gcp.location}/publishers/${publisher}/models/${checkedModel(model)}:${method}${query}`;
}

/** The count-tokens endpoint for Claude models (the model goes in the body). */
export function vertexAnthropicCountTokensPath(gcp: { project: string; location: string }): string {
  return `/projects/${gcp.project}/locations/${gcp.location}/publishers/anthropic/models/count-tokens:rawPredict`;
}

/** Headers for a Vertex call: the Gemini API's JSON headers, with the OAuth bearer token instead of an API key. */
export function vertexHeaders(accessToken: string, body: Buffer, stream: boolean, extra: Record<string, string> = {}): Record<string, string> {
  return { ...geminiHeaders(undefined, body, stream), ...extra, authorization: `Bearer ${accessToken}` };
}
