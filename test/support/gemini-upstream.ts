/**
 * A wire-faithful Gemini API (Google AI Studio) upstream for tests.
 *
 * | route | answer |
 * |---|---|
 * | `POST /v1beta/models/{model}:generateContent` | a GenerateContentResponse |
 * | `POST /v1beta/models/{model}:streamGenerateContent?alt=sse` | `data: {GenerateContentResponse}\r\n\r\n` per chunk, no terminal event: the body simply ends (without `alt=sse`: one JSON array, as Gemini does) |
 * | `POST /v1beta/models/{model}:batchEmbedContents` | `{embeddings: [{values}]}` |
 *
 * It checks what Gemini checks and a translator can get wrong: the `x-goog-api-key`
 * header (a wrong key: 400 INVALID_ARGUMENT with reason API_KEY_INVALID; none: 403),
 * unknown fields anywhere in the body (Gemini's "Invalid JSON payload received. Unknown
 * name" 400 — which is what an unsanitized JSON Schema keyword such as `$ref`,
 * `additionalProperties` or `exclusiveMinimum` gets), schema types and formats, string-only
 * enums, `required` naming declared properties, roles `user`/`model`, empty text parts,
 * one functionResponse per functionCall of the previous model turn, temperature in
 * [0, 2], toolConfig modes, thinking per model (`thinkingLevel` only on Gemini 3+ and only
 * the levels the model has, no `thinkingBudget: 0` on Pro models). Errors are `{"error":{"code","message","status"}}`.
 *
 * Behaviour is chosen by `+` suffixes on the model name: `gemini-2.5-flash+tools+ids`.
 * Suffixes: `tools` (one functionCall per offered function, up to 2, each in its own
 * stream chunk), `ids` (functionCall parts carry an `id`), `text-tool` (text before the
 * calls), `thoughts` (a thought part, a thoughtSignature on the first call and
 * thoughtsTokenCount 12), `cache` (cachedContentTokenCount 100, inside promptTokenCount),
 * `safety` / `recitation` / `prohibited` (some text, then finishReason SAFETY /
 * RECITATION / PROHIBITED_CONTENT), `prompt-block` (promptFeedback.blockReason SAFETY, no
 * candidates), `max` (finishReason MAX_TOKENS), `error=<status>` (429 with RetryInfo 7s,
 * 400 — with `context` a token-limit message —, 403, 404, 500, 503), `stream-error=<n>`
 * (an error payload after n chunks), `cut=<n>` (socket destroyed after n chunks),
 * `no-finish` (the stream ends cleanly without a finishReason), `slow` (20 ms between chunks).
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { scenarioOf as modelScenario } from './anthropic-upstream.js';
import { listenLocal, readBody, upstreamHandle } from './local-server.js';
import { countTokens, embeddingFor, replyTo, splitIntoTokens } from './upstream/content.js';

export { replyTo } from './upstream/content.js';

type Json = Record<string, unknown>;

export interface GeminiRecordedRequest {
  method: string;
  path: string;
  query: string;
  headers: IncomingHttpHeaders;
  body: Json | undefined;
}

export interface GeminiUpstream {
  /** Base URL ending in /v1beta. */
  readonly url: string;
  readonly requests: GeminiRecordedRequest[];
  reset(): void;
  close(): Promise<void>;
}

export type GeminiCallMethod = 'generateContent' | 'streamGenerateContent' | 'batchEmbedContents';

const STATUS_NAMES: Record<number, string> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED' };

export const googleError = (code: number, message: string, details?: Json[]) => ({ error: { code, message, status: STATUS_NAMES[code] ?? 'UNKNOWN', ...(details ? { details } : {}) } });

class InvalidRequest extends Error {}
const check = (cond: unknown, message: string): void => {
  if (!cond) throw new InvalidRequest(message);
};
const unknownName = (where: string, name: string) => `Invalid JSON payload received. Unknown name "${name}" at '${where}': Cannot find field.`;
const onlyKeys = (o: Json, allowed: readonly string[], where: string) => {
  for (const k of Object.keys(o)) check(allowed.includes(k), unknownName(where, k));
};

