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
  type ChatMessage,
  type ChatTool,
  type ChatToolChoice,
  type Json,
} from '../chat.js';
import { walkMessages, type Turn } from '../message-walk.js';
import { defaultMaxTokens } from '../anthropic/api.js';
import { thinkingConfig } from '../anthropic/request.js';
import { IMAGE_FORMATS, isAnthropicModel, LEADING_USER_TEXT, TEMPERATURE_RANGE } from './api.js';

type Block = Json;

const CACHE_POINT: Block = { cachePoint: { type: 'default' } };

/**
 * OpenAI chat.completions → Converse input (JSON wire form: blobs base64). Bedrock's
 * rules are applied here, each documented in docs/providers.md:
 *  - system/developer messages → `system`; consecutive same-role turns are merged;
 *    a conversation that starts with an assistant turn gets a leading user turn;
 *  - `cache_control` → a `cachePoint` after the marked block (system, messages, tools);
 *  - the history holds toolUse/toolResult but no tools are sent → a `toolConfig` is
 *    synthesized from the tool names in the history (Converse refuses it otherwise);
 *  - `tool_choice: "none"` → no tools are offered and tool history is sent as text, since
 *    Converse has no "none" choice (never silently `auto`);
 *  - images: data: URLs as bytes; s3:// URIs as S3 locations; http(s) URLs are refused
 *    (Converse cannot take them and the gateway never fetches them).
 */
export function toConverseRequest(body: Json, modelId: string): Json {
  refuseUnsupported(body, 'Bedrock', UNSUPPORTED_CHAT_PARAMETERS);
  const messages = body.messages as ChatMessage[];
  const toolsNone = body.tool_choice === 'none';
  const { system, turns } = walkMessages(messages, {
    provider: 'Bedrock',
    system: systemBlocks,
    user: userBlocks,
    assistant: (m, where) => assistantBlocks(m, where, toolsNone),
    tool: (m, where, id) => {
      const content = toolResultContent(m, where);
      return [
        toolsNone
          ? { text: `[tool result ${id}] ${content.map((c) => (typeof c.text === 'string' ? c.text : JSON.stringify(c))).join('')}` }
          : { toolResult: { toolUseId: id, content } },
      ];
    },
    mark: withMessageCache,
  });
  if (turns.length === 0) throw badRequest(`'messages' must hold at least one user or assistant message.`, 'invalid_value', 'messages');
  if (turns[0]!.role === 'assistant') turns.unshift({ role: 'user', content: [{ text: LEADING_USER_TEXT }] });

  const out: Json = { modelId, messages: turns };
  if (system.length > 0) out.system = system;

  const inference: Json = {};
  const anthropic = isAnthropicModel(modelId);
  const maxTokens = maxOutputTokens(body) ?? (anthropic ? defaultMaxTokens(modelId) : undefined);
  if (maxTokens !== undefined) inference.maxTokens = maxTokens;
  const temperature = checkTemperature(body.temperature, TEMPERATURE_RANGE, 'Bedrock');
  if (temperature !== undefined) inference.temperature = temperature;
  if (typeof body.top_p === 'number') inference.topP = body.top_p;
  const stops = stopSequences(body.stop);
  if (stops) inference.stopSequences = stops;
  if (Object.keys(inference).length > 0) out.inferenceConfig = inference;

  const extra: Json = {};
  if (typeof body.top_k === 'number') {
    if (!anthropic) throw badRequest(`'top_k' is supported only for Anthropic models on Bedrock.`, 'unsupported_parameter', 'top_k');
    extra.top_k = body.top_k;
  }
  const thinking = thinkingConfig(body);
  if (thinking) {
    if (!anthropic) throw badRequest(`Extended thinking is supported only for Anthropic models on Bedrock.`, 'unsupported_parameter', 'reasoning_effort');
    extra.thinking = thinking;
  }
  if (Object.keys(extra).length > 0) out.additionalModelRequestFields = extra;

  const toolConfig = toolConfiguration(body, turns, toolsNone);
  if (toolConfig) out.toolConfig = toolConfig;
  return out;
}

function systemBlocks(m: ChatMessage, where: string): Block[] {
  if (typeof m.content === 'string') return m.content === '' ? [] : [{ text: m.content }];
  const blocks: Block[] = [];
  contentParts(m.content).forEach((p, j) => {
    if (p.type !== 'text' || typeof p.text !== 'string') throw badRequest(`'${where}.content[${j}]' must be a text part in a ${m.role} message.`, 'invalid_content', `${where}.content`);
    if (p.text !== '') blocks.push({ text: p.text });
    if (p.cache_control) blocks.push(CACHE_POINT);
  });
  return blocks;
}

function userBlocks(m: ChatMessage, where: string): Block[] {
  const blocks: Block[] = [];
  contentParts(m.content).forEach((p, j) => {
    const at = `${where}.content[${j}]`;
    if (p.type === 'text') {
      // Converse refuses blank text blocks.
      if (p.text) blocks.push({ text: p.text });
    } else if (p.type === 'image_url') {
      blocks.push(imageBlock(imageUrlOf(p, at), at));
    } else {
      throw badRequest(`'${at}.type' '${p.type}' is not supported for Bedrock models.`, 'unsupported_content', `${at}.type`);
    }
    if (p.cache_control) blocks.push(CACHE_POINT);
  });
  return blocks;
}

