import { hash } from 'node:crypto';

/**
 * The canonical form of a chat history, for fingerprinting (docs/sessions.md).
 *
 * It keeps only what survives a client re-sending its history: the role, the text
 * content (a string, or the text parts joined), each tool call's id, function name and
 * arguments, and `tool_call_id`. Keys are sorted, nulls, empty strings and unknown fields
 * are dropped, and tool-call arguments that are JSON are re-serialized with sorted keys,
 * so a client that parses and re-encodes them still matches.
 *
 * Content-block histories (Anthropic Messages, Bedrock Converse) map onto the same
 * form: text blocks are the text, `tool_use`/`toolUse` blocks are tool calls (their
 * `input` serialized with sorted keys), `tool_result`/`toolResult` blocks are tool
 * results `{tool_call_id, content}` (content as text).
 */
export interface CanonicalToolCall {
  arguments?: string;
  id?: string;
  name?: string;
}

export interface CanonicalToolResult {
  content?: string;
  tool_call_id?: string;
}

export interface CanonicalMessage {
  content?: string;
  role: string;
  tool_call_id?: string;
  tool_calls?: CanonicalToolCall[];
  tool_results?: CanonicalToolResult[];
}

export function canonicalMessage(raw: unknown): CanonicalMessage | undefined {
  if (!isObject(raw) || typeof raw.role !== 'string' || raw.role === '') return undefined;
  const out: CanonicalMessage = { role: raw.role };
  const content = textOf(raw.content);
  if (content) out.content = content;
  if (typeof raw.tool_call_id === 'string' && raw.tool_call_id !== '') out.tool_call_id = raw.tool_call_id;
  const calls: CanonicalToolCall[] = [];
  if (Array.isArray(raw.tool_calls)) calls.push(...raw.tool_calls.map(canonicalToolCall).filter((c): c is CanonicalToolCall => c !== undefined));
  const results: CanonicalToolResult[] = [];
  if (Array.isArray(raw.content)) {
    for (const block of raw.content) {
      const call = toolUseBlock(block);
      if (call) calls.push(call);
      const result = toolResultBlock(block);
      if (result) results.push(result);
    }
  }
  if (calls.length > 0) out.tool_calls = calls;
  if (results.length > 0) out.tool_results = results;
  return out;
}

/** Anthropic `{type:'tool_use', id, name, input}` or Bedrock `{toolUse:{toolUseId, name, input}}`. */
function toolUseBlock(block: unknown): CanonicalToolCall | undefined {
  if (!isObject(block)) return undefined;
  const use = block.type === 'tool_use' ? { id: block.id, name: block.name, input: block.input } : isObject(block.toolUse) ? { id: block.toolUse.toolUseId, name: block.toolUse.name, input: block.toolUse.input } : undefined;
  if (!use) return undefined;
  const call: CanonicalToolCall = {};
  if (typeof use.id === 'string' && use.id !== '') call.id = use.id;
  if (typeof use.name === 'string' && use.name !== '') call.name = use.name;
  if (use.input !== undefined && use.input !== null) call.arguments = stableStringify(use.input);
  return call;
}

/** Anthropic `{type:'tool_result', tool_use_id, content}` or Bedrock `{toolResult:{toolUseId, content}}`. */
function toolResultBlock(block: unknown): CanonicalToolResult | undefined {
  if (!isObject(block)) return undefined;
  const res = block.type === 'tool_result' ? { id: block.tool_use_id, content: block.content } : isObject(block.toolResult) ? { id: block.toolResult.toolUseId, content: block.toolResult.content } : undefined;
  if (!res) return undefined;
  const result: CanonicalToolResult = {};
  if (typeof res.id === 'string' && res.id !== '') result.tool_call_id = res.id;
  const text = textOf(res.content) ?? jsonBlocksOf(res.content);
  if (text) result.content = text;
  return result;
}

/** Bedrock tool results may carry `{json: …}` blocks instead of text. */
function jsonBlocksOf(content: unknown): string | undefined {
  if (!Array.isArray(content)) return undefined;
  const parts = content.filter((b) => isObject(b) && b.json !== undefined).map((b) => stableStringify((b as Record<string, unknown>).json));
  return parts.length > 0 ? parts.join('') : undefined;
}

function canonicalToolCall(raw: unknown): CanonicalToolCall | undefined {
  if (!isObject(raw)) return undefined;
  const call: CanonicalToolCall = {};
  if (typeof raw.id === 'string' && raw.id !== '') call.id = raw.id;
  const fn = isObject(raw.function) ? raw.function : raw;
  if (typeof fn.name === 'string' && fn.name !== '') call.name = fn.name;
  if (typeof fn.arguments === 'string' && fn.arguments !== '') call.arguments = canonicalArguments(fn.arguments);
  return Object.keys(call).length > 0 ? call : undefined;
}

/** Text content: a string as-is, text parts joined; images, audio and files are not text. */
function textOf(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  const parts: string[] = [];
  for (const part of content) {
    if (typeof part === 'string') parts.push(part);
    else if (isObject(part) && typeof part.text === 'string' && (part.type === undefined || part.type === 'text' || part.type === 'input_text' || part.type === 'output_text')) parts.push(part.text);
  }
  return parts.length > 0 ? parts.join('') : undefined;
}

function canonicalArguments(args: string): string {
  try {
    return stableStringify(JSON.parse(args));
  } catch {
    return args;
  }
}

/** JSON with object keys sorted at every depth and null members dropped. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + stableStringify(value[i]);
    return `${out}]`;
  }
  const obj = value as Record<string, unknown>;
  // Sorted by UTF-16 code units, as `<` compares strings.
  const keys = Object.keys(obj).sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    const v = obj[k];
    if (v === null || v === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(k)}:${stableStringify(v)}`;
    first = false;
  }
  return `${out}}`;
}

/** The canonical serialization of a list of messages; messages without a role are skipped. */
export function canonicalHistory(messages: readonly unknown[]): string {
  const canonical = messages.map(canonicalMessage).filter((m): m is CanonicalMessage => m !== undefined);
  return stableStringify(canonical);
}

/** SHA-256 hex of the canonical form. */
export function historyFingerprint(messages: readonly unknown[]): string {
  return hash('sha256', canonicalHistory(messages), 'hex');
}

/**
 * The prefixes of a chat request worth looking up, most specific first: `messages[:-1]`,
 * then (when tool results or several user messages follow the last assistant message)
 * the history up to and including that assistant message — the entry written after the
 * previous turn. A history with no assistant message is a conversation's first turn:
 * nothing was written for it, so there is nothing to look up.
 */
export function lookupPrefixes(messages: readonly unknown[]): unknown[][] {
  const prefix = messages.slice(0, -1);
  let lastAssistant = -1;
  prefix.forEach((m, i) => {
    if (isObject(m) && m.role === 'assistant') lastAssistant = i;
  });
  if (lastAssistant < 0) return [];
  const out = [prefix];
  if (lastAssistant < prefix.length - 1) out.push(prefix.slice(0, lastAssistant + 1));
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