const REQUEST_KEYS = ['contents', 'systemInstruction', 'tools', 'toolConfig', 'generationConfig', 'safetySettings', 'cachedContent'];
const GENERATION_KEYS = ['maxOutputTokens', 'temperature', 'topP', 'topK', 'stopSequences', 'candidateCount', 'presencePenalty', 'frequencyPenalty', 'seed', 'responseMimeType', 'responseSchema', 'thinkingConfig', 'responseLogprobs', 'logprobs'];
const PART_KEYS = ['text', 'inlineData', 'fileData', 'functionCall', 'functionResponse', 'thought', 'thoughtSignature'];
const SCHEMA_KEYS = ['type', 'format', 'title', 'description', 'nullable', 'enum', 'maxItems', 'minItems', 'properties', 'required', 'minProperties', 'maxProperties', 'minLength', 'maxLength', 'pattern', 'example', 'anyOf', 'propertyOrdering', 'default', 'items', 'minimum', 'maximum'];
const SCHEMA_TYPES = ['STRING', 'NUMBER', 'INTEGER', 'BOOLEAN', 'ARRAY', 'OBJECT'];
const FORMATS: Record<string, string[]> = { STRING: ['enum', 'date-time'], NUMBER: ['float', 'double'], INTEGER: ['int32', 'int64'] };

/** Validates a Gemini `Schema` the way the API does (OpenAPI subset; unknown keywords are a 400). */
export function validateSchema(s: unknown, where: string): void {
  check(s && typeof s === 'object' && !Array.isArray(s), `${where}: a schema must be an object`);
  const o = s as Json;
  onlyKeys(o, SCHEMA_KEYS, where);
  const type = typeof o.type === 'string' ? o.type.toUpperCase() : undefined;
  if (o.type !== undefined) check(type && SCHEMA_TYPES.includes(type), `${where}.type: Invalid value ${JSON.stringify(o.type)}`);
  if (o.format !== undefined) check(type && FORMATS[type]?.includes(String(o.format)), `${where}.format: unsupported format ${JSON.stringify(o.format)} for type ${type}`);
  if (o.enum !== undefined) check(Array.isArray(o.enum) && o.enum.every((v) => typeof v === 'string') && (type === 'STRING' || type === undefined), `${where}.enum: only allowed for STRING type`);
  if (o.properties !== undefined) {
    check(typeof o.properties === 'object', `${where}.properties: must be an object`);
    for (const [k, v] of Object.entries(o.properties as Json)) validateSchema(v, `${where}.properties[${k}]`);
  }
  if (o.required !== undefined) {
    check(Array.isArray(o.required), `${where}.required: must be a list`);
    for (const r of o.required as unknown[]) check(o.properties && String(r) in (o.properties as Json), `${where}.required: property is not defined: ${String(r)}`);
  }
  if (o.items !== undefined) validateSchema(o.items, `${where}.items`);
  if (o.anyOf !== undefined) (o.anyOf as unknown[]).forEach((b, i) => validateSchema(b, `${where}.anyOf[${i}]`));
  for (const k of ['minimum', 'maximum']) if (o[k] !== undefined) check(typeof o[k] === 'number', `${where}.${k}: must be a number`);
}

/**
 * Thinking as Google's thinking guide documents it per model (written out here, not taken
 * from the code under test): Gemini 3+ models take `thinkingLevel` — Gemini 3 Pro low and
 * high, Gemini 3.1 Pro low, medium and high, Gemini 3 Flash (and later models this table
 * does not name) minimal, low, medium and high — and 2.5 models do not; Pro models cannot
 * turn thinking off (`thinkingBudget: 0`).
 */
function thinkingLevels(model: string): string[] | undefined {
  const m = /^gemini-(\d+)(?:\.\d+)?-/.exec(model);
  if (!m || Number(m[1]) < 3) return undefined;
  if (/^gemini-3-pro(-|$)/.test(model)) return ['LOW', 'HIGH'];
  if (/^gemini-3\.1-pro(-|$)/.test(model)) return ['LOW', 'MEDIUM', 'HIGH'];
  return ['MINIMAL', 'LOW', 'MEDIUM', 'HIGH'];
}

