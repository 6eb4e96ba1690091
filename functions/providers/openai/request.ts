import type { RequestBody } from '../../gateway/types.js';

/**
 * The request body sent upstream. Unchanged bytes when the gateway changes nothing;
 * re-serialized only when the model name was aliased.
 */
export function translateRequest(body: RequestBody, modelResolved: string | undefined): Buffer {
  if (modelResolved === undefined || modelResolved === body.model) return body.raw;
  return Buffer.from(JSON.stringify({ ...body.json, model: modelResolved }));
}
