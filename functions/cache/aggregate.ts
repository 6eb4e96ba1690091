import type { SseEvent } from '../upstream/sse.js';

type Json = Record<string, unknown>;

/**
 * A streamed answer folded back into the answer the same format gives without streaming,
 * event by event (functions/cache/capture.ts feeds it). `result()` is the plain answer once
 * the stream said its last word cleanly, else undefined: an error event, a missing
 * terminator or an unfinished choice is never an answer to keep.
 */
export interface StreamAggregator {
  push(event: SseEvent): void;
  result(): Json | undefined;
}

export function aggregatorFor(endpoint: string): StreamAggregator | undefined {
  switch (endpoint) {
    case 'chat.completions':
      return new ChatAggregator();
    case 'completions':
      return new CompletionsAggregator();
    case 'anthropic.messages':
      return new AnthropicAggregator();
    case 'responses':
      return new ResponsesAggregator();
    default:
      return undefined;
  }
}

const parse = (data: string): Json | undefined => {
  try {
    const v = JSON.parse(data) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
  } catch {
    return undefined;
  }
};

interface ChatChoice {
  index: number;
  role?: string;
  content?: string;
  refusal?: string;
  toolCalls: Map<number, { id?: string; type?: string; name?: string; arguments: string }>;
  finishReason?: unknown;
  logprobs?: { content: unknown[]; refusal: unknown[] };
}

/** chat.completion.chunk events + [DONE] → chat.completion. */
class ChatAggregator implements StreamAggregator {
  private head: Json = {};
  private readonly choices = new Map<number, ChatChoice>();
  private usage: unknown;
  private done = false;
  private failed = false;

  push(event: SseEvent): void {
    if (this.failed || this.done) return;
    if (event.data === '[DONE]') {
      this.done = true;
      return;
    }
    const chunk = parse(event.data);
    if (!chunk || chunk.error !== undefined || event.event === 'error') {
      this.failed = true;
      return;
    }
    for (const f of ['id', 'created', 'model', 'system_fingerprint', 'service_tier'] as const) if (chunk[f] !== undefined && chunk[f] !== null) this.head[f] ??= chunk[f];
    if (chunk.usage) this.usage = chunk.usage;
    for (const c of (chunk.choices as Json[] | undefined) ?? []) {
      const index = Number(c.index ?? 0);
      let choice = this.choices.get(index);
      if (!choice) this.choices.set(index, (choice = { index, toolCalls: new Map() }));
      const delta = (c.delta ?? {}) as Json;
      if (typeof delta.role === 'string') choice.role = delta.role;
      if (typeof delta.content === 'string') choice.content = (choice.content ?? '') + delta.content;
      if (typeof delta.refusal === 'string') choice.refusal = (choice.refusal ?? '') + delta.refusal;
      for (const tc of (delta.tool_calls as Json[] | undefined) ?? []) {
        const ti = Number(tc.index ?? 0);
        let call = choice.toolCalls.get(ti);
        if (!call) choice.toolCalls.set(ti, (call = { arguments: '' }));
        const fn = (tc.function ?? {}) as Json;
        if (typeof tc.id === 'string') call.id = tc.id;
        if (typeof tc.type === 'string') call.type = tc.type;
        if (typeof fn.name === 'string') call.name = (call.name ?? '') + fn.name;
        if (typeof fn.arguments === 'string') call.arguments += fn.arguments;
      }
      const lp = c.logprobs as Json | null | undefined;
      if (lp) {
        choice.logprobs ??= { content: [], refusal: [] };
        if (Array.isArray(lp.content)) choice.logprobs.content.push(...(lp.content as unknown[]));
        if (Array.isArray(lp.refusal)) choice.logprobs.refusal.push(...(lp.refusal as unknown[]));
      }
      if (c.finish_reason) choice.finishReason = c.finish_reason;
    }
  }

  result(): Json | undefined {
    if (!this.done || this.failed || this.choices.size === 0) return undefined;
    const choices = [...this.choices.values()].sort((a, b) => a.index - b.index);
    if (choices.some((c) => !c.finishReason)) return undefined;
    return {
      id: this.head.id,
      object: 'chat.completion',
      created: this.head.created,
      model: this.head.model,
      choices: choices.map((c) => ({
        index: c.index,
        message: {
          role: c.role ?? 'assistant',
          content: c.content ?? null,
          ...(c.refusal !== undefined ? { refusal: c.refusal } : { refusal: null }),
          ...(c.toolCalls.size
            ? { tool_calls: [...c.toolCalls.entries()].sort(([a], [b]) => a - b).map(([, t]) => ({ id: t.id, type: t.type ?? 'function', function: { name: t.name ?? '', arguments: t.arguments } })) }
            : {}),
        },
        logprobs: c.logprobs ?? null,
        finish_reason: c.finishReason,
      })),
      ...(this.usage ? { usage: this.usage } : {}),
      ...(this.head.system_fingerprint !== undefined ? { system_fingerprint: this.head.system_fingerprint } : {}),
      ...(this.head.service_tier !== undefined ? { service_tier: this.head.service_tier } : {}),
    };
  }
}

/** Legacy text_completion chunks + [DONE] → text_completion. */
class CompletionsAggregator implements StreamAggregator {
  private head: Json = {};
  private readonly choices = new Map<number, { text: string; finishReason?: unknown; logprobs?: unknown }>();
  private usage: unknown;
  private done = false;
  private failed = false;