function imageBlock(url: string, where: string): Block {
  const data = parseDataUrl(url);
  if (data) {
    const format = IMAGE_FORMATS[data.mediaType];
    if (!format) throw badRequest(`'${where}' has media type ${data.mediaType}; Bedrock accepts png, jpeg, gif and webp.`, 'invalid_image_url', `${where}.image_url`);
    return { image: { format, source: { bytes: data.data } } };
  }
  const s3 = /^s3:\/\/[^/]+\/.+\.([a-z]+)$/i.exec(url);
  if (s3) {
    const format = IMAGE_FORMATS[`image/${s3[1]!.toLowerCase()}`];
    if (format) return { image: { format, source: { s3Location: { uri: url } } } };
  }
  throw badRequest(
    `'${where}.image_url.url' must be a data: URL (or an s3:// URI of a png, jpeg, gif or webp image): Bedrock does not take image URLs, and the gateway does not fetch them.`,
    'invalid_image_url',
    `${where}.image_url`,
  );
}

/** Reasoning first, then text, then tool use — the order Converse returns them in. */
function assistantBlocks(m: ChatMessage, where: string, toolsAsText: boolean): Block[] {
  const blocks: Block[] = [];
  for (const t of m.thinking_blocks ?? []) {
    if (t.type === 'redacted_thinking') blocks.push({ reasoningContent: { redactedContent: t.data } });
    else blocks.push({ reasoningContent: { reasoningText: { text: t.thinking ?? '', ...(t.signature !== undefined ? { signature: t.signature } : {}) } } });
  }
  contentParts(m.content).forEach((p, j) => {
    const text = assistantPartText(p, j, where);
    if (text) blocks.push({ text });
    if (p.cache_control) blocks.push(CACHE_POINT);
  });
  (m.tool_calls ?? []).forEach((call, j) => {
    const input = parseArguments(call.function.arguments, `${where}.tool_calls[${j}]`);
    blocks.push(toolsAsText ? { text: `[tool call ${call.id} ${call.function.name}] ${JSON.stringify(input)}` } : { toolUse: { toolUseId: call.id, name: call.function.name, input } });
  });
  return blocks;
}

function toolResultContent(m: ChatMessage, where: string): Block[] {
  if (typeof m.content === 'string') return [{ text: m.content }];
  const out = contentParts(m.content).map((p, j): Block => {
    const at = `${where}.content[${j}]`;
    if (p.type === 'text') return { text: p.text ?? '' };
    if (p.type === 'image_url') return imageBlock(imageUrlOf(p, at), at);
    throw badRequest(`'${at}.type' '${p.type}' is not supported in a tool result for Bedrock models.`, 'unsupported_content', `${at}.type`);
  });
  return out.length > 0 ? out : [{ text: '' }];
}

function toolConfiguration(body: Json, turns: Turn[], toolsNone: boolean): Json | undefined {
  if (toolsNone) return undefined;
  const tools = (body.tools as ChatTool[] | undefined) ?? [];
  const specs: Block[] = [];
  tools.forEach((t, i) => {
    if (t.type !== 'function' || !t.function || typeof t.function.name !== 'string') throw badRequest(`'tools[${i}]' must be a function tool with a name.`, 'invalid_value', `tools[${i}]`);
    specs.push({
      toolSpec: {
        name: t.function.name,
        ...(t.function.description !== undefined ? { description: t.function.description } : {}),
        inputSchema: { json: t.function.parameters ?? { type: 'object', properties: {} } },
      },
    });
    if (t.cache_control) specs.push(CACHE_POINT);
  });
  if (specs.length === 0) {
    const names = toolNamesInHistory(turns);
    if (names.length === 0) {
      if (body.tool_choice !== undefined && body.tool_choice !== null) throw badRequest(`'tool_choice' needs 'tools'.`, 'invalid_value', 'tool_choice');
      return undefined;
    }
    // Converse refuses toolUse/toolResult history without a toolConfig: describe the tools the history used.
    for (const name of names) specs.push({ toolSpec: { name, description: `Tool '${name}' used earlier in this conversation.`, inputSchema: { json: { type: 'object', properties: {} } } } });
    return { tools: specs };
  }
  const choice = toolChoice(body.tool_choice as ChatToolChoice | undefined);
  return { tools: specs, ...(choice ? { toolChoice: choice } : {}) };
}

function toolNamesInHistory(turns: Turn[]): string[] {
  const names = new Set<string>();
  let results = false;
  for (const t of turns) {
    for (const b of t.content) {
      const use = b.toolUse as Json | undefined;
      if (use && typeof use.name === 'string') names.add(use.name);
      if (b.toolResult) results = true;
    }
  }
  // A toolResult without any toolUse in sight still needs a config; name a placeholder tool.
  if (names.size === 0 && results) names.add('tool');
  return [...names];
}

/** `required` → any, a named function → tool, `auto` → auto; `none` is handled before (no tools offered). */
function toolChoice(choice: ChatToolChoice | undefined): Json | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'auto') return { auto: {} };
  if (choice === 'required') return { any: {} };
  if (typeof choice === 'object' && choice.type === 'function' && typeof choice.function?.name === 'string') return { tool: { name: choice.function.name } };
  throw badRequest(`'tool_choice' must be "none", "auto", "required" or a function choice.`, 'invalid_value', 'tool_choice');
}

/** A `cache_control` on the message itself puts a cache point after its last block. */
function withMessageCache(blocks: Block[], m: ChatMessage): Block[] {
  if (!m.cache_control || blocks.length === 0 || blocks[blocks.length - 1]!.cachePoint) return blocks;
  return [...blocks, CACHE_POINT];
}
