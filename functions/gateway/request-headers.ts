import { AZURE_API_VERSION, AZURE_DEPLOYMENT, AZURE_RESOURCE } from '../providers/azure-openai/api.js';
import { GCP_LOCATION, GCP_PROJECT } from '../providers/vertex/api.js';
import { parseCallerAwsHeaders, type CallerAwsCredentials } from '../upstream/aws-credentials.js';
import { badRequest } from '../upstream/errors.js';

/**
 * The X-Sluice-* request headers the gateway reads (DESIGN.md, "Request headers"),
 * validated once by the envelope before any plugin runs. A malformed header is a 400
 * naming the header in `param`; values are never echoed (a client may misplace a secret).
 *
 * Headers arrive as a Function URL event gives them: names lower-cased, a repeated
 * header joined with commas — so a repeated id header is malformed, not "the first one".
 */
export interface SluiceRequestHeaders {
  sessionId?: string;
  parentTraceId?: string;
  flowId?: string;
  sessionPath?: string;
  /** Trace tags from X-Sluice-Property-<key>, keys lower-cased. */
  properties: Record<string, string>;
  /** Raw upstream choice; the routing plugin decides whether the proxy allows it and SSRF-checks URLs. */
  upstream?: string;
  /** X-Sluice-Azure-Resource / -Deployment / -Api-Version (format-checked here, applied by upstream selection). */
  azureResource?: string;
  azureDeployment?: string;
  azureApiVersion?: string;
  /** X-Sluice-GCP-Project / -Location (for the `vertex` upstream). */
  gcpProject?: string;
  gcpLocation?: string;
  approvalId?: string;
  /**
   * The caller's own AWS credentials (X-Sluice-AWS-*), for a Bedrock upstream that takes
   * them; the auth plugin decides whether this proxy does. Never logged or traced.
   */
  callerAws?: CallerAwsCredentials;
}

/** The headers that choose or shape the upstream: all refused (403) on a proxy without upstream selection. */
export const UPSTREAM_SELECTION_HEADERS: ReadonlyArray<readonly [string, 'upstream' | FormattedField]> = [
  ['x-sluice-upstream', 'upstream'],
  ['x-sluice-azure-resource', 'azureResource'],
  ['x-sluice-azure-deployment', 'azureDeployment'],
  ['x-sluice-azure-api-version', 'azureApiVersion'],
  ['x-sluice-gcp-project', 'gcpProject'],
  ['x-sluice-gcp-location', 'gcpLocation'],
];

export const PROPERTY_PREFIX = 'x-sluice-property-';
export const MAX_PROPERTIES = 20;
export const MAX_PROPERTY_KEY_LENGTH = 64;
export const MAX_PROPERTY_VALUE_LENGTH = 512;
export const MAX_SESSION_PATH_LENGTH = 512;
export const MAX_UPSTREAM_LENGTH = 2048;
/** Property keys with this prefix are written by the policy stage only. */
export const RESERVED_PROPERTY_PREFIX = 'policy_';

const SESSION_ID = 'x-sluice-session-id';
const PARENT_TRACE_ID = 'x-sluice-parent-trace-id';
const FLOW_ID = 'x-sluice-trace-flow-id';
const SESSION_PATH = 'x-sluice-session-path';
const UPSTREAM = 'x-sluice-upstream';
const APPROVAL_ID = 'x-sluice-approval-id';

type FormattedField = 'azureResource' | 'azureDeployment' | 'azureApiVersion' | 'gcpProject' | 'gcpLocation';

