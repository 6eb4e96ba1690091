import type { StreamChecker } from './stream-checker.js';
import { BLOCKED_NOTICE, CONVERSE_FILTERED_STOP, type OutputView } from './response-output.js';

/**
 * Response checks on block-structured streams: Anthropic message events and Converse
 * (AWS event-stream) events. Both carry the output as text deltas inside indexed content
 * blocks, close each block, then state the stop reason. The format tells what an event is
 * and how to write the events the check adds; this class decides, event by event, what
 * the client gets instead. Pure (no I/O): events in, events out.
 *
 * - incremental: each text delta goes through the look-behind window (StreamChecker); a
 *   block's held tail is released before its stop event; a stream_deny match ends the
 *   block with the notice, then the stop reason the format uses for a filtered answer,
 *   and the stream stops.
 * - buffered: everything after the message start is held until the stop-reason event;
 *   the full policy decides on the whole text; the held events are re-emitted with their
 *   text masked (masking keeps lengths, so each delta keeps its size), or on deny replaced
 *   by one text block with the notice and the filtered stop reason.
 */
export type BlockKind = { type: 'text'; index: number; text: string } | { type: 'blockStop'; index: number } | { type: 'stop' } | { type: 'other' };

export interface BlockFormat<E> {
  classify(event: E): BlockKind;
  /** For the policy's view of the output: a tool call's start, a piece of its input, the stop reason. */
  toolStart(event: E): { index: number; name: string } | undefined;
  toolInput(event: E): { index: number; partial: string } | undefined;
  stopReason(event: E): string | undefined;
  /** A text delta event. */
  text(index: number, text: string): E;
  /** Events that open a text block before its first delta (Anthropic: content_block_start; Converse: none). */
  blockStart(index: number): E[];
  blockStop(index: number): E;
  /** The stop-reason events for a filtered answer; `original` is the upstream's stop event (buffered), absent when the stream is cut. */
  filteredStop(original: E | undefined): E[];
}

export interface Item<E> {
  event: E;
  /** The upstream's bytes, when the event goes out unchanged. */
  raw?: string | Buffer;
}

export interface FullDecision {
  deny: boolean;
  reasons: string[];
  mask(text: string): string;
}

export class BlockStreamCheck<E> {
  private readonly held: { item: Item<E>; text?: { index: number; at: number; length: number } }[] = [];
  private readonly textBlocks = new Set<number>();
  private lastTextIndex = 0;
  private started = false;
  private decided = false;
  /** Everything the upstream said (unmasked), for the full policy. */
  text = '';
  private readonly tools = new Map<number, { name: string; arguments: string }>();
  private finishReason: string | null = null;
  /** Set when a stream_deny match ended the stream (incremental) or the full policy denied (buffered). */
  cut: { pattern: string; at: number } | undefined;
  /** The stream must stop after the items just returned. */
  stop = false;

  constructor(
    private readonly format: BlockFormat<E>,
    private readonly checker: StreamChecker,
    private readonly buffered: boolean,
    /** The full policy on the complete text (buffered mode). */
    private readonly decide: (view: OutputView) => FullDecision,
  ) {}

  /** The output so far as the policy reads it: text, tool calls, stop reason. */
  view(): OutputView {
    return { text: this.text, tool_calls: [...this.tools.values()].map((t) => ({ ...t })), finish_reason: this.cut ? 'content_filter' : this.finishReason };
  }

