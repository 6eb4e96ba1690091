import { badRequest } from '../../upstream/errors.js';
import type { Endpoint, Ingress } from '../../upstream/endpoints.js';
import {
  assistantPartText,
  checkTemperature,
  contentParts,
  imageUrlOf,
  maxOutputTokens,
  parseArguments,
  parseDataUrl,
  refuseUnsupported,
  stopSequences,
  textOf,
  type ChatContentPart,
  type ChatMessage,
  type ChatTool,
  type ChatToolCall,
  type ChatToolChoice,
  type Json,
} from '../chat.js';
import { walkMessages } from '../message-walk.js';
import { anthropicToChatRequest } from '../anthropic-ingress/request.js';
import { responsesToChatRequest } from '../responses/request.js';
import { TEMPERATURE_RANGE, THINKING_BUDGETS, thinkingLevelsOf, thinkingOffAllowed } from './api.js';
import { toGeminiParameters, toGeminiSchema } from './schema.js';

/** A Gemini `Content`: a role and its parts. */
export interface GeminiContent {
  role: 'user' | 'model';
  parts: Json[];
}

/** The generateContent body (the model is in the path, never in the body). */
export interface GeminiRequest {
  contents: GeminiContent[];
  systemInstruction?: { parts: Json[] };
  tools?: Json[];
  toolConfig?: Json;
  generationConfig?: Json;
}

/**
 * OpenAI chat parameters Gemini cannot honour: refused with a 400 unless they ask for the
 * default. (`n`, `seed`, `presence_penalty`, `frequency_penalty` and `response_format`
 * have Gemini equivalents and are translated.)
 */
const UNSUPPORTED: ReadonlyArray<readonly [string, (v: unknown) => boolean]> = [
  ['logprobs', (v) => v === false],
  ['top_logprobs', () => false],
  ['logit_bias', (v) => typeof v === 'object' && v !== null && Object.keys(v).length === 0],
  ['audio', () => false],
  ['modalities', (v) => Array.isArray(v) && v.every((m) => m === 'text')],
  ['prediction', () => false],
  ['web_search_options', () => false],
];

/** Thought signatures ride on tool calls the way Google's OpenAI layer carries them. */
export interface GeminiExtraContent {
  extra_content?: { google?: { thought_signature?: string } };
}

/**
 * Tool call ids the gateway made up (Gemini sent none) start with `call_`: they are not
 * sent back as `functionCall.id` / `functionResponse.id`, since Gemini never issued them.
 */
export const isGatewayCallId = (id: string): boolean => id.startsWith('call_');

/**
 * OpenAI chat.completions → Gemini generateContent. System and developer messages become
 * `systemInstruction`; assistant turns are `model` turns; tool calls are `functionCall`
 * parts and tool results `functionResponse` parts (named after the call they answer) in a
 * user turn; consecutive same-role turns are merged; tool schemas are sanitized
 * (schema.ts).
 */
/**
 * Where the body goes. `callIds: false` (Vertex AI) leaves `id` off `functionCall` /
 * `functionResponse` parts: Vertex's generateContent refuses it ("Unknown name \"id\" at
 * 'contents[…].parts[…].function_call'") and issues no call ids of its own; the Gemini API
 * (the default) takes them back.
 */
export interface GeminiTarget {
  callIds?: boolean;
}

