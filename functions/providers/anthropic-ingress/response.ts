import type { Json } from '../chat.js';

/** OpenAI finish_reason → Anthropic stop_reason. */
export function stopReasonOf(finish: unknown): string {
  switch (finish) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}

/** OpenAI usage → Anthropic usage: `input_tokens` excludes what the cache served. */
export function anthropicUsageOf(usage: unknown): Json {
  const u = (usage ?? {}) as Json;
  const prompt = typeof u.prompt_tokens === 'number' ? u.prompt_tokens : 0;
  const cached = Number(((u.prompt_tokens_details ?? {}) as Json).cached_tokens ?? 0) || 0;
  return { input_tokens: prompt - cached, cache_creation_input_tokens: 0, cache_read_input_tokens: cached, output_tokens: typeof u.completion_tokens === 'number' ? u.completion_tokens : 0 };
}

/** chat.completion → an Anthropic Message: text first, then one tool_use per tool call. */
export function chatToAnthropicMessage(chat: Json, model: string): Json {
  const choice = ((chat.choices as Json[] | undefined) ?? [])[0] ?? {};
  const message = (choice.message ?? {}) as Json;
  const content: Json[] = [];
  if (typeof message.content === 'string' && message.content !== '') content.push({ type: 'text', text: message.content });
  for (const call of (message.tool_calls as Json[] | undefined) ?? []) {
    const fn = (call.function ?? {}) as Json;
    content.push({ type: 'tool_use', id: String(call.id), name: String(fn.name), input: parseInput(fn.arguments) });
  }
  return {
    id: `msg_${String(chat.id ?? '')}`,
    type: 'message',
    role: 'assistant',
    model: String(chat.model ?? model),
    content,
    stop_reason: stopReasonOf(choice.finish_reason),
    stop_sequence: null,
    usage: anthropicUsageOf(chat.usage),
  };
}

/** Tool arguments are a JSON string upstream; a model that wrote broken JSON gets it wrapped, not lost. */
export function parseInput(args: unknown): Json {
  if (typeof args !== 'string' || args.trim() === '') return {};
  try {
    const v = JSON.parse(args) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : { value: v };
  } catch {
    return { _raw_arguments: args };
  }
}