function validateThinking(t: Json, model: string): void {
  onlyKeys(t, ['thinkingBudget', 'thinkingLevel', 'includeThoughts'], 'generation_config.thinking_config');
  // Gemini 3's thinkingLevel and the older thinkingBudget are mutually exclusive.
  check(t.thinkingBudget === undefined || t.thinkingLevel === undefined, 'generation_config.thinking_config: thinking_budget and thinking_level cannot both be set');
  if (t.thinkingLevel !== undefined) {
    const level = String(t.thinkingLevel).toUpperCase();
    check(['MINIMAL', 'LOW', 'MEDIUM', 'HIGH'].includes(level), `Invalid value at 'generation_config.thinking_config.thinking_level' (type.googleapis.com/google.ai.generativelanguage.v1beta.ThinkingConfig.ThinkingLevel), ${JSON.stringify(t.thinkingLevel)}`);
    const levels = thinkingLevels(model);
    check(levels !== undefined, 'Thinking level is not supported for this model.');
    check(levels!.includes(level), `Thinking level ${level} is not supported for this model. Please retry with other thinking level`);
  }
  if (t.thinkingBudget === 0) check(!/^gemini-[\d.]+-pro(-|$)/.test(model), 'Budget 0 is invalid. This model only works in thinking mode.');
}

/** Validates a generateContent body the way the API does for the fields translators write. */
export function validateGenerate(body: Json, model = ''): void {
  onlyKeys(body, REQUEST_KEYS, '');
  check(Array.isArray(body.contents) && body.contents.length > 0, '* GenerateContentRequest.contents: contents is not specified');
  if (body.systemInstruction !== undefined) {
    const parts = (body.systemInstruction as Json).parts;
    check(Array.isArray(parts) && parts.length > 0 && parts.every((p) => typeof (p as Json).text === 'string'), 'systemInstruction: parts must be text');
  }
  let previousCalls = 0;
  (body.contents as Json[]).forEach((c, i) => {
    onlyKeys(c, ['role', 'parts'], `contents[${i}]`);
    check(c.role === 'user' || c.role === 'model', `Please use a valid role: user, model. (contents[${i}].role ${JSON.stringify(c.role)})`);
    check(Array.isArray(c.parts) && c.parts.length > 0, `* GenerateContentRequest.contents[${i}].parts: contents.parts must not be empty.`);
    const parts = c.parts as Json[];
    parts.forEach((p, j) => {
      onlyKeys(p, PART_KEYS, `contents[${i}].parts[${j}]`);
      const data = ['text', 'inlineData', 'fileData', 'functionCall', 'functionResponse'].filter((k) => p[k] !== undefined);
      check(data.length === 1, `contents[${i}].parts[${j}]: a part must hold exactly one of text, inlineData, fileData, functionCall, functionResponse`);
      if (p.text !== undefined) check(typeof p.text === 'string' && p.text !== '', 'Unable to submit request because it has an empty text parameter. Add a value to the parameter and try again.');
      if (p.inlineData !== undefined) check(typeof (p.inlineData as Json).mimeType === 'string' && typeof (p.inlineData as Json).data === 'string', `contents[${i}].parts[${j}].inlineData: mimeType and data required`);
      if (p.functionCall !== undefined) {
        check(c.role === 'model', `contents[${i}]: functionCall parts belong to model turns`);
        const fc = p.functionCall as Json;
        onlyKeys(fc, ['id', 'name', 'args'], `contents[${i}].parts[${j}].function_call`);
        check(typeof fc.name === 'string' && fc.name !== '', `contents[${i}].parts[${j}].function_call.name: required`);
        check(fc.args === undefined || (typeof fc.args === 'object' && !Array.isArray(fc.args)), `contents[${i}].parts[${j}].function_call.args: must be a Struct`);
      }
      if (p.functionResponse !== undefined) {
        check(c.role === 'user', `contents[${i}]: functionResponse parts belong to user turns`);
        const fr = p.functionResponse as Json;
        onlyKeys(fr, ['id', 'name', 'response'], `contents[${i}].parts[${j}].function_response`);
        check(typeof fr.name === 'string' && fr.name !== '', `contents[${i}].parts[${j}].function_response.name: required`);
        check(fr.response && typeof fr.response === 'object' && !Array.isArray(fr.response), `contents[${i}].parts[${j}].function_response.response: must be a Struct`);
      }
    });
    const responses = parts.filter((p) => p.functionResponse !== undefined).length;
    if (previousCalls > 0 || responses > 0) {
      check(responses === previousCalls, 'Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.');
    }
    previousCalls = c.role === 'model' ? parts.filter((p) => p.functionCall !== undefined).length : 0;
  });
  const names = new Set<string>();
  if (body.tools !== undefined) {
    check(Array.isArray(body.tools), 'tools: must be a list');
    (body.tools as Json[]).forEach((t, i) => {
      onlyKeys(t, ['functionDeclarations', 'googleSearch', 'codeExecution'], `tools[${i}]`);
      ((t.functionDeclarations as Json[] | undefined) ?? []).forEach((d, j) => {
        const where = `tools[${i}].function_declarations[${j}]`;
        onlyKeys(d, ['name', 'description', 'parameters', 'parametersJsonSchema', 'response'], where);
        check(typeof d.name === 'string' && /^[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}$/.test(d.name), `${where}.name: Invalid function name`);
        names.add(String(d.name));
        if (d.parameters !== undefined) {
          validateSchema(d.parameters, `${where}.parameters`);
          const p = d.parameters as Json;
          if (String(p.type).toUpperCase() === 'OBJECT') check(p.properties && Object.keys(p.properties as Json).length > 0, `${where}.parameters.properties: should be non-empty for OBJECT type`);
        }
      });
    });
  }
  if (body.toolConfig !== undefined) {
    const fcc = (body.toolConfig as Json).functionCallingConfig as Json;
    onlyKeys(fcc, ['mode', 'allowedFunctionNames'], 'tool_config.function_calling_config');
    check(['AUTO', 'ANY', 'NONE', 'VALIDATED'].includes(String(fcc.mode)), `tool_config.function_calling_config.mode: Invalid value ${JSON.stringify(fcc.mode)}`);
    if (fcc.allowedFunctionNames !== undefined) {
      check(fcc.mode === 'ANY' || fcc.mode === 'VALIDATED', 'allowed_function_names may be set only when the mode is ANY or VALIDATED');
      for (const n of fcc.allowedFunctionNames as string[]) check(names.has(n), `allowed_function_names: ${n} is not a declared function`);
    }
  }
  if (body.generationConfig !== undefined) {
    const g = body.generationConfig as Json;
    onlyKeys(g, GENERATION_KEYS, 'generation_config');
    if (g.temperature !== undefined) check(typeof g.temperature === 'number' && g.temperature >= 0 && g.temperature <= 2, 'generation_config.temperature: must be in [0.0, 2.0]');
    if (g.responseSchema !== undefined) {
      check(g.responseMimeType === 'application/json', 'response_schema requires response_mime_type application/json');
      validateSchema(g.responseSchema, 'generation_config.response_schema');
    }
    if (g.thinkingConfig !== undefined) validateThinking(g.thinkingConfig as Json, model);
  }
}