  push(item: Item<E>): Item<E>[] {
    if (this.stop) return [];
    const kind = this.format.classify(item.event);
    const start = this.format.toolStart(item.event);
    if (start) this.tools.set(start.index, { name: start.name, arguments: '' });
    const input = this.format.toolInput(item.event);
    const tool = input ? this.tools.get(input.index) : undefined;
    if (tool) tool.arguments += input!.partial;
    this.finishReason = this.format.stopReason(item.event) ?? this.finishReason;
    if (kind.type === 'text') {
      this.text += kind.text;
      this.textBlocks.add(kind.index);
      this.lastTextIndex = kind.index;
    }
    if (this.buffered) return this.pushBuffered(item, kind);
    if (this.decided) return kind.type === 'text' ? [] : [item];
    switch (kind.type) {
      case 'text': {
        const r = this.checker.push(kind.text);
        if (r.denied) return this.denyIncremental(kind.index, r.denied);
        return r.emit ? [{ event: this.format.text(kind.index, r.emit) }] : [];
      }
      case 'blockStop': {
        if (!this.textBlocks.has(kind.index)) return [item];
        const released = this.release(kind.index);
        return this.stop ? released : [...released, item];
      }
      case 'stop': {
        const released = this.release(this.lastTextIndex);
        return this.stop ? released : [...released, item];
      }
      default:
        return [item];
    }
  }

  /** The upstream ended (or was cut) without its stop event: what is still held goes out. */
  end(): Item<E>[] {
    if (this.stop) return [];
    if (this.buffered) return this.decided ? [] : this.releaseBuffered(undefined);
    return this.release(this.lastTextIndex);
  }

  /** Incremental: the window's tail as one more delta (or the notice, when it completes a deny match). */
  private release(index: number): Item<E>[] {
    const r = this.checker.end();
    if (r.denied) return this.denyIncremental(index, r.denied);
    return r.emit ? [{ event: this.format.text(index, r.emit) }] : [];
  }

  private denyIncremental(index: number, cut: { pattern: string; at: number }): Item<E>[] {
    this.cut = cut;
    this.stop = true;
    const open = this.textBlocks.has(index) ? [] : this.format.blockStart(index);
    return [...open, this.format.text(index, BLOCKED_NOTICE), this.format.blockStop(index), ...this.format.filteredStop(undefined)].map((event) => ({ event }));
  }

  private pushBuffered(item: Item<E>, kind: BlockKind): Item<E>[] {
    if (this.decided) return kind.type === 'text' ? [] : [item];
    if (!this.started) {
      // The message start goes out at once (it carries no output).
      this.started = true;
      if (kind.type === 'other') return [item];
    }
    if (kind.type === 'stop') return this.releaseBuffered(item);
    this.held.push(kind.type === 'text' ? { item, text: { index: kind.index, at: this.text.length - kind.text.length, length: kind.text.length } } : { item });
    return [];
  }

  private releaseBuffered(stopEvent: Item<E> | undefined): Item<E>[] {
    this.decided = true;
    const d = this.decide(this.view());
    if (d.deny) {
      this.cut = { pattern: 'policy deny', at: 0 };
      this.held.length = 0;
      const notice = [...this.format.blockStart(0), this.format.text(0, BLOCKED_NOTICE), this.format.blockStop(0)];
      return [...notice, ...this.format.filteredStop(stopEvent?.event)].map((event) => ({ event }));
    }
    const masked = d.mask(this.text);
    const out: Item<E>[] = [];
    for (const h of this.held.splice(0)) {
      if (!h.text) out.push(h.item);
      else {
        const piece = masked.slice(h.text.at, h.text.at + h.text.length);
        const original = this.text.slice(h.text.at, h.text.at + h.text.length);
        out.push(piece === original ? h.item : { event: this.format.text(h.text.index, piece) });
      }
    }
    if (stopEvent) out.push(stopEvent);
    return out;
  }
}

type Json = Record<string, unknown>;

