/**
 * The OpenAI chat-completions shapes every translator reads and writes, plus the small
 * helpers they share. Only the fields the translators touch are typed.
 */
import { badRequest } from '../upstream/errors.js';

export type Json = Record<string, unknown>;

export interface ChatContentPart {
  type: string;
  text?: string;
  image_url?: { url: string; detail?: string } | string;
  cache_control?: Json;
}

export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool' | 'function';
  content?: string | ChatContentPart[] | null;
  name?: string;
  tool_calls?: ChatToolCall[];
  tool_call_id?: string;
  /** Anthropic-style thinking blocks carried on assistant turns (LiteLLM's convention). */
  thinking_blocks?: ThinkingBlock[];
  reasoning_content?: string;
  cache_control?: Json;
}

export type ThinkingBlock = { type: 'thinking'; thinking: string; signature?: string } | { type: 'redacted_thinking'; data: string };

export interface ChatTool {
  type: 'function';
  function: { name: string; description?: string; parameters?: Json; strict?: boolean };
  cache_control?: Json;
}

export type ChatToolChoice = 'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };

/** OpenAI's finish reasons: translators never emit anything else. */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/** The usage object of chat.completion(.chunk), cache and reasoning details included. */
export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number; cache_creation_tokens?: number };
  completion_tokens_details: { reasoning_tokens: number };
}

export interface TokenCounts {
  /** Input tokens billed at the normal rate (cache reads and writes excluded). */
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  reasoning: number;
}

/** A provider's token count: a finite number, else 0. */
export const tokenCount = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/**
 * A provider usage object whose input count excludes cache reads and writes (Anthropic,
 * Converse) → token counts, read from the fields named; thinking tokens are inside the
 * output count and only estimated from the thinking text.
 */
export function splitCacheTokenCounts(usage: unknown, fields: { input: string; output: string; cacheRead: string; cacheWrite: string }, thinkingText = ''): TokenCounts {
  const u = (usage ?? {}) as Record<string, unknown>;
  return {
    input: tokenCount(u[fields.input]),
    output: tokenCount(u[fields.output]),
    cacheRead: tokenCount(u[fields.cacheRead]),
    cacheWrite: tokenCount(u[fields.cacheWrite]),
    reasoning: thinkingText ? estimateTokens(thinkingText) : 0,
  };
}

/** `prompt_tokens` counts every input token, cache reads and writes included. */
export function chatUsage(t: TokenCounts): ChatUsage {
  const prompt = t.input + t.cacheRead + t.cacheWrite;
  return {
    prompt_tokens: prompt,
    completion_tokens: t.output,
    total_tokens: prompt + t.output,
    prompt_tokens_details: { cached_tokens: t.cacheRead, ...(t.cacheWrite ? { cache_creation_tokens: t.cacheWrite } : {}) },
    completion_tokens_details: { reasoning_tokens: t.reasoning },
  };
}

/**
 * The assistant message of a chat.completion: content is null when only tool calls came
 * back; `reasoning_content` when there was thinking, `thinking_blocks` (with signatures,
 * for the next turn) when the provider returns them.
 */
export function assistantMessage(text: string, toolCalls: unknown[], reasoning = '', thinking: ThinkingBlock[] = []): Json {
  const message: Json = { role: 'assistant', content: text === '' && toolCalls.length > 0 ? null : text, refusal: null };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  if (reasoning !== '' || thinking.length > 0) message.reasoning_content = reasoning;
  if (thinking.length > 0) message.thinking_blocks = thinking;
  return message;
}

/** A thinking block as the client sends it back: the text and, when there is one, its signature. */
export function thinkingBlock(thinking: unknown, signature: unknown): ThinkingBlock {
  return { type: 'thinking', thinking: String(thinking ?? ''), ...(typeof signature === 'string' ? { signature } : {}) };
}

/** A one-choice chat.completion. */
export function chatCompletion(id: string, created: number, model: string, message: Json, finishReason: FinishReason, usage: ChatUsage): Json {
  return { id, object: 'chat.completion', created, model, choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }], usage };
}

/** What every chat.completion.chunk of one stream repeats. */
export interface ChunkSource {
  id: string;
  created: number;
  model: string;
}

function chunkBase(s: ChunkSource): Json {
  return { id: s.id, object: 'chat.completion.chunk', created: s.created, model: s.model };
}

/** One chat.completion.chunk carrying `delta` for choice `index`. */
export function chatChunk(s: ChunkSource, delta: Json, finishReason: FinishReason | null = null, index = 0): Json {
  return { ...chunkBase(s), choices: [{ index, delta, logprobs: null, finish_reason: finishReason }] };
}

/** The closing chunk with no choices and the stream's usage (`stream_options.include_usage`). */
export function usageChunk(s: ChunkSource, usage: ChatUsage): Json {
  return { ...chunkBase(s), choices: [], usage };
}

/**
 * Providers report no separate count for thinking tokens; this estimate (4 characters
 * a token) fills `reasoning_tokens` and is documented as an estimate.
 */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

export interface DataUrl {
  mediaType: string;
  data: string;
}

