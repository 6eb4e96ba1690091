import { badRequest, payloadTooLarge } from '../upstream/errors.js';
import type { Endpoint } from './routes.js';
import type { RequestBody } from './types.js';

/** Function URLs refuse bodies over 6 MB; the local runtime and the handler enforce the same. */
export const MAX_BODY_BYTES = 6 * 1024 * 1024;

/** Decodes the event body, checking its size before anything parses it. */
export function decodeEventBody(body: string | undefined, isBase64Encoded: boolean): Buffer {
  if (body === undefined || body === '') return Buffer.alloc(0);
  // base64 is 4/3 of the bytes: refuse before decoding a body that cannot fit.
  const approxBytes = isBase64Encoded ? Math.floor((body.length * 3) / 4) : Buffer.byteLength(body);
  if (approxBytes > MAX_BODY_BYTES + 3) throw tooLarge();
  const raw = isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
  if (raw.length > MAX_BODY_BYTES) throw tooLarge();
  return raw;
}

const tooLarge = () => payloadTooLarge(`Request body exceeds the ${MAX_BODY_BYTES} byte limit.`);

type FieldType = 'string' | 'boolean' | 'number' | 'array' | 'object' | 'string|array';

interface FieldRule {
  type: FieldType;
  required?: boolean;
}

/**
 * The fields the gateway reads, per endpoint. Only these are type-checked; every
 * other field passes through untouched so new OpenAI parameters keep working.
 */
const FIELDS: Record<Exclude<Endpoint, 'models'>, Record<string, FieldRule>> = {
  // Native Anthropic Messages: the fields the gateway reads (model, stream for the response format).
  'anthropic.messages': {
    model: { type: 'string', required: true },
    messages: { type: 'array', required: true },
    max_tokens: { type: 'number', required: true },
    stream: { type: 'boolean' },
    tools: { type: 'array' },
  },
  'anthropic.count_tokens': {
    model: { type: 'string', required: true },
    messages: { type: 'array', required: true },
    tools: { type: 'array' },
  },
  // Native Converse: the model id comes from the path; the body carries the conversation.
  'bedrock.converse': {
    messages: { type: 'array' },
    system: { type: 'array' },
    inferenceConfig: { type: 'object' },
    toolConfig: { type: 'object' },
  },
  'bedrock.converse-stream': {
    messages: { type: 'array' },
    system: { type: 'array' },
    inferenceConfig: { type: 'object' },
    toolConfig: { type: 'object' },
  },
  'chat.completions': {
    model: { type: 'string', required: true },
    messages: { type: 'array', required: true },
    stream: { type: 'boolean' },
    stream_options: { type: 'object' },
    tools: { type: 'array' },
    user: { type: 'string' },
  },
  responses: {
    model: { type: 'string', required: true },
    input: { type: 'string|array' },
    stream: { type: 'boolean' },
    tools: { type: 'array' },
    previous_response_id: { type: 'string' },
    user: { type: 'string' },
  },
  embeddings: {
    model: { type: 'string', required: true },
    input: { type: 'string|array', required: true },
    user: { type: 'string' },
  },
  completions: {
    model: { type: 'string', required: true },
    prompt: { type: 'string|array' },
    stream: { type: 'boolean' },
    stream_options: { type: 'object' },
    user: { type: 'string' },
  },
};

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function matches(value: unknown, type: FieldType): boolean {
  const t = typeOf(value);
  return type === 'string|array' ? t === 'string' || t === 'array' : t === type;
}

/** Parses and validates a JSON request body for an OpenAI endpoint. */
export function parseRequestBody(endpoint: Exclude<Endpoint, 'models'>, raw: Buffer): RequestBody {
  if (raw.length === 0) throw badRequest('Request body is empty; expected a JSON object.', 'invalid_json');
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw badRequest(`Request body is not valid JSON: ${(err as Error).message}`, 'invalid_json');
  }
  if (typeOf(json) !== 'object') throw badRequest('Request body must be a JSON object.', 'invalid_json');
  const obj = json as Record<string, unknown>;
  for (const [field, rule] of Object.entries(FIELDS[endpoint])) {
    const value = obj[field];
    if (value === undefined || (value === null && !rule.required)) {
      if (rule.required) throw badRequest(`Missing required parameter: '${field}'.`, 'missing_required_parameter', field);
      continue;
    }
    if (!matches(value, rule.type)) {
      const want = rule.type === 'string|array' ? 'a string or an array' : `a ${rule.type === 'array' || rule.type === 'object' ? rule.type : rule.type}`;
      throw badRequest(`Invalid type for '${field}': expected ${want}, but got ${typeOf(value)}.`, 'invalid_type', field);
    }
  }
  const streamOptions = obj.stream_options as Record<string, unknown> | undefined | null;
  if (streamOptions && streamOptions.include_usage !== undefined && typeof streamOptions.include_usage !== 'boolean') {
    throw badRequest(
      `Invalid type for 'stream_options.include_usage': expected a boolean, but got ${typeOf(streamOptions.include_usage)}.`,
      'invalid_type',
      'stream_options.include_usage',
    );
  }
  if (endpoint === 'chat.completions' || endpoint === 'anthropic.messages' || endpoint === 'anthropic.count_tokens') {
    (obj.messages as unknown[]).forEach((m, i) => {
      if (typeOf(m) !== 'object') throw badRequest(`Invalid type for 'messages[${i}]': expected an object, but got ${typeOf(m)}.`, 'invalid_type', `messages[${i}]`);
    });
  }
  const body: RequestBody = {
    json: obj,
    raw,
    stream: obj.stream === true || endpoint === 'bedrock.converse-stream',
    includeUsage: streamOptions?.include_usage === true,
  };
  if (typeof obj.model === 'string') body.model = obj.model;
  if (typeof obj.user === 'string') body.user = obj.user;
  return body;
}
