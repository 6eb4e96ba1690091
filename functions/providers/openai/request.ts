import type { RequestBody } from '../../upstream/types.js';
import type { Endpoint } from '../../upstream/endpoints.js';

export interface OpenAIUpstreamRequest {
  body: Buffer;
  /** The gateway asked for the usage chunk the client did not request: strip it from the client's stream. */
  stripUsage: boolean;
}

/**
 * The request body sent upstream. Unchanged bytes when the gateway changes nothing;
 * re-serialized when the model name was aliased, or when a stream must carry usage
 * (`stream_options.include_usage`) so spend can be metered.
 */
export function translateRequest(body: RequestBody, modelResolved: string | undefined, endpoint: Endpoint = 'chat.completions'): OpenAIUpstreamRequest {
  const needsUsage = body.stream && !body.includeUsage && (endpoint === 'chat.completions' || endpoint === 'completions');
  const aliased = modelResolved !== undefined && modelResolved !== body.model;
  if (!aliased && !needsUsage) return { body: body.raw, stripUsage: false };
  const json: Record<string, unknown> = { ...body.json };
  if (aliased) json.model = modelResolved;
  if (needsUsage) json.stream_options = { ...((body.json.stream_options as Record<string, unknown> | null | undefined) ?? {}), include_usage: true };
  return { body: Buffer.from(JSON.stringify(json)), stripUsage: needsUsage };
}