/** `data:<media>;base64,<data>` → its parts; undefined for any other URL. */
export function parseDataUrl(url: string): DataUrl | undefined {
  const match = /^data:([a-z0-9.+-]+\/[a-z0-9.+-]+)(?:;[^,;]*)*;base64,(.*)$/is.exec(url);
  if (!match) return undefined;
  return { mediaType: match[1]!.toLowerCase(), data: match[2]! };
}

export function imageUrlOf(part: ChatContentPart, where: string): string {
  const url = typeof part.image_url === 'string' ? part.image_url : part.image_url?.url;
  if (typeof url !== 'string' || url === '') throw badRequest(`'${where}.image_url.url' must be a non-empty string.`, 'invalid_image_url', `${where}.image_url`);
  return url;
}

/** The content of a message as parts (a string becomes one text part). */
export function contentParts(content: ChatMessage['content']): ChatContentPart[] {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  return content;
}

/** Text of a message whose content may only be text (system, developer, tool). */
export function textOf(content: ChatMessage['content'], where: string): string {
  if (typeof content === 'string') return content;
  return contentParts(content)
    .map((p, i) => {
      if (p.type !== 'text' || typeof p.text !== 'string') throw badRequest(`'${where}.content[${i}]' must be a text part here.`, 'invalid_content', `${where}.content`);
      return p.text;
    })
    .join('');
}

/** The text of part `j` of an assistant message (a text or refusal part); any other part is the client's error. */
export function assistantPartText(p: ChatContentPart, j: number, where: string): string | undefined {
  if (p.type !== 'text' && p.type !== 'refusal') throw badRequest(`'${where}.content[${j}]' must be a text part in an assistant message.`, 'invalid_content', `${where}.content`);
  return p.type === 'text' ? p.text : (p as { refusal?: string }).refusal;
}

/** Parses a tool call's arguments; malformed JSON is the client's error, said plainly. */
export function parseArguments(args: string, where: string): Json {
  if (args.trim() === '') return {};
  try {
    const value = JSON.parse(args) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Json;
  } catch {
    // reported below
  }
  throw badRequest(`'${where}.function.arguments' must be a JSON object string.`, 'invalid_tool_arguments', `${where}.function.arguments`);
}

/**
 * OpenAI chat parameters that Anthropic and Bedrock Converse cannot honour: refused with a
 * 400 unless they ask for the default (never silently dropped).
 */
export const UNSUPPORTED_CHAT_PARAMETERS: ReadonlyArray<readonly [string, (v: unknown) => boolean]> = [
  ['n', (v) => v === 1],
  ['logprobs', (v) => v === false],
  ['top_logprobs', () => false],
  ['logit_bias', (v) => typeof v === 'object' && v !== null && Object.keys(v).length === 0],
  ['response_format', (v) => (v as Json)?.type === 'text'],
  ['audio', () => false],
  ['modalities', (v) => Array.isArray(v) && v.every((m) => m === 'text')],
  ['frequency_penalty', (v) => v === 0],
  ['presence_penalty', (v) => v === 0],
  ['seed', () => false],
];

/** Refuses parameters the provider cannot honour, instead of dropping them silently. */
export function refuseUnsupported(body: Json, provider: string, checks: ReadonlyArray<readonly [field: string, isHarmless: (v: unknown) => boolean]>): void {
  for (const [field, harmless] of checks) {
    const value = body[field];
    if (value === undefined || value === null || harmless(value)) continue;
    throw badRequest(`'${field}' is not supported by ${provider}; remove it or use a provider that supports it.`, 'unsupported_parameter', field);
  }
}

export function checkTemperature(value: unknown, range: { min: number; max: number }, provider: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw badRequest(`'temperature' must be a number.`, 'invalid_type', 'temperature');
  if (value < range.min || value > range.max) {
    throw badRequest(
      `'temperature' must be between ${range.min} and ${range.max} for ${provider} models; got ${value}. The gateway does not clamp it.`,
      'invalid_value',
      'temperature',
    );
  }
  return value;
}

export function stopSequences(stop: unknown): string[] | undefined {
  if (stop === undefined || stop === null) return undefined;
  if (typeof stop === 'string') return [stop];
  if (Array.isArray(stop) && stop.every((s) => typeof s === 'string')) return stop as string[];
  throw badRequest(`'stop' must be a string or an array of strings.`, 'invalid_type', 'stop');
}

export function maxOutputTokens(body: Json): number | undefined {
  const value = body.max_completion_tokens ?? body.max_tokens;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    const field = body.max_completion_tokens !== undefined ? 'max_completion_tokens' : 'max_tokens';
    throw badRequest(`'${field}' must be a positive integer.`, 'invalid_value', field);
  }
  return value;
}

/** Token counts as the gateway's normalized usage; undefined when the provider reported none. */
export function usageFromCounts(t: TokenCounts): { promptTokens: number; completionTokens: number; totalTokens: number; cachedTokens?: number; reasoningTokens?: number } | undefined {
  if (t.input + t.output + t.cacheRead + t.cacheWrite === 0) return undefined;
  const u = chatUsage(t);
  return {
    promptTokens: u.prompt_tokens,
    completionTokens: u.completion_tokens,
    totalTokens: u.total_tokens,
    cachedTokens: u.prompt_tokens_details.cached_tokens,
    reasoningTokens: u.completion_tokens_details.reasoning_tokens,
  };
}