export function toGeminiRequest(body: Json, model: string, target: GeminiTarget = {}): GeminiRequest {
  const needsSignatures = SIGNATURE_REQUIRED.test(model);
  const sendId = (id: string): boolean => target.callIds !== false && !isGatewayCallId(id);
  refuseUnsupported(body, 'Gemini', UNSUPPORTED);
  if (!Array.isArray(body.messages)) throw badRequest(`'messages' must be an array.`, 'invalid_type', 'messages');
  const messages = body.messages as ChatMessage[];
  const callNames = new Map<string, string>();
  const { system, turns } = walkMessages(messages, {
    provider: 'Gemini',
    check: (m, where) => {
      if (!m || typeof m !== 'object') throw badRequest(`'${where}' must be an object.`, 'invalid_type', where);
      checkContent(m.content, where);
    },
    system: (m, where) => {
      const text = textOf(m.content, where);
      return text === '' ? [] : [{ text }];
    },
    user: userParts,
    assistant: (m, where) => modelParts(m, where, callNames, needsSignatures, sendId),
    tool: (m, where, id) => {
      const name = callNames.get(id);
      if (name === undefined) throw badRequest(`'${where}.tool_call_id' '${id}' answers no tool call of an earlier assistant message.`, 'invalid_tool_call_id', `${where}.tool_call_id`);
      return [{ functionResponse: { ...(sendId(id) ? { id } : {}), name, response: toolResponse(textOf(m.content, where)) } }];
    },
    function: (m, where) => {
      if (typeof m.name !== 'string') throw badRequest(`'${where}.name' is required on function messages.`, 'missing_required_parameter', `${where}.name`);
      return [{ functionResponse: { name: m.name, response: toolResponse(textOf(m.content, where)) } }];
    },
  });
  const contents: GeminiContent[] = turns.map((t) => ({ role: t.role === 'assistant' ? 'model' : 'user', parts: t.content }));
  if (contents.length === 0) throw badRequest(`'messages' must hold at least one user or assistant message with content.`, 'invalid_value', 'messages');

  const out: GeminiRequest = { contents };
  if (system.length > 0) out.systemInstruction = { parts: system };

  const tools = body.tools as ChatTool[] | undefined;
  if (tools !== undefined && tools !== null && !Array.isArray(tools)) throw badRequest(`'tools' must be an array.`, 'invalid_type', 'tools');
  if (tools && tools.length > 0) out.tools = [{ functionDeclarations: tools.map((t, i) => functionDeclaration(t, `tools[${i}]`)) }];
  const choice = toolConfig(body.tool_choice as ChatToolChoice | undefined | null, out.tools !== undefined);
  if (choice) out.toolConfig = choice;

  const config = generationConfig(body, model);
  if (Object.keys(config).length > 0) out.generationConfig = config;
  return out;
}

/**
 * The generateContent body for any ingress: chat as is, the Responses API and the
 * Anthropic Messages ingress through their chat translation.
 */
export function geminiBodyFor(endpoint: Endpoint, ingress: Ingress, json: Json, model: string, target: GeminiTarget = {}): GeminiRequest {
  if (ingress === 'anthropic') return toGeminiRequest(anthropicToChatRequest(json, model), model, target);
  return toGeminiRequest(endpoint === 'responses' ? responsesToChatRequest(json) : json, model, target);
}

/** Content must be a string, an array of part objects, or absent: anything else is the client's error, said plainly. */
function checkContent(content: unknown, where: string): void {
  if (content === undefined || content === null || typeof content === 'string') return;
  if (Array.isArray(content) && content.every((p) => p && typeof p === 'object' && !Array.isArray(p))) return;
  throw badRequest(`'${where}.content' must be a string or an array of content parts.`, 'invalid_type', `${where}.content`);
}

function userParts(m: ChatMessage, where: string): Json[] {
  return contentParts(m.content).flatMap((p, j): Json[] => {
    const at = `${where}.content[${j}]`;
    if (!p || typeof p !== 'object') throw badRequest(`'${at}' must be a content part object.`, 'invalid_content', at);
    if (p.type === 'text') {
      if (typeof p.text !== 'string') throw badRequest(`'${at}.text' must be a string.`, 'invalid_content', `${at}.text`);
      return p.text === '' ? [] : [{ text: p.text }];
    }
    if (p.type === 'image_url') return [mediaPart(imageUrlOf(p, at), at)];
    if (p.type === 'input_audio') return [audioPart(p, at)];
    if (p.type === 'file') return [filePart(p, at)];
    throw badRequest(`'${at}.type' '${String(p.type)}' is not supported for Gemini models.`, 'unsupported_content', `${at}.type`);
  });
}

const GCS_MIME: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', heic: 'image/heic', heif: 'image/heif', pdf: 'application/pdf' };

/**
 * `data:` URLs → `inlineData`; `gs://` URIs (Vertex) → `fileData` with the type from the
 * extension. http(s) URLs are a 400: the gateway never fetches an image itself, and
 * Gemini's `fileData` takes only Files API / Cloud Storage URIs.
 */
function mediaPart(url: string, where: string): Json {
  const data = parseDataUrl(url);
  if (data) return { inlineData: { mimeType: data.mediaType, data: data.data } };
  if (/^gs:\/\//i.test(url)) {
    const ext = /\.([a-z0-9]+)$/i.exec(url)?.[1]?.toLowerCase();
    const mimeType = ext ? GCS_MIME[ext] : undefined;
    if (!mimeType) throw badRequest(`'${where}.image_url.url': the media type of '${url}' cannot be told from its extension (png, jpg, gif, webp, heic, pdf).`, 'invalid_image_url', `${where}.image_url`);
    return { fileData: { mimeType, fileUri: url } };
  }
  throw badRequest(`'${where}.image_url.url' must be a data: URL (base64) for Gemini models; the gateway does not fetch http(s) images.`, 'invalid_image_url', `${where}.image_url`);
}