/** Headers checked against a format, the field each fills, and the format (values are never echoed in the 400). */
const FORMATTED = new Map<string, { field: FormattedField; pattern: RegExp; describe: string }>([
  ['x-sluice-azure-resource', { field: 'azureResource', pattern: AZURE_RESOURCE, describe: 'an Azure resource name (2 to 64 lower-case letters, digits or "-")' }],
  ['x-sluice-azure-deployment', { field: 'azureDeployment', pattern: AZURE_DEPLOYMENT, describe: 'an Azure deployment name (1 to 64 letters, digits, ".", "_" or "-")' }],
  ['x-sluice-azure-api-version', { field: 'azureApiVersion', pattern: AZURE_API_VERSION, describe: 'an Azure api-version (YYYY-MM-DD or YYYY-MM-DD-preview)' }],
  ['x-sluice-gcp-project', { field: 'gcpProject', pattern: GCP_PROJECT, describe: 'a Google Cloud project id (6 to 30 lower-case letters, digits or "-", starting with a letter)' }],
  ['x-sluice-gcp-location', { field: 'gcpLocation', pattern: GCP_LOCATION, describe: 'a Google Cloud location (e.g. us-central1, europe-west4, global)' }],
]);

export function parseSluiceHeaders(headers: Record<string, string | undefined>): SluiceRequestHeaders {
  const result: SluiceRequestHeaders = { properties: {} };
  let propertyCount = 0;
  for (const name in headers) {
    // Everything we read starts with "x-sluice-"; skip the rest with one cheap test.
    if (name.length < 9 || name.charCodeAt(0) !== 0x78 /* x */ || !name.startsWith('x-sluice-')) continue;
    const value = headers[name];
    if (value === undefined) continue;
    switch (name) {
      case SESSION_ID:
        result.sessionId = uuidHeader(name, value);
        break;
      case PARENT_TRACE_ID:
        result.parentTraceId = uuidHeader(name, value);
        break;
      case FLOW_ID:
        result.flowId = uuidHeader(name, value);
        break;
      case APPROVAL_ID:
        result.approvalId = uuidHeader(name, value);
        break;
      case SESSION_PATH:
        result.sessionPath = sessionPathHeader(value);
        break;
      case UPSTREAM:
        result.upstream = upstreamHeader(value);
        break;
      default: {
        const format = FORMATTED.get(name);
        if (format) result[format.field] = formatted(name, value, format);
        else if (name.startsWith(PROPERTY_PREFIX)) {
          if (++propertyCount > MAX_PROPERTIES) {
            throw badRequest(`At most ${MAX_PROPERTIES} X-Sluice-Property-* headers are allowed per request.`, 'invalid_header', name);
          }
          setProperty(result.properties, propertyKey(name), propertyValue(name, value));
        }
        // Other x-sluice-* names (x-sluice-key is read by auth) are not ours to judge.
      }
    }
  }
  const callerAws = parseCallerAwsHeaders(headers);
  if (callerAws) result.callerAws = callerAws;
  return result;
}

/**
 * The client's X-Sluice-Session-Id when it is a valid UUID (lower-cased), else undefined.
 * For answering a request whose other headers are malformed: the 400 still carries the
 * client's own session id.
 */
export function validSessionId(headers: Record<string, string | undefined>): string | undefined {
  const value = headers[SESSION_ID];
  if (value === undefined) return undefined;
  const id = value.trim();
  return isUuid(id) ? id.toLowerCase() : undefined;
}

/** Canonical 8-4-4-4-12 hex UUID text, any version or variant, either case. */
export function isUuid(value: string): boolean {
  if (value.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = value.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 0x2d /* - */) return false;
      continue;
    }
    const lower = c | 0x20;
    if (!((c >= 0x30 && c <= 0x39) || (lower >= 0x61 && lower <= 0x66))) return false;
  }
  return true;
}

function uuidHeader(name: string, value: string): string {
  const id = value.trim();
  if (isUuid(id)) return id.toLowerCase();
  const repeated = id.includes(',') ? ' (it was sent more than once)' : '';
  throw badRequest(
    `Header ${name} must be a UUID (8-4-4-4-12 hexadecimal digits)${repeated}.`,
    'invalid_header',
    name,
  );
}

