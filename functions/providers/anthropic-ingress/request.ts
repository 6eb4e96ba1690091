import { badRequest } from '../../upstream/errors.js';
import type { Json } from '../chat.js';
import { isReasoningModel } from '../openai/reasoning-models.js';

/**
 * Native Anthropic Messages → OpenAI chat.completions, for the Anthropic ingress on an
 * OpenAI-family proxy. Thinking blocks in the history are dropped (OpenAI-compatible
 * upstreams cannot take them back); server tools and documents are refused. OpenAI's
 * reasoning models get `max_completion_tokens`, `thinking` as `reasoning_effort`, and
 * `temperature`/`top_p` only when they ask for the default (see samplingFor).
 */
export function anthropicToChatRequest(body: Json, model: string): Json {
  const messages: Json[] = [];
  const system = body.system;
  if (typeof system === 'string' && system !== '') messages.push({ role: 'system', content: system });
  else if (Array.isArray(system)) {
    const text = (system as Json[]).map((b, i) => textBlock(b, `system[${i}]`)).join('\n');
    if (text !== '') messages.push({ role: 'system', content: text });
  }
  (body.messages as Json[]).forEach((m, i) => {
    const where = `messages[${i}]`;
    const blocks: Json[] = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : Array.isArray(m.content) ? (m.content as Json[]) : [];
    if (m.role === 'user') {
      const parts: Json[] = [];
      blocks.forEach((b, j) => {
        const at = `${where}.content[${j}]`;
        if (b.type === 'tool_result') messages.push({ role: 'tool', tool_call_id: String(b.tool_use_id), content: toolResultText(b.content, at) });
        else if (b.type === 'text') parts.push({ type: 'text', text: String(b.text ?? '') });
        else if (b.type === 'image') parts.push({ type: 'image_url', image_url: { url: imageUrl(b, at) } });
        else throw badRequest(`${at}: '${String(b.type)}' blocks cannot be sent to an OpenAI-compatible provider.`, 'unsupported_content');
      });
      if (parts.length > 0) messages.push({ role: 'user', content: parts.every((p) => p.type === 'text') ? parts.map((p) => p.text).join('') : parts });
    } else if (m.role === 'assistant') {
      let text = '';
      const toolCalls: Json[] = [];
      blocks.forEach((b, j) => {
        if (b.type === 'text') text += String(b.text ?? '');
        else if (b.type === 'tool_use') toolCalls.push({ id: String(b.id), type: 'function', function: { name: String(b.name), arguments: JSON.stringify(b.input ?? {}) } });
        else if (b.type !== 'thinking' && b.type !== 'redacted_thinking') throw badRequest(`${where}.content[${j}]: '${String(b.type)}' blocks cannot be sent to an OpenAI-compatible provider.`, 'unsupported_content');
      });
      messages.push({ role: 'assistant', content: text === '' && toolCalls.length > 0 ? null : text, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) });
    } else {
      throw badRequest(`${where}.role must be "user" or "assistant".`, 'invalid_value');
    }
  });

  const reasoning = isReasoningModel(model);
  const out: Json = { model, messages, [reasoning ? 'max_completion_tokens' : 'max_tokens']: body.max_tokens };
  if (reasoning) Object.assign(out, reasoningParams(body, model));
  else {
    if (typeof body.temperature === 'number') out.temperature = body.temperature;
    if (typeof body.top_p === 'number') out.top_p = body.top_p;
  }
  if (typeof body.top_k === 'number') out.top_k = body.top_k;
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length > 0) out.stop = body.stop_sequences;
  const user = (body.metadata as Json | undefined)?.user_id;
  if (typeof user === 'string') out.user = user;
  if (body.stream === true) {
    out.stream = true;
    out.stream_options = { include_usage: true };
  }
  const tools = body.tools as Json[] | undefined;
  if (tools?.length) {
    out.tools = tools.map((t, i) => {
      if (t.type !== undefined && t.type !== 'custom') throw badRequest(`tools[${i}]: server tool '${String(t.type)}' is not available on an OpenAI-compatible provider.`, 'unsupported_tool');
      return { type: 'function', function: { name: t.name, ...(t.description !== undefined ? { description: t.description } : {}), parameters: t.input_schema ?? { type: 'object', properties: {} } } };
    });
  }
  const choice = body.tool_choice as Json | undefined;
  if (choice) {
    const map: Record<string, unknown> = { auto: 'auto', any: 'required', none: 'none' };
    out.tool_choice = choice.type === 'tool' ? { type: 'function', function: { name: choice.name } } : map[String(choice.type)];
    if (out.tool_choice === undefined) throw badRequest(`tool_choice.type must be auto, any, tool or none.`, 'invalid_value');
    if (choice.disable_parallel_tool_use === true && out.tools) out.parallel_tool_calls = false;
  }
  return out;
}

/**
 * A reasoning model takes only the default sampling (1): a request asking for it loses the
 * field, any other value is a 400 naming it (never silently dropped), as for the
 * chat translation's parameters a provider cannot honour. `output_config.effort` becomes
 * `reasoning_effort` (low/medium/high as is, xhigh and max → high); else `thinking`'s budget_tokens
 * does: ≤ 1024 low, ≤ 2048 medium, more high (the chat translation's table, read back).
 */
function reasoningParams(body: Json, model: string): Json {
  for (const field of ['temperature', 'top_p'] as const) {
    const value = body[field];
    if (value !== undefined && value !== 1) {
      throw badRequest(`'${field}' is not supported by the reasoning model '${model}' (only the default, 1); remove it.`, 'unsupported_parameter', field);
    }
  }
  const effort = (body.output_config as Json | undefined)?.effort;
  if (effort === 'low' || effort === 'medium' || effort === 'high') return { reasoning_effort: effort };
  if (effort === 'xhigh' || effort === 'max') return { reasoning_effort: 'high' };
  const thinking = body.thinking as Json | undefined;
  if (thinking?.type !== 'enabled' || typeof thinking.budget_tokens !== 'number') return {};
  const budget = thinking.budget_tokens;
  return { reasoning_effort: budget <= 1024 ? 'low' : budget <= 2048 ? 'medium' : 'high' };
}

function textBlock(b: Json, where: string): string {
  if (b.type !== 'text') throw badRequest(`${where}: system blocks must be text.`, 'invalid_content');
  return String(b.text ?? '');
}

function toolResultText(content: unknown, where: string): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return (content as Json[]).map((b, i) => textBlock(b, `${where}.content[${i}]`)).join('');
}

function imageUrl(b: Json, where: string): string {
  const src = (b.source ?? {}) as Json;
  if (src.type === 'base64') return `data:${String(src.media_type)};base64,${String(src.data)}`;
  if (src.type === 'url') return String(src.url);
  throw badRequest(`${where}: image source must be base64 or url.`, 'invalid_content');
}
