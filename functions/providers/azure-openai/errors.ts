import { GatewayError } from '../../upstream/errors.js';
import { mapUpstreamError } from '../openai/errors.js';

type Json = Record<string, unknown>;

/** OpenAI's codes for what Azure names by the HTTP status (`"code": "401"`) or by its own words. */
const CODE_BY_STATUS: Record<number, string> = {
  401: 'invalid_api_key',
  403: 'permission_denied',
  404: 'not_found',
  429: 'rate_limit_exceeded',
};
const CODE_BY_AZURE_CODE: Record<string, string> = {
  DeploymentNotFound: 'model_not_found',
  OperationNotSupported: 'unsupported_endpoint',
  MissingApiVersionParameter: 'invalid_api_version',
  InvalidApiVersion: 'invalid_api_version',
};
/**
 * Azure's refusal of an api-version it does not serve comes as a generic `BadRequest`
 * named only by its message: `"API version not supported"`, or
 * `"Model {modelName} is enabled only for api versions 2024-12-01-preview and later"`.
 */
const API_VERSION_REFUSAL = /API version not supported|enabled only for api versions/i;

/**
 * Azure OpenAI errors → OpenAI-shaped errors. Status handling is OpenAI's (4xx pass
 * through, a 429 keeps `retry-after`/`retry-after-ms` through the caller, 500/502 → 502).
 * Azure's `"type": null` becomes OpenAI's type for the status; numeric codes (`"401"`,
 * `"429"`) and Azure's own codes (`DeploymentNotFound`) become OpenAI's; a `BadRequest`
 * refusing the api-version ("API version not supported") is `invalid_api_version`. A prompt
 * refused by the content filter (`code: "content_filter"`, `innererror.code:
 * "ResponsibleAIPolicyViolation"`) stays a 400 with code `content_filter`; the filtered
 * categories (and their severities) are named in the message.
 */
export function mapAzureError(status: number, bodyText: string): GatewayError {
  const base = mapUpstreamError(status, bodyText, 'azure-openai');
  const err = errorObject(bodyText);
  if (!err) return new GatewayError(base.status, base.message, base.type, base.code ?? CODE_BY_STATUS[status] ?? (status >= 500 ? 'upstream_error' : null), base.param);
  const azureCode = typeof err.code === 'string' ? err.code : typeof err.code === 'number' ? String(err.code) : undefined;
  const inner = (err.innererror ?? err.inner_error) as Json | undefined;
  if (azureCode === 'content_filter' || inner?.code === 'ResponsibleAIPolicyViolation') {
    const categories = filteredCategories(inner?.content_filter_result ?? inner?.content_filter_results);
    const message = `${base.message}${categories.length ? ` [content_filter: ${categories.join(', ')}]` : ''}`;
    return new GatewayError(status, message, base.type, 'content_filter', base.param ?? 'prompt');
  }
  let code = base.code;
  if (azureCode !== undefined) {
    if (/^\d{3}$/.test(azureCode)) code = CODE_BY_STATUS[status] ?? (status >= 500 ? 'upstream_error' : 'invalid_request_error');
    else if (CODE_BY_AZURE_CODE[azureCode]) code = CODE_BY_AZURE_CODE[azureCode];
    else if (azureCode === 'BadRequest' && typeof err.message === 'string' && API_VERSION_REFUSAL.test(err.message)) code = 'invalid_api_version';
  }
  if (code === null) code = CODE_BY_STATUS[status] ?? (status >= 500 ? 'upstream_error' : null);
  return new GatewayError(base.status, base.message, base.type, code, base.param);
}

/** `{ violence: {filtered: true, severity: 'medium'}, jailbreak: {filtered: true, detected: true} }` → `['violence (medium)', 'jailbreak (detected)']`. */
export function filteredCategories(result: unknown): string[] {
  if (!result || typeof result !== 'object') return [];
  const out: string[] = [];
  for (const [name, value] of Object.entries(result as Json)) {
    if (!value || typeof value !== 'object') continue;
    const v = value as Json;
    if (v.filtered !== true) continue;
    const detail = typeof v.severity === 'string' ? v.severity : v.detected === true ? 'detected' : undefined;
    out.push(detail ? `${name} (${detail})` : name);
  }
  return out;
}

function errorObject(text: string): Json | undefined {
  try {
    const json = JSON.parse(text) as Json;
    const err = json.error ?? json;
    return err && typeof err === 'object' ? (err as Json) : undefined;
  } catch {
    return undefined;
  }
}