/** Anthropic Messages stream events (`{type: "content_block_delta", …}`); a filtered answer stops with `refusal`. */
export function anthropicFormat(): BlockFormat<Json> & { noteUsage(e: Json): void } {
  let outputTokens = 0;
  return {
    noteUsage(e) {
      const usage = (e.type === 'message_start' ? (e.message as Json | undefined)?.usage : e.usage) as Json | undefined;
      if (typeof usage?.output_tokens === 'number') outputTokens = usage.output_tokens;
    },
    classify(e) {
      const index = typeof e.index === 'number' ? e.index : 0;
      if (e.type === 'content_block_delta') {
        const delta = e.delta as Json | undefined;
        if (delta?.type === 'text_delta' && typeof delta.text === 'string') return { type: 'text', index, text: delta.text };
      }
      if (e.type === 'content_block_stop') return { type: 'blockStop', index };
      if (e.type === 'message_delta') return { type: 'stop' };
      return { type: 'other' };
    },
    toolStart(e) {
      const block = e.content_block as Json | undefined;
      return e.type === 'content_block_start' && block?.type === 'tool_use' ? { index: Number(e.index ?? 0), name: String(block.name ?? '') } : undefined;
    },
    toolInput(e) {
      const delta = e.delta as Json | undefined;
      return e.type === 'content_block_delta' && delta?.type === 'input_json_delta' && typeof delta.partial_json === 'string' ? { index: Number(e.index ?? 0), partial: delta.partial_json } : undefined;
    },
    stopReason(e) {
      const reason = e.type === 'message_delta' ? (e.delta as Json | undefined)?.stop_reason : undefined;
      return typeof reason === 'string' ? reason : undefined;
    },
    text: (index, text) => ({ type: 'content_block_delta', index, delta: { type: 'text_delta', text } }),
    blockStart: (index) => [{ type: 'content_block_start', index, content_block: { type: 'text', text: '' } }],
    blockStop: (index) => ({ type: 'content_block_stop', index }),
    filteredStop(original) {
      const usage = (original?.usage as Json | undefined) ?? { output_tokens: outputTokens };
      const delta = { type: 'message_delta', delta: { stop_reason: 'refusal', stop_sequence: null }, usage };
      // Cut mid-stream: the upstream's message_stop will not come, so it is written here.
      return original ? [delta] : [delta, { type: 'message_stop' }];
    },
  };
}

/** A Converse stream event: its `:event-type` and JSON payload. */
export interface ConverseEvent {
  type: string;
  payload: Json;
}

/** ConverseStream events; text blocks open implicitly with their first delta; a filtered answer stops with guardrail_intervened. */
export const converseFormat: BlockFormat<ConverseEvent> = {
  classify(e) {
    const index = typeof e.payload.contentBlockIndex === 'number' ? e.payload.contentBlockIndex : 0;
    if (e.type === 'contentBlockDelta') {
      const delta = e.payload.delta as Json | undefined;
      if (typeof delta?.text === 'string') return { type: 'text', index, text: delta.text };
    }
    if (e.type === 'contentBlockStop') return { type: 'blockStop', index };
    if (e.type === 'messageStop') return { type: 'stop' };
    return { type: 'other' };
  },
  toolStart(e) {
    const use = (e.payload.start as Json | undefined)?.toolUse as Json | undefined;
    return e.type === 'contentBlockStart' && use ? { index: Number(e.payload.contentBlockIndex ?? 0), name: String(use.name ?? '') } : undefined;
  },
  toolInput(e) {
    const use = (e.payload.delta as Json | undefined)?.toolUse as Json | undefined;
    return e.type === 'contentBlockDelta' && typeof use?.input === 'string' ? { index: Number(e.payload.contentBlockIndex ?? 0), partial: use.input } : undefined;
  },
  stopReason: (e) => (e.type === 'messageStop' && typeof e.payload.stopReason === 'string' ? e.payload.stopReason : undefined),
  text: (index, text) => ({ type: 'contentBlockDelta', payload: { contentBlockIndex: index, delta: { text } } }),
  blockStart: () => [],
  blockStop: (index) => ({ type: 'contentBlockStop', payload: { contentBlockIndex: index } }),
  filteredStop: (original) => [{ type: 'messageStop', payload: { ...(original?.payload ?? {}), stopReason: CONVERSE_FILTERED_STOP } }],
};