function audioPart(p: ChatContentPart, where: string): Json {
  const audio = (p as { input_audio?: { data?: unknown; format?: unknown } }).input_audio;
  if (!audio || typeof audio.data !== 'string' || typeof audio.format !== 'string') throw badRequest(`'${where}.input_audio' must have data and format.`, 'invalid_content', `${where}.input_audio`);
  return { inlineData: { mimeType: `audio/${audio.format}`, data: audio.data } };
}

function filePart(p: ChatContentPart, where: string): Json {
  const file = (p as { file?: { file_data?: unknown } }).file;
  const data = typeof file?.file_data === 'string' ? parseDataUrl(file.file_data) : undefined;
  if (!data) throw badRequest(`'${where}.file.file_data' must be a base64 data: URL for Gemini models (file ids are not supported).`, 'unsupported_content', `${where}.file`);
  return { inlineData: { mimeType: data.mediaType, data: data.data } };
}

/**
 * Gemini 3 refuses function calling history whose first functionCall of a turn has no
 * thought signature. A history from a client that dropped `extra_content` (or from another
 * model) gets Google's documented placeholder, which skips that check.
 */
const SIGNATURE_REQUIRED = /(^|\/)gemini-3/;
export const PLACEHOLDER_SIGNATURE = 'skip_thought_signature_validator';

function modelParts(m: ChatMessage, where: string, callNames: Map<string, string>, needsSignatures: boolean, sendId: (id: string) => boolean): Json[] {
  const parts: Json[] = [];
  for (const [j, p] of contentParts(m.content).entries()) {
    const text = assistantPartText(p, j, where);
    if (text) parts.push({ text });
  }
  if (m.tool_calls !== undefined && !Array.isArray(m.tool_calls)) throw badRequest(`'${where}.tool_calls' must be an array.`, 'invalid_type', `${where}.tool_calls`);
  (m.tool_calls ?? []).forEach((call: ChatToolCall & GeminiExtraContent, j) => {
    const at = `${where}.tool_calls[${j}]`;
    if (!call || typeof call.id !== 'string' || typeof call.function?.name !== 'string') throw badRequest(`'${at}' must have an id and a function name.`, 'invalid_tool_call', at);
    if (call.function.arguments !== undefined && call.function.arguments !== null && typeof call.function.arguments !== 'string') throw badRequest(`'${at}.function.arguments' must be a JSON object string.`, 'invalid_tool_arguments', `${at}.function.arguments`);
    callNames.set(call.id, call.function.name);
    const given = call.extra_content?.google?.thought_signature;
    const signature = typeof given === 'string' ? given : needsSignatures && j === 0 ? PLACEHOLDER_SIGNATURE : undefined;
    parts.push({
      functionCall: { ...(sendId(call.id) ? { id: call.id } : {}), name: call.function.name, args: parseArguments(call.function.arguments ?? '', at) },
      ...(typeof signature === 'string' ? { thoughtSignature: signature } : {}),
    });
  });
  return parts;
}

/** A tool result as Gemini's `response` object: a JSON object as it is, anything else under `output`. */
function toolResponse(text: string): Json {
  try {
    const value = JSON.parse(text) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Json;
  } catch {
    // plain text
  }
  return { output: text };
}

function functionDeclaration(t: ChatTool, where: string): Json {
  if (!t || typeof t !== 'object' || t.type !== 'function' || !t.function || typeof t.function.name !== 'string') {
    throw badRequest(`'${where}' must be a function tool; Gemini models take only function tools here.`, 'unsupported_tool', where);
  }
  const out: Json = { name: t.function.name };
  if (typeof t.function.description === 'string' && t.function.description !== '') out.description = t.function.description;
  const parameters = toGeminiParameters(t.function.parameters, `${where}.function.parameters`);
  if (parameters) out.parameters = parameters;
  return out;
}

/** tool_choice → functionCallingConfig: auto AUTO, none NONE, required ANY, a named function ANY limited to it. */
function toolConfig(choice: ChatToolChoice | undefined | null, hasTools: boolean): Json | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'none' && !hasTools) return undefined;
  if (!hasTools) throw badRequest(`'tool_choice' needs 'tools'.`, 'invalid_value', 'tool_choice');
  if (choice === 'auto') return { functionCallingConfig: { mode: 'AUTO' } };
  if (choice === 'none') return { functionCallingConfig: { mode: 'NONE' } };
  if (choice === 'required') return { functionCallingConfig: { mode: 'ANY' } };
  const name = typeof choice === 'object' ? choice.function?.name : undefined;
  if (typeof name === 'string') return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [name] } };
  throw badRequest(`'tool_choice' must be none, auto, required or a named function.`, 'invalid_value', 'tool_choice');
}

