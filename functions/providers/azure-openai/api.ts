import type { OpenAIEndpoint } from '../../upstream/endpoints.js';
import { upstreamHeaders } from '../openai/api.js';

/**
 * Azure OpenAI: the OpenAI wire format behind a per-resource host and deployment-scoped
 * paths. The base URL is the resource's `https://{resource}.openai.azure.com/openai`;
 * chat, completions and embeddings go to `/deployments/{deployment}/…?api-version=…`;
 * the key travels in `api-key` (never `Authorization`). Bodies are OpenAI's, unchanged.
 */

/** The latest GA data-plane version of the deployment-scoped API (used when none is configured or requested). */
export const AZURE_DEFAULT_API_VERSION = '2024-10-21';

/** Resource names as the headers and the CLI accept them (Azure's custom subdomain rules, lower case). */
export const AZURE_RESOURCE = /^[a-z0-9-]{2,64}$/;
/** Deployment names: letters, digits, `-`, `_`, `.`, at most 64 characters (Azure's limit). */
export const AZURE_DEPLOYMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** `2024-10-21`, `2025-04-01-preview`. */
export const AZURE_API_VERSION = /^\d{4}-\d{2}-\d{2}(-preview)?$/;

export function azureBaseUrl(resource: string): string {
  return `https://${resource}.openai.azure.com/openai`;
}

/**
 * The path after the `/openai` base. The Responses API is not deployment-scoped on Azure:
 * it is served by the v1 surface (`/openai/v1/responses`, GA, no api-version) with the
 * deployment name as the body's `model`, as Microsoft documents it.
 */
export function azurePath(endpoint: OpenAIEndpoint, deployment: string | undefined, apiVersion: string): string {
  const query = `?api-version=${encodeURIComponent(apiVersion)}`;
  if (endpoint === 'responses') return '/v1/responses';
  if (endpoint === 'models') return `/models${query}`;
  if (deployment === undefined) throw new Error('unreachable: a deployment-scoped Azure call without a model');
  const scoped = `/deployments/${encodeURIComponent(deployment)}`;
  if (endpoint === 'chat.completions') return `${scoped}/chat/completions${query}`;
  if (endpoint === 'completions') return `${scoped}/completions${query}`;
  return `${scoped}/embeddings${query}`;
}

/** OpenAI's forwarded headers, with the key in `api-key` instead of a bearer token. */
export function azureHeaders(clientHeaders: Record<string, string>, credential: string | undefined, body: Buffer | undefined): Record<string, string> {
  const headers = upstreamHeaders(clientHeaders, undefined, body);
  if (credential) headers['api-key'] = credential;
  return headers;
}
