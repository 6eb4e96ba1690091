import { badRequest } from '../../upstream/errors.js';
import type { Json } from '../chat.js';

/**
 * A Responses API request → the chat.completions body the provider translators take, for
 * providers without a Responses API of their own (Anthropic, Bedrock). Stateless: a
 * `previous_response_id` or `store`d conversation cannot be honoured and is a 400.
 */
export function responsesToChatRequest(body: Json): Json {
  if (typeof body.previous_response_id === 'string') throw badRequest(`'previous_response_id' needs stored responses, which this provider does not keep; send the whole conversation in 'input'.`, 'unsupported_parameter', 'previous_response_id');
  const messages: Json[] = [];
  if (typeof body.instructions === 'string' && body.instructions !== '') messages.push({ role: 'system', content: body.instructions });
  const input = body.input;
  if (typeof input === 'string') messages.push({ role: 'user', content: input });
  else if (Array.isArray(input)) (input as Json[]).forEach((item, i) => addItem(messages, item, `input[${i}]`));
  else throw badRequest(`'input' is required.`, 'missing_required_parameter', 'input');

  const out: Json = { model: body.model, messages };
  if (typeof body.max_output_tokens === 'number') out.max_completion_tokens = body.max_output_tokens;
  for (const field of ['temperature', 'top_p', 'stream', 'user', 'parallel_tool_calls'] as const) if (body[field] !== undefined && body[field] !== null) out[field] = body[field];
  const effort = (body.reasoning as Json | undefined)?.effort;
  if (typeof effort === 'string') out.reasoning_effort = effort;
  const tools = body.tools as Json[] | undefined;
  if (tools?.length) {
    out.tools = tools.map((t, i) => {
      if (t.type !== 'function') throw badRequest(`tools[${i}]: the built-in tool '${String(t.type)}' is not available on this provider; function tools are.`, 'unsupported_tool', `tools[${i}]`);
      return { type: 'function', function: { name: t.name, ...(t.description !== undefined ? { description: t.description } : {}), parameters: t.parameters ?? { type: 'object', properties: {} } } };
    });
  }
  const choice = body.tool_choice as unknown;
  if (typeof choice === 'string') out.tool_choice = choice;
  else if (choice && typeof choice === 'object' && (choice as Json).type === 'function') out.tool_choice = { type: 'function', function: { name: (choice as Json).name } };
  const format = ((body.text as Json | undefined)?.format as Json | undefined)?.type;
  if (format !== undefined && format !== 'text') out.response_format = { type: format };
  return out;
}

function addItem(messages: Json[], item: Json, where: string): void {
  const type = item.type ?? 'message';
  if (type === 'message') {
    const role = item.role === 'developer' ? 'developer' : item.role;
    const content = typeof item.content === 'string' ? item.content : (item.content as Json[]).map((p, j) => contentPart(p, `${where}.content[${j}]`));
    messages.push({ role, content });
    return;
  }
  if (type === 'function_call') {
    const call = { id: String(item.call_id), type: 'function', function: { name: String(item.name), arguments: String(item.arguments ?? '') } };
    const last = messages[messages.length - 1];
    if (last?.role === 'assistant' && Array.isArray(last.tool_calls)) (last.tool_calls as Json[]).push(call);
    else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
    return;
  }
  if (type === 'function_call_output') {
    messages.push({ role: 'tool', tool_call_id: String(item.call_id), content: typeof item.output === 'string' ? item.output : JSON.stringify(item.output) });
    return;
  }
  if (type === 'reasoning') return; // provider-specific reasoning items cannot be replayed here
  throw badRequest(`${where}: input items of type '${String(type)}' are not available on this provider.`, 'unsupported_content', where);
}

function contentPart(p: Json, where: string): Json {
  if (p.type === 'input_text' || p.type === 'output_text') return { type: 'text', text: p.text };
  if (p.type === 'input_image' && typeof p.image_url === 'string') return { type: 'image_url', image_url: { url: p.image_url } };
  throw badRequest(`${where}: content of type '${String(p.type)}' is not available on this provider.`, 'unsupported_content', where);
}