function generationConfig(body: Json, model: string): Json {
  const out: Json = {};
  const max = maxOutputTokens(body);
  if (max !== undefined) out.maxOutputTokens = max;
  const temperature = checkTemperature(body.temperature, TEMPERATURE_RANGE, 'Gemini');
  if (temperature !== undefined) out.temperature = temperature;
  number(body, 'top_p', (v) => v >= 0 && v <= 1, (v) => (out.topP = v));
  number(body, 'top_k', (v) => Number.isInteger(v) && v >= 1, (v) => (out.topK = v));
  number(body, 'n', (v) => Number.isInteger(v) && v >= 1 && v <= 8, (v) => v !== 1 && (out.candidateCount = v));
  number(body, 'presence_penalty', (v) => v >= -2 && v <= 2, (v) => v !== 0 && (out.presencePenalty = v));
  number(body, 'frequency_penalty', (v) => v >= -2 && v <= 2, (v) => v !== 0 && (out.frequencyPenalty = v));
  number(body, 'seed', (v) => Number.isInteger(v), (v) => (out.seed = v));
  const stops = stopSequences(body.stop);
  if (stops && stops.length > 0) out.stopSequences = stops;

  const format = body.response_format as Json | undefined | null;
  if (format !== undefined && format !== null) {
    if (typeof format !== 'object') throw badRequest(`'response_format' must be an object.`, 'invalid_type', 'response_format');
    if (format.type === 'json_object') out.responseMimeType = 'application/json';
    else if (format.type === 'json_schema') {
      const spec = format.json_schema as Json | undefined;
      if (!spec || typeof spec !== 'object' || spec.schema === undefined) throw badRequest(`'response_format.json_schema.schema' is required.`, 'missing_required_parameter', 'response_format.json_schema.schema');
      out.responseMimeType = 'application/json';
      out.responseSchema = toGeminiSchema(spec.schema, 'response_format.json_schema.schema');
    } else if (format.type !== 'text') {
      throw badRequest(`'response_format.type' must be text, json_object or json_schema.`, 'invalid_value', 'response_format.type');
    }
  }

  const effort = body.reasoning_effort;
  if (effort !== undefined && effort !== null) out.thinkingConfig = thinkingConfig(effort, model);
  return out;
}

/**
 * `reasoning_effort` → `thinkingConfig`. Gemini 3+ models take `thinkingLevel` (the effort
 * as is, where the model has that level) and cannot turn thinking off; older models take
 * `thinkingBudget` (THINKING_BUDGETS). What the model would refuse is a 400 here, naming the
 * values it takes.
 */
function thinkingConfig(effort: unknown, model: string): Json {
  const param = 'reasoning_effort';
  const levels = thinkingLevelsOf(model);
  if (levels) {
    if (effort === 'none') throw badRequest(`'reasoning_effort' 'none' is not supported by ${model}: thinking cannot be turned off on Gemini 3 models; use one of ${levels.join(', ')}.`, 'unsupported_value', param);
    if (typeof effort !== 'string' || !(levels as readonly string[]).includes(effort)) {
      const known = typeof effort === 'string' && Object.hasOwn(THINKING_BUDGETS, effort);
      throw badRequest(known ? `'reasoning_effort' '${effort}' is not supported by ${model}; it takes ${levels.join(', ')}.` : `'reasoning_effort' must be one of ${levels.join(', ')} for ${model}.`, known ? 'unsupported_value' : 'invalid_value', param);
    }
    return { thinkingLevel: effort, includeThoughts: true };
  }
  const budget = typeof effort === 'string' && Object.hasOwn(THINKING_BUDGETS, effort) ? THINKING_BUDGETS[effort] : undefined;
  if (budget === undefined) throw badRequest(`'reasoning_effort' must be one of ${Object.keys(THINKING_BUDGETS).join(', ')}.`, 'invalid_value', param);
  if (budget === 0 && !thinkingOffAllowed(model)) throw badRequest(`'reasoning_effort' 'none' is not supported by ${model}: the model only works in thinking mode; use one of minimal, low, medium, high.`, 'unsupported_value', param);
  return budget === 0 ? { thinkingBudget: 0 } : { thinkingBudget: budget, includeThoughts: true };
}

function number(body: Json, field: string, valid: (v: number) => boolean, set: (v: number) => unknown): void {
  const v = body[field];
  if (v === undefined || v === null) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || !valid(v)) throw badRequest(`'${field}' has a value Gemini does not accept: ${JSON.stringify(v)}.`, 'invalid_value', field);
  set(v);
}
