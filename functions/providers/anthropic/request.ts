import { badRequest } from '../../upstream/errors.js';
import {
  assistantPartText,
  checkTemperature,
  contentParts,
  imageUrlOf,
  maxOutputTokens,
  parseArguments,
  parseDataUrl,
  refuseUnsupported,
  UNSUPPORTED_CHAT_PARAMETERS,
  stopSequences,
  textOf,
  type ChatMessage,
  type ChatTool,
  type ChatToolChoice,
  type Json,
} from '../chat.js';
import { walkMessages, type Turn } from '../message-walk.js';
import { defaultMaxTokens, TEMPERATURE_RANGE, THINKING_BUDGETS } from './api.js';

/** Anthropic Messages request body (the fields the translator writes). */
export interface AnthropicRequest {
  model: string;
  max_tokens: number;
  messages: AnthropicMessage[];
  system?: Json[];
  tools?: Json[];
  tool_choice?: Json;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  stop_sequences?: string[];
  stream?: boolean;
  metadata?: Json;
  thinking?: Json;
}

export type AnthropicMessage = Turn;

/**
 * OpenAI chat.completions → Anthropic Messages. System and developer messages become
 * the top-level `system` blocks in their order; tool results become `tool_result`
 * blocks in a user turn; consecutive same-role turns are merged (Anthropic requires
 * alternation); `cache_control` on parts, messages and tools is carried over.
 */
export function toAnthropicRequest(body: Json, model: string): AnthropicRequest {
  refuseUnsupported(body, 'Anthropic', UNSUPPORTED_CHAT_PARAMETERS);
  const messages = body.messages as ChatMessage[];
  const { system, turns } = walkMessages(messages, {
    provider: 'Anthropic',
    system: systemBlocks,
    user: userBlocks,
    assistant: assistantBlocks,
    tool: (m, where, id) => [{ type: 'tool_result', tool_use_id: id, content: toolResultContent(m, where) }],
    mark: withMessageCache,
  });
  if (turns.length === 0) throw badRequest(`'messages' must hold at least one user or assistant message.`, 'invalid_value', 'messages');

  const maxTokens = maxOutputTokens(body) ?? defaultMaxTokens(model);
  const out: AnthropicRequest = { model, max_tokens: maxTokens, messages: turns };
  if (system.length > 0) out.system = system;
  const temperature = checkTemperature(body.temperature, TEMPERATURE_RANGE, 'Anthropic');
  if (temperature !== undefined) out.temperature = temperature;
  if (typeof body.top_p === 'number') out.top_p = body.top_p;
  if (typeof body.top_k === 'number') out.top_k = body.top_k;
  const stops = stopSequences(body.stop);
  if (stops) out.stop_sequences = stops;
  if (body.stream === true) out.stream = true;
  if (typeof body.user === 'string') out.metadata = { user_id: body.user };
  const thinking = thinkingConfig(body);
  if (thinking) out.thinking = thinking;

  const tools = body.tools as ChatTool[] | undefined;
  if (tools && tools.length > 0) out.tools = tools.map((t, i) => toolDefinition(t, `tools[${i}]`));
  const choice = toolChoice(body.tool_choice as ChatToolChoice | undefined, body.parallel_tool_calls);
  if (choice && !(choice.type === 'none' && !out.tools)) {
    if (!out.tools) throw badRequest(`'tool_choice' needs 'tools'.`, 'invalid_value', 'tool_choice');
    out.tool_choice = choice;
  }
  return out;
}

function systemBlocks(m: ChatMessage, where: string): Json[] {
  if (typeof m.content === 'string') return m.content === '' ? [] : [{ type: 'text', text: m.content }];
  return contentParts(m.content).map((p, j) => {
    if (p.type !== 'text' || typeof p.text !== 'string') throw badRequest(`'${where}.content[${j}]' must be a text part in a ${m.role} message.`, 'invalid_content', `${where}.content`);
    return withCache({ type: 'text', text: p.text }, p.cache_control);
  });
}

function userBlocks(m: ChatMessage, where: string): Json[] {
  return contentParts(m.content).map((p, j) => {
    const at = `${where}.content[${j}]`;
    if (p.type === 'text') return withCache({ type: 'text', text: p.text ?? '' }, p.cache_control);
    if (p.type === 'image_url') return withCache(imageBlock(imageUrlOf(p, at), at), p.cache_control);
    throw badRequest(`'${at}.type' '${p.type}' is not supported for Anthropic models.`, 'unsupported_content', `${at}.type`);
  });
}