/**
 * Session paths group a session's traces into a tree (`/research/outline`), so they are
 * absolute: they must start with "/". A relative path would be ambiguous about its parent,
 * and requiring the slash now is easier to relax later than to impose. At most 512
 * characters, no control characters, and no comma (a comma means the header was repeated).
 */
function sessionPathHeader(value: string): string {
  const path = value.trim();
  if (path.length === 0 || path.charCodeAt(0) !== 0x2f /* / */) {
    throw badRequest(`Header ${SESSION_PATH} must start with "/" (e.g. /research/outline).`, 'invalid_header', SESSION_PATH);
  }
  if (path.length > MAX_SESSION_PATH_LENGTH) {
    throw badRequest(`Header ${SESSION_PATH} must be at most ${MAX_SESSION_PATH_LENGTH} characters.`, 'invalid_header', SESSION_PATH);
  }
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) {
      throw badRequest(`Header ${SESSION_PATH} must not contain control characters.`, 'invalid_header', SESSION_PATH);
    }
    if (c === 0x2c /* , */) {
      throw badRequest(`Header ${SESSION_PATH} must be sent once and contain no comma.`, 'invalid_header', SESSION_PATH);
    }
  }
  return path;
}

/** A named upstream or a base URL; neither contains a comma, so one means the header was repeated. */
function upstreamHeader(value: string): string {
  const upstream = value.trim();
  if (upstream.length === 0) throw badRequest(`Header ${UPSTREAM} must not be empty.`, 'invalid_header', UPSTREAM);
  if (upstream.length > MAX_UPSTREAM_LENGTH) {
    throw badRequest(`Header ${UPSTREAM} must be at most ${MAX_UPSTREAM_LENGTH} characters.`, 'invalid_header', UPSTREAM);
  }
  if (upstream.includes(',')) {
    throw badRequest(`Header ${UPSTREAM} must be sent once and name one upstream.`, 'invalid_header', UPSTREAM);
  }
  return upstream;
}

function formatted(name: string, value: string, format: { pattern: RegExp; describe: string }): string {
  const v = value.trim();
  if (!format.pattern.test(v)) {
    const repeated = v.includes(',') ? ' (it was sent more than once)' : '';
    throw badRequest(`Header ${name} must be ${format.describe}${repeated}.`, 'invalid_header', name);
  }
  return v;
}

/** "__proto__" is a valid key: define it as data instead of letting the assignment set the prototype. */
function setProperty(properties: Record<string, string>, key: string, value: string): void {
  if (key === '__proto__') Object.defineProperty(properties, key, { value, enumerable: true, writable: true, configurable: true });
  else properties[key] = value;
}

function propertyKey(name: string): string {
  const key = name.slice(PROPERTY_PREFIX.length).toLowerCase();
  if (key.length === 0 || key.length > MAX_PROPERTY_KEY_LENGTH) {
    throw badRequest(
      `Property header ${name}: the key after X-Sluice-Property- must be 1 to ${MAX_PROPERTY_KEY_LENGTH} characters.`,
      'invalid_header',
      name,
    );
  }
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f /* _ */ || c === 0x2d; /* - */
    if (!ok) {
      throw badRequest(
        `Property header ${name}: the key may contain only letters, digits, "_" and "-".`,
        'invalid_header',
        name,
      );
    }
  }
  if (key.startsWith(RESERVED_PROPERTY_PREFIX)) {
    throw badRequest(
      `Property header ${name}: keys starting with "${RESERVED_PROPERTY_PREFIX}" are reserved for policy decisions.`,
      'invalid_header',
      name,
    );
  }
  return key;
}

function propertyValue(name: string, value: string): string {
  if (value.length > MAX_PROPERTY_VALUE_LENGTH) {
    throw badRequest(
      `Property header ${name}: the value must be at most ${MAX_PROPERTY_VALUE_LENGTH} characters.`,
      'invalid_header',
      name,
    );
  }
  return value;
}