interface Scenario {
  flags: Set<string>;
  params: Map<string, string>;
}

/** The `+flag` and `+name=value` suffixes of the model, as the Anthropic test upstream reads them. */
export function scenarioOf(model: string): Scenario {
  const { scenario: flags, params } = modelScenario(model);
  return { flags, params };
}

function partsText(parts: Json[]): string {
  return parts.map((p) => (typeof p.text === 'string' ? p.text : p.functionResponse ? JSON.stringify((p.functionResponse as Json).response) : '')).filter(Boolean).join(' ');
}

function lastUserPrompt(contents: Json[]): string {
  for (let i = contents.length - 1; i >= 0; i--) {
    const c = contents[i]!;
    if (c.role !== 'user') continue;
    const parts = c.parts as Json[];
    const responses = parts.filter((p) => p.functionResponse);
    if (responses.length > 0) return `results ${responses.map((p) => JSON.stringify((p.functionResponse as Json).response)).join(' ')}`;
    return parts.filter((p) => typeof p.text === 'string').map((p) => String(p.text)).join(' ');
  }
  return '';
}

export function promptTokens(body: Json): number {
  const system = body.systemInstruction ? partsText((body.systemInstruction as Json).parts as Json[]) : '';
  return countTokens(system) + (body.contents as Json[]).reduce((n, c) => n + countTokens(partsText(c.parts as Json[])), 0);
}

