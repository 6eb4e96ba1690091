import type { GatewayError } from '../upstream/errors.js';
import type { Route } from '../upstream/endpoints.js';
import { anthropicErrorBody } from './anthropic/errors.js';
import { bedrockErrorResponse } from './bedrock/errors.js';

/**
 * The error body in the format the client speaks: OpenAI-shaped by default, Anthropic's
 * `{"type":"error","error":{type,message}}` on the Anthropic ingress (an Anthropic
 * upstream's own error body passes through unchanged), Bedrock's `{"message"}` with
 * `x-amzn-errortype` on the Converse ingress.
 */
export function errorResponseFor(route: Route | undefined, error: GatewayError): { body: string; headers: Record<string, string> } {
  const ingress = route?.kind === 'openai' ? route.ingress : 'openai';
  if (ingress === 'anthropic') {
    const passthrough = (error as { bodyText?: unknown }).bodyText;
    if (typeof passthrough === 'string' && passthrough.includes('"error"')) return { body: passthrough, headers: {} };
    return { body: JSON.stringify(anthropicErrorBody(error)), headers: {} };
  }
  if (ingress === 'bedrock') return bedrockErrorResponse(error);
  return { body: JSON.stringify(error.toBody()), headers: {} };
}
