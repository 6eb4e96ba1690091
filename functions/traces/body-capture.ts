import type { SseEvent } from '../upstream/sse.js';

/** A tool call the model made, or a tool result the client sent back. */
export interface ToolActivity {
  direction: 'call' | 'result';
  toolCallId?: string;
  name?: string;
  /** Arguments (call) or output (result), truncated. */
  content?: string;
}

const TOOL_TEXT_LIMIT = 2048;
const MAX_PARSED_JSON = 4 * 1024 * 1024;

/** At most `limit` bytes of a body as text, marked when cut (never splitting a UTF-8 character). */
export function truncateBody(bytes: Buffer | string, limit: number, totalBytes?: number): string {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  const total = totalBytes ?? buf.length;
  if (total <= limit) return buf.toString('utf8');
  let end = Math.min(limit, buf.length);
  while (end > 0 && end < buf.length && (buf[end]! & 0xc0) === 0x80) end--;
  return `${buf.subarray(0, end).toString('utf8')}…[truncated ${total - end} bytes]`;
}

const cut = (text: string) => (text.length > TOOL_TEXT_LIMIT ? `${text.slice(0, TOOL_TEXT_LIMIT)}…` : text);
const asText = (v: unknown) => (typeof v === 'string' ? v : v === undefined ? undefined : JSON.stringify(v));

/**
 * Tool results the client sends in this request: the trailing `tool` messages (chat) or
 * `function_call_output` items (Responses) after the model's last turn; earlier ones
 * were already seen on the turn that carried them.
 */
export function toolResultsIn(body: Record<string, unknown> | undefined): ToolActivity[] {
  if (!body) return [];
  const out: ToolActivity[] = [];
  const items = Array.isArray(body.messages) ? body.messages : Array.isArray(body.input) ? body.input : [];
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i] as Record<string, unknown> | undefined;
    if (item?.role === 'tool') out.unshift(result(item.tool_call_id, item.content));
    else if (item?.type === 'function_call_output') out.unshift(result(item.call_id, item.output));
    else break;
  }
  return out;
}

function result(id: unknown, content: unknown): ToolActivity {
  const text = asText(content);
  return { direction: 'result', ...(typeof id === 'string' ? { toolCallId: id } : {}), ...(text !== undefined ? { content: cut(text) } : {}) };
}

/**
 * Watches a response body as it is relayed: keeps its first `limit` bytes for the trace
 * and assembles the tool calls the model makes (plain JSON or streamed deltas). All
 * per-response state lives in this object.
 */
export class ResponseCapture {
  private readonly kept: Buffer[] = [];
  private keptBytes = 0;
  private totalBytes = 0;
  private readonly json: Buffer[] = [];
  private readonly streamedCalls = new Map<string, { id?: string; name?: string; args: string }>();
  private readonly doneCalls: ToolActivity[] = [];

  constructor(private readonly limit: number) {}

  onChunk(chunk: Buffer): void {
    this.keep(chunk);
    if (this.totalBytes <= MAX_PARSED_JSON) this.json.push(chunk);
  }

  onEvent(event: SseEvent): void {
    this.keep(Buffer.from(event.raw, 'utf8'));
    if (!event.data.includes('tool_calls') && !event.data.includes('function_call')) return;
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(event.data) as Record<string, unknown>;
    } catch {
      return;
    }
    for (const choice of (Array.isArray(data.choices) ? data.choices : []) as Record<string, unknown>[]) {
      const delta = choice.delta as Record<string, unknown> | undefined;
      for (const call of (Array.isArray(delta?.tool_calls) ? delta.tool_calls : []) as Record<string, unknown>[]) {
        const key = `${String(choice.index ?? 0)}:${String(call.index ?? 0)}`;
        const parts = this.streamedCalls.get(key) ?? { args: '' };
        const fn = call.function as Record<string, unknown> | undefined;
        if (typeof call.id === 'string') parts.id = call.id;
        if (typeof fn?.name === 'string') parts.name = fn.name;
        if (typeof fn?.arguments === 'string') parts.args += fn.arguments;
        this.streamedCalls.set(key, parts);
      }
    }
    if (data.type === 'response.output_item.done') {
      const item = data.item as Record<string, unknown> | undefined;
      if (item?.type === 'function_call') this.doneCalls.push(call(item.call_id, item.name, item.arguments));
    }
  }

  /** The kept body text (truncated), or undefined when capture is off. */
  body(): string | undefined {
    if (this.limit <= 0) return undefined;
    return truncateBody(Buffer.concat(this.kept), this.limit, this.totalBytes);
  }

  /** Tool calls in the response, in order. */
  toolCalls(): ToolActivity[] {
    const streamed = [...this.streamedCalls.values()].map((p) => call(p.id, p.name, p.args));
    if (streamed.length || this.doneCalls.length) return [...streamed, ...this.doneCalls];
    if (this.json.length === 0 || this.totalBytes > MAX_PARSED_JSON) return [];
    try {
      const body = JSON.parse(Buffer.concat(this.json).toString('utf8')) as Record<string, unknown>;
      const fromChat = ((body.choices as Record<string, unknown>[] | undefined) ?? []).flatMap((c) => {
        const message = c.message as Record<string, unknown> | undefined;
        return ((message?.tool_calls as Record<string, unknown>[] | undefined) ?? []).map((tc) => {
          const fn = tc.function as Record<string, unknown> | undefined;
          return call(tc.id, fn?.name, fn?.arguments);
        });
      });
      const fromResponses = ((body.output as Record<string, unknown>[] | undefined) ?? []).filter((o) => o.type === 'function_call').map((o) => call(o.call_id, o.name, o.arguments));
      return [...fromChat, ...fromResponses];
    } catch {
      return [];
    }
  }

  private keep(chunk: Buffer): void {
    this.totalBytes += chunk.length;
    if (this.keptBytes >= this.limit) return;
    this.kept.push(chunk);
    this.keptBytes += chunk.length;
  }
}

function call(id: unknown, name: unknown, args: unknown): ToolActivity {
  const text = asText(args);
  return {
    direction: 'call',
    ...(typeof id === 'string' ? { toolCallId: id } : {}),
    ...(typeof name === 'string' ? { name } : {}),
    ...(text !== undefined ? { content: cut(text) } : {}),
  };
}
