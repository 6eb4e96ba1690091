import type { GatewayError } from '../../upstream/errors.js';
import { mapAnthropicError, parseAnthropicError } from '../anthropic/errors.js';
import { mapGeminiError } from '../gemini/errors.js';

/**
 * Vertex AI errors → the OpenAI-shaped error the client gets. Google's platform answers
 * `{"error":{"code","message","status"}}` (sometimes wrapped in a JSON array,
 * `[{"error":{…}}]`) for either model family; Claude models also answer model-level
 * errors with Anthropic's own `{"type":"error","error":{"type","message"}}`.
 */

/** Whether the body is Google's error (bare or in an array): `error` with a `status` or `code`. */
export function isGoogleErrorBody(bodyText: string): boolean {
  let json: unknown;
  try {
    json = JSON.parse(bodyText);
  } catch {
    return false;
  }
  if (Array.isArray(json)) json = json[0];
  const err = (json as { error?: unknown } | null | undefined)?.error;
  if (!err || typeof err !== 'object' || Array.isArray(err)) return false;
  const e = err as Record<string, unknown>;
  return typeof e.status === 'string' || typeof e.code === 'number';
}

/** Whether a Vertex error body is Anthropic's own (passed through as it is on the native Anthropic ingress). */
export function isAnthropicErrorBody(bodyText: string): boolean {
  return !isGoogleErrorBody(bodyText) && parseAnthropicError(bodyText).type !== undefined;
}

/**
 * An HTTP error from Vertex, either model family: Anthropic's own body as on Anthropic;
 * Google's (bare or in an array) and anything else as the Gemini API's errors are mapped.
 */
export function mapVertexError(status: number, bodyText: string, headers: Record<string, string> = {}): GatewayError {
  if (isAnthropicErrorBody(bodyText)) return mapAnthropicError(status, bodyText, headers);
  return mapGeminiError(status, bodyText, headers);
}
