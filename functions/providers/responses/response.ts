import type { Json } from '../chat.js';

/** Usage of a chat.completion in the Responses API's shape. */
export function responsesUsage(usage: unknown): Json {
  const u = (usage ?? {}) as Json;
  const input = Number(u.prompt_tokens ?? 0);
  const output = Number(u.completion_tokens ?? 0);
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: Number(((u.prompt_tokens_details ?? {}) as Json).cached_tokens ?? 0) },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: Number(((u.completion_tokens_details ?? {}) as Json).reasoning_tokens ?? 0) },
    total_tokens: input + output,
  };
}

/** The output items of a finished assistant message: the text message first, then each function call. */
export function outputItems(id: string, text: string, calls: Array<{ id: string; name: string; arguments: string }>): Json[] {
  const items: Json[] = [];
  if (text !== '' || calls.length === 0) items.push({ type: 'message', id: `msg_${id}`, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] });
  calls.forEach((c, i) => items.push({ type: 'function_call', id: `fc_${id}_${i}`, call_id: c.id, name: c.name, arguments: c.arguments, status: 'completed' }));
  return items;
}

/** The `response` object; a length stop is `incomplete` (max_output_tokens), as OpenAI reports it. */
export function responseObject(id: string, model: string, createdAt: number, body: Json, output: Json[], finishReason: unknown, usage: unknown, status?: string): Json {
  const incomplete = finishReason === 'length';
  return {
    id: `resp_${id}`,
    object: 'response',
    created_at: createdAt,
    status: status ?? (incomplete ? 'incomplete' : 'completed'),
    error: null,
    incomplete_details: incomplete ? { reason: 'max_output_tokens' } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model,
    output,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: null,
    temperature: body.temperature ?? null,
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_p: body.top_p ?? null,
    usage: usage === undefined ? null : responsesUsage(usage),
  };
}

/** chat.completion → response. */
export function chatToResponse(chat: Json, body: Json, createdAt: number): Json {
  const choice = ((chat.choices as Json[] | undefined) ?? [])[0] ?? {};
  const message = (choice.message ?? {}) as Json;
  const calls = ((message.tool_calls as Json[] | undefined) ?? []).map((c) => {
    const fn = (c.function ?? {}) as Json;
    return { id: String(c.id), name: String(fn.name), arguments: String(fn.arguments ?? '') };
  });
  const id = String(chat.id ?? createdAt).replace(/^(chatcmpl-|msg_)/, '');
  return responseObject(id, String(chat.model ?? body.model), createdAt, body, outputItems(id, typeof message.content === 'string' ? message.content : '', calls), choice.finish_reason, chat.usage);
}