/** One candidate's answer: its parts (streamed in groups) and finish reason. */
function answer(body: Json, model: string, sc: Scenario, candidate: number): { groups: Json[][]; finishReason: string } {
  const contents = body.contents as Json[];
  const prompt = lastUserPrompt(contents);
  const groups: Json[][] = [];
  if (sc.flags.has('thoughts') && ((body.generationConfig as Json | undefined)?.thinkingConfig as Json | undefined)?.includeThoughts) {
    groups.push([{ text: `Thinking about ${prompt}`, thought: true }]);
  }
  const declarations = ((body.tools as Json[] | undefined) ?? []).flatMap((t) => (t.functionDeclarations as Json[] | undefined) ?? []);
  const fcc = ((body.toolConfig as Json | undefined)?.functionCallingConfig as Json | undefined) ?? {};
  const wantsTools = (sc.flags.has('tools') || sc.flags.has('text-tool')) && declarations.length > 0 && fcc.mode !== 'NONE';
  const text = candidate > 0 ? `${replyTo(prompt)} (candidate ${candidate})` : replyTo(prompt);
  const words = splitIntoTokens(text);
  const max = (body.generationConfig as Json | undefined)?.maxOutputTokens;
  if (sc.flags.has('text-tool')) groups.push([{ text: 'Let me check.' }], [{ text: ' One moment.' }]);
  else if (!wantsTools) {
    const limit = sc.flags.has('max') ? 2 : typeof max === 'number' ? max : words.length;
    const kept = words.slice(0, limit);
    for (let i = 0; i < kept.length; i += 2) groups.push([{ text: kept.slice(i, i + 2).join('') }]);
    if (sc.flags.has('safety') || sc.flags.has('recitation') || sc.flags.has('prohibited')) groups.splice(1);
  }
  if (wantsTools) {
    const allowed = Array.isArray(fcc.allowedFunctionNames) ? (fcc.allowedFunctionNames as string[]) : undefined;
    const offered = declarations.filter((d) => !allowed || allowed.includes(String(d.name))).slice(0, 2);
    offered.forEach((d, i) => {
      const props = Object.keys(((d.parameters as Json | undefined)?.properties as Json | undefined) ?? {});
      const args = props.length > 0 ? { [props[0]!]: prompt } : {};
      const id = sc.flags.has('ids') ? `fc-${createHash('sha256').update(`${contents.length}:${i}:${model}`).digest('hex').slice(0, 12)}` : undefined;
      groups.push([{ functionCall: { ...(id ? { id } : {}), name: d.name, args }, ...(i === 0 && sc.flags.has('thoughts') ? { thoughtSignature: `sig-${contents.length}` } : {}) }]);
    });
  }
  const truncated = sc.flags.has('max') || (typeof max === 'number' && max < words.length && !wantsTools);
  const finishReason = sc.flags.has('safety') ? 'SAFETY' : sc.flags.has('recitation') ? 'RECITATION' : sc.flags.has('prohibited') ? 'PROHIBITED_CONTENT' : truncated ? 'MAX_TOKENS' : 'STOP';
  return { groups, finishReason };
}

function outputTokens(groups: Json[][]): { candidates: number; thoughts: number } {
  let candidates = 0;
  let thoughts = 0;
  for (const p of groups.flat()) {
    if (p.thought) thoughts += 12;
    else if (typeof p.text === 'string') candidates += countTokens(p.text);
    else if (p.functionCall) candidates += 5;
  }
  return { candidates, thoughts };
}

function usageMetadata(prompt: number, sc: Scenario, out: { candidates: number; thoughts: number }): Json {
  const cached = sc.flags.has('cache') ? 100 : 0;
  const promptCount = prompt + cached;
  return {
    promptTokenCount: promptCount,
    ...(out.candidates > 0 ? { candidatesTokenCount: out.candidates } : {}),
    totalTokenCount: promptCount + out.candidates + out.thoughts,
    ...(cached ? { cachedContentTokenCount: cached } : {}),
    ...(out.thoughts ? { thoughtsTokenCount: out.thoughts } : {}),
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: promptCount }],
  };
}