  push(event: SseEvent): void {
    if (this.failed || this.done) return;
    if (event.data === '[DONE]') {
      this.done = true;
      return;
    }
    const chunk = parse(event.data);
    if (!chunk || chunk.error !== undefined) {
      this.failed = true;
      return;
    }
    for (const f of ['id', 'created', 'model', 'system_fingerprint'] as const) if (chunk[f] !== undefined && chunk[f] !== null) this.head[f] ??= chunk[f];
    if (chunk.usage) this.usage = chunk.usage;
    for (const c of (chunk.choices as Json[] | undefined) ?? []) {
      const index = Number(c.index ?? 0);
      let choice = this.choices.get(index);
      if (!choice) this.choices.set(index, (choice = { text: '' }));
      if (typeof c.text === 'string') choice.text += c.text;
      if (c.logprobs) choice.logprobs = c.logprobs;
      if (c.finish_reason) choice.finishReason = c.finish_reason;
    }
  }

  result(): Json | undefined {
    if (!this.done || this.failed || this.choices.size === 0) return undefined;
    const choices = [...this.choices.entries()].sort(([a], [b]) => a - b);
    if (choices.some(([, c]) => !c.finishReason)) return undefined;
    return {
      id: this.head.id,
      object: 'text_completion',
      created: this.head.created,
      model: this.head.model,
      choices: choices.map(([index, c]) => ({ index, text: c.text, logprobs: c.logprobs ?? null, finish_reason: c.finishReason })),
      ...(this.usage ? { usage: this.usage } : {}),
      ...(this.head.system_fingerprint !== undefined ? { system_fingerprint: this.head.system_fingerprint } : {}),
    };
  }
}

/** Anthropic Messages events (message_start … message_stop) → Message. */
class AnthropicAggregator implements StreamAggregator {
  private message: Json | undefined;
  private readonly blocks: Json[] = [];
  private readonly partialJson = new Map<number, string>();
  private done = false;
  private failed = false;

  push(event: SseEvent): void {
    if (this.failed || this.done) return;
    const data = parse(event.data);
    const type = data?.type ?? event.event;
    if (!data || type === 'error') {
      this.failed = true;
      return;
    }
    switch (type) {
      case 'message_start':
        this.message = { ...((data.message as Json | undefined) ?? {}) };
        return;
      case 'content_block_start': {
        const index = Number(data.index ?? this.blocks.length);
        this.blocks[index] = { ...((data.content_block as Json | undefined) ?? {}) };
        return;
      }
      case 'content_block_delta': {
        const index = Number(data.index ?? 0);
        const block = this.blocks[index];
        const delta = (data.delta ?? {}) as Json;
        if (!block) return void (this.failed = true);
        if (delta.type === 'text_delta') block.text = String(block.text ?? '') + String(delta.text ?? '');
        else if (delta.type === 'input_json_delta') this.partialJson.set(index, (this.partialJson.get(index) ?? '') + String(delta.partial_json ?? ''));
        else if (delta.type === 'thinking_delta') block.thinking = String(block.thinking ?? '') + String(delta.thinking ?? '');
        else if (delta.type === 'signature_delta') block.signature = String(block.signature ?? '') + String(delta.signature ?? '');
        else if (delta.type === 'citations_delta') block.citations = [...((block.citations as unknown[] | undefined) ?? []), delta.citation];
        return;
      }
      case 'content_block_stop': {
        const index = Number(data.index ?? 0);
        const block = this.blocks[index];
        const partial = this.partialJson.get(index);
        if (block && partial !== undefined) {
          try {
            block.input = partial === '' ? {} : JSON.parse(partial);
          } catch {
            this.failed = true;
          }
        }
        return;
      }
      case 'message_delta': {
        if (!this.message) return void (this.failed = true);
        const delta = (data.delta ?? {}) as Json;
        if (delta.stop_reason !== undefined) this.message.stop_reason = delta.stop_reason;
        if (delta.stop_sequence !== undefined) this.message.stop_sequence = delta.stop_sequence;
        if (data.usage) this.message.usage = { ...((this.message.usage as Json | undefined) ?? {}), ...(data.usage as Json) };
        return;
      }
      case 'message_stop':
        this.done = true;
        return;
      default:
        // ping and events this version does not know change nothing.
        return;
    }
  }

  result(): Json | undefined {
    if (!this.done || this.failed || !this.message || !this.message.stop_reason) return undefined;
    if (this.blocks.some((b) => b === undefined)) return undefined;
    return { ...this.message, content: this.blocks };
  }
}

/** Responses API events: `response.completed` carries the whole response. */
class ResponsesAggregator implements StreamAggregator {
  private completed: Json | undefined;
  private failed = false;

  push(event: SseEvent): void {
    if (this.failed || this.completed) return;
    const data = parse(event.data);
    const type = data?.type ?? event.event;
    if (!data || type === 'error' || type === 'response.failed' || type === 'response.incomplete') {
      this.failed = true;
      return;
    }
    if (type === 'response.completed' && data.response && typeof data.response === 'object') this.completed = data.response as Json;
  }

  result(): Json | undefined {
    return this.failed ? undefined : this.completed;
  }
}