/** data: URLs become base64 sources; https URLs are passed as URL sources (Anthropic fetches them). */
function imageBlock(url: string, where: string): Json {
  const data = parseDataUrl(url);
  if (data) return { type: 'image', source: { type: 'base64', media_type: data.mediaType, data: data.data } };
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } };
  throw badRequest(`'${where}.image_url.url' must be a data: URL or an http(s) URL.`, 'invalid_image_url', `${where}.image_url`);
}

/** Thinking blocks first (Anthropic requires them to lead the turn), then text, then tool_use. */
function assistantBlocks(m: ChatMessage, where: string): Json[] {
  const blocks: Json[] = [];
  for (const t of m.thinking_blocks ?? []) {
    if (t.type === 'redacted_thinking') blocks.push({ type: 'redacted_thinking', data: t.data });
    else blocks.push({ type: 'thinking', thinking: t.thinking ?? '', ...(t.signature !== undefined ? { signature: t.signature } : {}) });
  }
  for (const [j, p] of contentParts(m.content).entries()) {
    const text = assistantPartText(p, j, where);
    if (text) blocks.push(withCache({ type: 'text', text }, p.cache_control));
  }
  (m.tool_calls ?? []).forEach((call, j) => {
    const at = `${where}.tool_calls[${j}]`;
    blocks.push({ type: 'tool_use', id: call.id, name: call.function.name, input: parseArguments(call.function.arguments, at) });
  });
  return blocks;
}

function toolResultContent(m: ChatMessage, where: string): string | Json[] {
  if (typeof m.content === 'string') return m.content;
  return contentParts(m.content).map((p, j) => {
    const at = `${where}.content[${j}]`;
    if (p.type === 'text') return withCache({ type: 'text', text: p.text ?? '' }, p.cache_control);
    if (p.type === 'image_url') return imageBlock(imageUrlOf(p, at), at);
    return { type: 'text', text: textOf([p], where) };
  });
}

function toolDefinition(t: ChatTool, where: string): Json {
  if (t.type !== 'function' || !t.function || typeof t.function.name !== 'string') {
    throw badRequest(`'${where}' must be a function tool with a name.`, 'invalid_value', where);
  }
  const def: Json = { name: t.function.name, input_schema: t.function.parameters ?? { type: 'object', properties: {} } };
  if (t.function.description !== undefined) def.description = t.function.description;
  return withCache(def, t.cache_control);
}

/** OpenAI tool_choice → Anthropic: `none` stays none (never auto), `required` → any, a named function → tool. */
export function toolChoice(choice: ChatToolChoice | undefined, parallel: unknown): Json | undefined {
  const noParallel = parallel === false ? { disable_parallel_tool_use: true } : {};
  if (choice === undefined || choice === null) return parallel === false ? { type: 'auto', ...noParallel } : undefined;
  if (choice === 'none') return { type: 'none' };
  if (choice === 'auto') return { type: 'auto', ...noParallel };
  if (choice === 'required') return { type: 'any', ...noParallel };
  if (typeof choice === 'object' && choice.type === 'function' && typeof choice.function?.name === 'string') {
    return { type: 'tool', name: choice.function.name, ...noParallel };
  }
  throw badRequest(`'tool_choice' must be "none", "auto", "required" or a function choice.`, 'invalid_value', 'tool_choice');
}

/** Anthropic's `thinking`: given as is, or from `reasoning_effort` as a token budget (also sent to Anthropic models on Bedrock). */
export function thinkingConfig(body: Json): Json | undefined {
  if (body.thinking && typeof body.thinking === 'object') return body.thinking as Json;
  const effort = body.reasoning_effort;
  if (effort === undefined || effort === null) return undefined;
  const budget = typeof effort === 'string' ? THINKING_BUDGETS[effort] : undefined;
  if (budget === undefined) throw badRequest(`'reasoning_effort' must be one of ${Object.keys(THINKING_BUDGETS).join(', ')}.`, 'invalid_value', 'reasoning_effort');
  return { type: 'enabled', budget_tokens: budget };
}

function withCache(block: Json, cacheControl: Json | undefined): Json {
  return cacheControl ? { ...block, cache_control: cacheControl } : block;
}

/** A `cache_control` on the message itself marks its last block (Anthropic's cache breakpoint). */
function withMessageCache(blocks: Json[], m: ChatMessage): Json[] {
  if (!m.cache_control || blocks.length === 0) return blocks;
  const last = blocks.length - 1;
  return blocks.map((b, i) => (i === last ? { ...b, cache_control: m.cache_control } : b));
}