const SAFETY_RATINGS = [
  { category: 'HARM_CATEGORY_HATE_SPEECH', probability: 'NEGLIGIBLE' },
  { category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'HIGH', blocked: true },
  { category: 'HARM_CATEGORY_HARASSMENT', probability: 'NEGLIGIBLE' },
  { category: 'HARM_CATEGORY_SEXUALLY_EXPLICIT', probability: 'NEGLIGIBLE' },
];

let responseCounter = 0;

/**
 * One model call, already authenticated and parsed: answers as Gemini would (also mounted
 * under Vertex paths by the Vertex test upstream). `sse` is whether `alt=sse` was asked.
 */
export async function handleGeminiModelCall(req: IncomingMessage, res: ServerResponse, opts: { model: string; method: GeminiCallMethod | string; body: Json | undefined; sse?: boolean; signal?: AbortSignal }): Promise<void> {
  void req;
  const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
    res.end(JSON.stringify(body));
  };
  const { model, method, body } = opts;
  if (!body) return send(400, googleError(400, 'Invalid JSON payload received. Unexpected token.'));
  const sc = scenarioOf(model);
  const status = sc.params.get('error');
  if (status !== undefined) {
    const code = Number(status);
    if (code === 429) {
      return send(429, googleError(429, 'You exceeded your current quota, please check your plan and billing details.', [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '7s' }]));
    }
    const message = code === 400 && sc.flags.has('context') ? 'The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).' : code === 404 ? `models/${model} is not found for API version v1beta, or is not supported for generateContent.` : code === 503 ? 'The model is overloaded. Please try again later.' : `Scenario error ${code}`;
    return send(code, googleError(code, message));
  }

  if (method === 'batchEmbedContents') {
    const requests = body.requests;
    if (!Array.isArray(requests) || requests.length === 0) return send(400, googleError(400, '* BatchEmbedContentsRequest.requests: requests is not specified'));
    if (requests.length > 100) return send(400, googleError(400, '* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch'));
    const embeddings: Json[] = [];
    for (const r of requests as Json[]) {
      if (r.model !== `models/${model}`) return send(400, googleError(400, `Model names should be the same for all requests in the batch: ${String(r.model)} vs models/${model}`));
      const text = partsText(((r.content as Json | undefined)?.parts as Json[] | undefined) ?? []);
      embeddings.push({ values: embeddingFor(text, typeof r.outputDimensionality === 'number' ? r.outputDimensionality : 8) });
    }
    return send(200, { embeddings });
  }
  if (method !== 'generateContent' && method !== 'streamGenerateContent') return send(404, googleError(404, `Method ${method} not found.`));

  try {
    validateGenerate(body, model.split('+')[0]!);
  } catch (err) {
    if (err instanceof InvalidRequest) return send(400, googleError(400, err.message));
    throw err;
  }

  const responseId = `resp-${String(++responseCounter).padStart(6, '0')}`;
  const modelVersion = model.split('+')[0]!;
  const prompt = promptTokens(body);
  if (sc.flags.has('prompt-block')) {
    const blocked = { promptFeedback: { blockReason: 'SAFETY', safetyRatings: SAFETY_RATINGS }, usageMetadata: usageMetadata(prompt, sc, { candidates: 0, thoughts: 0 }), modelVersion, responseId };
    if (method === 'generateContent') return send(200, blocked);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'x-content-type-options': 'nosniff' });
    res.end(`data: ${JSON.stringify(blocked)}\r\n\r\n`);
    return;
  }
  const count = Number((body.generationConfig as Json | undefined)?.candidateCount ?? 1);
  const answers = Array.from({ length: count }, (_, i) => answer(body, model, sc, i));
  const out = answers.map((a) => outputTokens(a.groups)).reduce((x, y) => ({ candidates: x.candidates + y.candidates, thoughts: x.thoughts + y.thoughts }));
  const extra = (reason: string): Json => (reason === 'SAFETY' || reason === 'PROHIBITED_CONTENT' ? { safetyRatings: SAFETY_RATINGS } : reason === 'RECITATION' ? { citationMetadata: { citationSources: [{ startIndex: 0, endIndex: 40, uri: 'https://example.com/source' }] } } : {});

  if (method === 'generateContent') {
    const candidates = answers.map((a, index) => {
      const parts = a.groups.flat();
      // A filtered answer comes back without its content.
      const filtered = a.finishReason !== 'STOP' && a.finishReason !== 'MAX_TOKENS';
      return { ...(filtered ? {} : { content: { parts, role: 'model' } }), finishReason: a.finishReason, index, ...extra(a.finishReason) };
    });
    return send(200, { candidates, usageMetadata: usageMetadata(prompt, sc, out), modelVersion, responseId });
  }

  // streamGenerateContent: one chunk per part group; the last chunk carries the finish reason.
  const chunks: Json[] = [];
  const sofar = { candidates: 0, thoughts: 0 };
  answers.forEach((a, index) => {
    a.groups.forEach((group) => {
      const t = outputTokens([group]);
      sofar.candidates += t.candidates;
      sofar.thoughts += t.thoughts;
      chunks.push({ candidates: [{ content: { parts: group, role: 'model' }, index }], usageMetadata: usageMetadata(prompt, sc, { ...sofar }), modelVersion, responseId });
    });
    // The last chunk: an empty text part with the finish reason (no content at all when filtered).
    const filtered = a.finishReason !== 'STOP' && a.finishReason !== 'MAX_TOKENS';
    const last = { ...(filtered ? {} : { content: { parts: [{ text: '' }], role: 'model' } }), finishReason: a.finishReason, index, ...extra(a.finishReason) };
    if (!sc.flags.has('no-finish')) chunks.push({ candidates: [last], usageMetadata: usageMetadata(prompt, sc, out), modelVersion, responseId });
  });
  if (opts.sse === false) return send(200, chunks);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'x-content-type-options': 'nosniff' });
  const errorAfter = sc.params.has('stream-error') ? Number(sc.params.get('stream-error')) : undefined;
  const cutAfter = sc.params.has('cut') ? Number(sc.params.get('cut')) : undefined;
  const gap = sc.flags.has('slow') ? 20 : 0;
  for (let i = 0; i < chunks.length; i++) {
    if (opts.signal?.aborted || res.destroyed) return;
    if (errorAfter === i) {
      res.end(`data: ${JSON.stringify(googleError(503, 'The model is overloaded. Please try again later.'))}\r\n\r\n`);
      return;
    }
    if (cutAfter === i) {
      res.socket?.destroy();
      return;
    }
    await new Promise<void>((resolve) => res.write(`data: ${JSON.stringify(chunks[i])}\r\n\r\n`, () => resolve()));
    if (gap) await new Promise((r) => setTimeout(r, gap));
  }
  res.end();
}

