import type { SseEvent } from '../upstream/sse.js';
import { assistantFromConverseStream } from './converse-stream-capture.js';

/**
 * What the session plugin needs from a response: the assistant message, in the shape the
 * client will re-send it (chat completions, Anthropic Messages, Bedrock Converse), or the
 * response id (Responses API).
 */
export interface CapturedResponse {
  assistant?: { role: 'assistant'; content?: string | unknown[]; tool_calls?: { id?: string; type: 'function'; function: { name?: string; arguments: string } }[] };
  responseId?: string;
}

/** An Anthropic stream's content block being assembled. */
interface BlockParts {
  type: string;
  text: string;
  id?: string;
  name?: string;
  json: string;
}

interface ToolCallParts {
  id?: string;
  name?: string;
  arguments: string;
}

const MAX_JSON_BYTES = 16 * 1024 * 1024;

/**
 * Accumulates the first choice's assistant message from a plain chat completion or
 * from its stream of `chat.completion.chunk` deltas (text and tool calls), and the
 * response id of a Responses API answer. One instance per response: all per-stream
 * state lives here.
 */
export class ResponseCapture {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private content = '';
  private sawAssistant = false;
  private readonly toolCalls = new Map<number, ToolCallParts>();
  private responseId: string | undefined;
  private readonly blocks = new Map<number, BlockParts>();

  onChunk(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size <= MAX_JSON_BYTES) this.chunks.push(chunk);
  }

  onEvent(event: SseEvent): void {
    if (event.data === '' || event.data === '[DONE]') return;
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    if (!isObject(data)) return;
    if (this.onAnthropicEvent(data)) return;
    if (isObject(data.response) && typeof data.response.id === 'string') {
      this.responseId ??= data.response.id; // response.created / response.completed
      return;
    }
    // Some OpenAI-compatible servers omit `object`; the delta shape is what counts.
    if ((data.object !== undefined && data.object !== 'chat.completion.chunk') || !Array.isArray(data.choices)) return;
    for (const choice of data.choices) {
      if (!isObject(choice) || (choice.index ?? 0) !== 0 || !isObject(choice.delta)) continue;
      this.sawAssistant = true;
      const delta = choice.delta;
      if (typeof delta.content === 'string') this.content += delta.content;
      if (!Array.isArray(delta.tool_calls)) continue;
      for (const call of delta.tool_calls) {
        if (!isObject(call)) continue;
        const index = typeof call.index === 'number' ? call.index : 0;
        const parts = this.toolCalls.get(index) ?? { arguments: '' };
        if (typeof call.id === 'string') parts.id = call.id;
        const fn = isObject(call.function) ? call.function : {};
        if (typeof fn.name === 'string') parts.name = (parts.name ?? '') + fn.name;
        if (typeof fn.arguments === 'string') parts.arguments += fn.arguments;
        this.toolCalls.set(index, parts);
      }
    }
  }

  /** Anthropic Messages stream events; true when the event was one of them. */
  private onAnthropicEvent(data: Record<string, unknown>): boolean {
    const index = typeof data.index === 'number' ? data.index : undefined;
    if (data.type === 'content_block_start' && index !== undefined && isObject(data.content_block)) {
      const b = data.content_block;
      this.blocks.set(index, {
        type: String(b.type),
        text: typeof b.text === 'string' ? b.text : '',
        json: '',
        ...(typeof b.id === 'string' ? { id: b.id } : {}),
        ...(typeof b.name === 'string' ? { name: b.name } : {}),
      });
      return true;
    }
    if (data.type === 'content_block_delta' && index !== undefined && isObject(data.delta)) {
      const block = this.blocks.get(index);
      if (!block) return true;
      if (data.delta.type === 'text_delta' && typeof data.delta.text === 'string') block.text += data.delta.text;
      if (data.delta.type === 'input_json_delta' && typeof data.delta.partial_json === 'string') block.json += data.delta.partial_json;
      return true;
    }
    return typeof data.type === 'string' && /^(message_start|message_delta|message_stop|content_block_stop|ping)$/.test(data.type);
  }

  /** The captured response, once the body is complete. */
  result(): CapturedResponse {
    if (this.chunks.length > 0 && this.size <= MAX_JSON_BYTES) return fromJson(Buffer.concat(this.chunks));
    if (this.blocks.size > 0) return { assistant: { role: 'assistant', content: anthropicBlocks(this.blocks) } };
    const out: CapturedResponse = {};
    if (this.responseId) out.responseId = this.responseId;
    if (this.sawAssistant) {
      const assistant: NonNullable<CapturedResponse['assistant']> = { role: 'assistant' };
      if (this.content) assistant.content = this.content;
      const calls = [...this.toolCalls.entries()].sort(([a], [b]) => a - b).map(([, c]) => ({
        ...(c.id ? { id: c.id } : {}),
        type: 'function' as const,
        function: { ...(c.name ? { name: c.name } : {}), arguments: c.arguments },
      }));
      if (calls.length > 0) assistant.tool_calls = calls;
      out.assistant = assistant;
    }
    return out;
  }
}

function fromJson(bytes: Buffer): CapturedResponse {
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch {
    // Not JSON: a Bedrock ConverseStream answer, or nothing to capture.
    const assistant = assistantFromConverseStream(bytes);
    return assistant ? { assistant } : {};
  }
  if (!isObject(body)) return {};
  if (body.object === 'response' && typeof body.id === 'string') return { responseId: body.id };
  // Anthropic Messages: {type:'message', role:'assistant', content:[blocks]}.
  if (body.type === 'message' && Array.isArray(body.content)) return { assistant: { role: 'assistant', content: body.content } };
  // Bedrock Converse: {output:{message:{role:'assistant', content:[blocks]}}}.
  if (isObject(body.output) && isObject(body.output.message) && Array.isArray(body.output.message.content)) {
    return { assistant: { role: 'assistant', content: body.output.message.content } };
  }
  if ((body.object !== undefined && body.object !== 'chat.completion') || !Array.isArray(body.choices)) return {};
  const first = body.choices.find((c) => isObject(c) && (c.index ?? 0) === 0);
  if (!isObject(first) || !isObject(first.message)) return {};
  return { assistant: { ...(first.message as object), role: 'assistant' } as CapturedResponse['assistant'] };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function anthropicBlocks(blocks: Map<number, BlockParts>): unknown[] {
  return [...blocks.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, b]) => {
      if (b.type === 'tool_use') {
        let input: unknown = {};
        try {
          input = b.json === '' ? {} : JSON.parse(b.json);
        } catch {
          input = b.json;
        }
        return { type: 'tool_use', id: b.id, name: b.name, input };
      }
      return b.type === 'text' ? { type: 'text', text: b.text } : { type: b.type };
    });
}