const MODEL_PATH = /^\/v1beta\/models\/([^/:]+):([A-Za-z]+)$/;

export async function startGeminiUpstream(opts: { apiKey?: string } = {}): Promise<GeminiUpstream> {
  const requests: GeminiRecordedRequest[] = [];
  const closing = new AbortController();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const [path = '/', query = ''] = (req.url ?? '/').split('?') as [string, string | undefined];
    let body: Json | undefined;
    try {
      body = JSON.parse(raw.toString('utf8')) as Json;
    } catch {
      body = undefined;
    }
    requests.push({ method: req.method ?? 'GET', path: decodeURIComponent(path), query, headers: req.headers, body });
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(JSON.stringify(payload));
    };
    const match = MODEL_PATH.exec(path);
    if (req.method !== 'POST' || !match) return send(404, googleError(404, `Not found: ${path}`));
    if (opts.apiKey !== undefined) {
      const key = req.headers['x-goog-api-key'] ?? new URLSearchParams(query).get('key');
      if (key === undefined || key === null) return send(403, googleError(403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API."));
      if (key !== opts.apiKey) {
        return send(400, googleError(400, 'API key not valid. Please pass a valid API key.', [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' }]));
      }
    }
    const sse = new URLSearchParams(query).get('alt') === 'sse';
    await handleGeminiModelCall(req, res, { model: decodeURIComponent(match[1]!), method: match[2]!, body, sse, signal: closing.signal });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify(googleError(500, 'test upstream failed')));
      } else res.destroy();
    });
  });
  return upstreamHandle(await listenLocal(server), '/v1beta', requests, closing);
}
