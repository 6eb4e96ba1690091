import type { Readable } from 'node:stream';
import { Readable as ReadableStream } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { SseSplitter, type SseEvent } from '../upstream/sse.js';
import type { RelayObserver } from '../upstream/body-relay.js';
import { encodeEvent } from '../providers/bedrock/eventstream.js';
import { anthropicFormat, BlockStreamCheck, converseFormat, type ConverseEvent, type FullDecision, type Item } from './block-stream.js';
import type { Decision, StreamRule } from './decision.js';
import { FrameSplitter, readConverseFrame } from './eventstream-frames.js';
import { maskPatterns, maskSpans, matchSpans } from './redact.js';
import { BLOCKED_NOTICE, blockOutput, mapOutputText, readOutput, type OutputView } from './response-output.js';
import { StreamChecker } from './stream-checker.js';

/**
 * The response stage of one request. It runs as a body observer (so it sees the upstream
 * body as it is forwarded and finishes before the trace does) and computes, event by
 * event, what the client gets instead; `wrap` swaps those replacements into the body
 * stream. Modes: `incremental` (stream_redact / stream_deny over a look-behind window),
 * `buffered` (the stream is held, the full policy decides, then it is re-emitted), and for
 * plain JSON responses the body is always checked whole. Streams: chat and legacy
 * completions chunks, typed Responses events, Anthropic message events (SSE) and Converse
 * events (AWS event-stream frames).
 */
export interface ResponseCheckOptions {
  endpoint: string;
  sse: boolean;
  /** The body is AWS event-stream frames (ConverseStream on the native Bedrock ingress). */
  eventStream?: boolean;
  rules: { redact: StreamRule[]; deny: StreamRule[] };
  /** Full response policy on the complete output; throws on evaluation failure. */
  evaluate(output: OutputView): Decision;
  failMode: 'open' | 'closed';
  /** Bytes of the client's body kept for the trace (its body limit; default 1 MiB). */
  keepBytes?: number;
  /** Records the outcome (the trace step); called once, before the trace completes. */
  record(attributes: Record<string, unknown>): void;
}

const END = Symbol('end');
type Bytes = string | Buffer;
type Replacement = { raw: Bytes | typeof END; out: Bytes; stop?: boolean };

/** How much of what the client got is kept for the trace, unless told its body limit. */
const TRANSCRIPT_LIMIT = 1024 * 1024;
const sameBytes = (a: Bytes | typeof END, b: Bytes) => (typeof a === 'string' && typeof b === 'string' ? a === b : Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b));
const byteLength = (b: Bytes) => (typeof b === 'string' ? Buffer.byteLength(b) : b.length);
/** A typed SSE event (Responses, Anthropic): the event name is the payload's `type`. */
const typedEvent = (o: Record<string, unknown>) => `event: ${String(o.type)}\ndata: ${JSON.stringify(o)}\n\n`;

export class ResponseCheck implements RelayObserver {
  readonly mode: 'incremental' | 'buffered';
  private readonly checker: StreamChecker;
  private readonly queue: Replacement[] = [];
  private readonly plainChunks: Buffer[] = [];
  private fullText = '';
  private template: Record<string, unknown> | undefined;
  private cut: { pattern: string; at: number } | undefined;
  private recorded = false;
  private active = true;
  /** Set when the client's stream must stop after the replacement just queued. */
  stopAfter: string | undefined;
  /** Anthropic message events and Converse events: block-structured streams. */
  private readonly anthropic: BlockStreamCheck<Record<string, unknown>> | undefined;
  private readonly anthropicEvents = anthropicFormat();
  private readonly converse: BlockStreamCheck<ConverseEvent> | undefined;
  private readonly frames = new FrameSplitter();
  /** What the client gets (bounded), for the trace: never the unmasked upstream text. */
  private readonly transcript: Buffer[] = [];
  private transcriptBytes = 0;
  private totalBytes = 0;

  constructor(private readonly opts: ResponseCheckOptions) {
    this.mode = opts.rules.redact.length + opts.rules.deny.length > 0 ? 'incremental' : 'buffered';
    this.checker = new StreamChecker(opts.rules.redact, opts.rules.deny, this.mode === 'buffered');
    const decide = (view: OutputView): FullDecision => {
      this.fullText = view.text;
      return this.decideFull(view);
    };
    if (opts.sse && opts.endpoint === 'anthropic.messages') {
      this.anthropic = new BlockStreamCheck(this.anthropicEvents, this.checker, this.mode === 'buffered', decide);
    }
    if (opts.eventStream) this.converse = new BlockStreamCheck(converseFormat, this.checker, this.mode === 'buffered', decide);
  }

  /** The body the client got (or is getting) as far as it went, and its full length in bytes. */
  clientBody(): { body: Buffer; totalBytes: number } {
    return { body: Buffer.concat(this.transcript), totalBytes: this.totalBytes };
  }

  private enqueue(r: Replacement): void {
    this.queue.push(r);
    const n = byteLength(r.out);
    this.totalBytes += n;
    if (this.transcriptBytes < (this.opts.keepBytes ?? TRANSCRIPT_LIMIT) && n > 0) {
      this.transcript.push(typeof r.out === 'string' ? Buffer.from(r.out, 'utf8') : r.out);
      this.transcriptBytes += n;
    }
  }

  /** The upstream answered with an error: nothing to check. */
  deactivate(reason: string): void {
    this.active = false;
    this.once({ mode: 'skipped', reason });
  }

  onChunk(chunk: Buffer): void {
    if (!this.active || this.opts.sse) return;
    if (!this.converse) return void this.plainChunks.push(chunk);
    for (const frame of this.frames.push(chunk)) {
      const before = this.stopAfter;
      const out = this.rewriteConverseFrame(frame);
      this.enqueue({ raw: frame, out, ...(before === undefined && this.stopAfter !== undefined ? { stop: true } : {}) });
    }
  }

  onEvent(event: SseEvent): void {
    if (!this.active || !this.opts.sse) return;
    const before = this.stopAfter;
    const out = this.rewriteEvent(event);
    this.enqueue({ raw: event.raw, out, ...(before === undefined && this.stopAfter !== undefined ? { stop: true } : {}) });
  }

  onEnd(outcome: { error?: Error }): void {
    if (!this.active) return;
    if (this.converse || this.anthropic) {
      const block = (this.converse ?? this.anthropic)!;
      if (!block.stop) {
        const out = this.converse ? Buffer.concat(this.converse.end().map((i) => this.converseBytes(i))) : this.anthropic!.end().map((i) => this.anthropicBytes(i)).join('');
        this.enqueue({ raw: END, out });
      }
      this.finishAudit(outcome.error);
      return;
    }
    if (!this.opts.sse) {
      this.enqueue({ raw: END, out: this.rewritePlain() });
      return;
    }
    if (this.checker.isStopped || this.stopAfter !== undefined) {
      this.finishAudit(outcome.error);
      return;
    }
    // The upstream ended without [DONE] (or cut): release what is held.
    this.enqueue({ raw: END, out: this.template ? this.flush() : this.opts.endpoint === 'responses' ? this.releaseResponsesTail() : '' });
    this.finishAudit(outcome.error);
  }

  /** The client's body: the upstream body with each observed event (or the whole plain body) replaced. */
  wrap(source: Readable): Readable {
    const splitter = new SseSplitter();
    const decoder = new StringDecoder('utf8');
    let done = false;
    const plainHeld: string[] = [];
    const out = new ReadableStream({
      read() {
        source.resume();
      },
      destroy(err, cb) {
        if (!done) source.destroy(err ?? undefined);
        cb(err);
      },
    });
    const send = (bytes: Bytes) => {
      if (bytes.length > 0 && !out.push(bytes)) source.pause();
    };
    const frames = this.converse ? new FrameSplitter() : undefined;
    const stop = () => {
      done = true;
      out.push(null);
      source.destroy(new Error('stream stopped by the response policy (stream_deny)'));
    };
    /** One upstream event or frame: the replacement the check queued for it, else itself. False once the stream stopped. */
    const forward = (raw: Bytes): boolean => {
      const head = this.queue[0];
      if (!head || !sameBytes(head.raw, raw)) {
        send(raw);
        return true;
      }
      this.queue.shift();
      send(head.out);
      if (!head.stop) return true;
      stop();
      return false;
    };
    // Deferred a microtask: a relay may hand us a chunk synchronously from inside its push,
    // before its observers (this check among them) have seen the events in it.
    source.on('data', (chunk: Buffer | string) => queueMicrotask(() => onData(chunk)));
    const onData = (chunk: Buffer | string) => {
      if (done) return;
      if (frames) {
        for (const frame of frames.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk)) if (!forward(frame)) return;
        return;
      }
      const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
      if (!this.opts.sse) return void plainHeld.push(text);
      for (const event of splitter.push(text)) if (!forward(event.raw)) return;
    };
    source.on('end', () => queueMicrotask(() => onEnd()));
    const onEnd = () => {
      if (done) return;
      done = true;
      const rest = decoder.end();
      const end = this.queue.find((r) => r.raw === END);
      if (frames) {
        send(frames.pending);
        if (end) send(end.out);
      } else if (!this.opts.sse) {
        send(end ? end.out : plainHeld.join('') + rest);
      } else {
        if (rest) splitter.push(rest);
        send((splitter.pending ?? '') + (end?.out ?? ''));
      }
      out.push(null);
    };
    source.on('error', (err) => {
      if (done) return;
      done = true;
      out.destroy(err);
    });
    return out;
  }

  // --- SSE (chat.completions chunks) ---

  private rewriteEvent(event: SseEvent): string {
    if (this.stopAfter !== undefined || this.checker.isStopped) return '';
    if (this.opts.endpoint === 'responses') return this.rewriteResponsesEvent(event);
    if (this.anthropic) return this.rewriteAnthropicEvent(event);
    if (event.data.trim() === '[DONE]') return this.flush() + (this.stopAfter !== undefined ? '' : event.raw);
    let chunk: Record<string, unknown>;
    try {
      chunk = JSON.parse(event.data) as Record<string, unknown>;
    } catch {
      return event.raw;
    }
    const choices = chunk.choices as Record<string, unknown>[] | undefined;
    const choice = choices?.[0];
    if (!choice) return event.raw;
    const delta = (choice.delta ?? {}) as Record<string, unknown>;
    // Legacy completions carry the text in choices[].text; chat in choices[].delta.content.
    const completions = this.opts.endpoint === 'completions';
    const holder = completions ? choice : delta;
    const field = completions ? 'text' : 'content';
    let prefix = '';
    this.noteChatToolCalls(delta.tool_calls);
    if (typeof choice.finish_reason === 'string') this.finishReason = choice.finish_reason;
    const piece = holder[field];
    if (typeof piece === 'string' && piece !== '') {
      this.template = chunk;
      this.fullText += piece;
      const r = this.checker.push(piece);
      if (r.denied) return this.deny(r.denied);
      holder[field] = r.emit;
      if (r.emit === '' && choice.finish_reason == null && (completions || Object.keys(delta).every((k) => k === 'content'))) return '';
    }
    if (choice.finish_reason != null) {
      this.template ??= chunk;
      prefix = this.flush();
      if (this.stopAfter !== undefined) return prefix;
    }
    return prefix + `data: ${JSON.stringify(chunk)}\n\n`;
  }

  /** Releases the held text (buffered mode: after the full policy decided). */
  private release(): { text: string } | { denied: { pattern: string; at: number }; reasons?: string[] } {
    if (this.mode === 'buffered' && this.fullDecision === undefined) {
      const decided = this.decideFull();
      if (decided.deny) return { denied: { pattern: 'policy deny', at: 0 }, reasons: decided.reasons };
      const r = this.checker.end();
      return { text: r.emit ? decided.mask(r.emit) : '' };
    }
    const r = this.checker.end();
    return r.denied ? { denied: r.denied } : { text: r.emit };
  }

  private flush(): string {
    const r = this.release();
    if ('denied' in r) return this.deny(r.denied, r.reasons);
    return r.text ? this.contentChunk(r.text) : '';
  }

  // --- Anthropic message events (SSE) and Converse events (AWS event-stream) ---

  private rewriteAnthropicEvent(event: SseEvent): string {
    let obj: unknown;
    try {
      obj = JSON.parse(event.data);
    } catch {
      return event.raw;
    }
    if (!obj || typeof obj !== 'object' || typeof (obj as Record<string, unknown>).type !== 'string') return event.raw;
    const a = this.anthropic!;
    this.anthropicEvents.noteUsage(obj as Record<string, unknown>);
    const out = a.push({ event: obj as Record<string, unknown>, raw: event.raw }).map((i) => this.anthropicBytes(i)).join('');
    this.syncBlock(a);
    return out;
  }

  private anthropicBytes(i: Item<Record<string, unknown>>): string {
    return typeof i.raw === 'string' ? i.raw : typedEvent(i.event);
  }

  private rewriteConverseFrame(frame: Buffer): Buffer {
    if (this.stopAfter !== undefined) return Buffer.alloc(0);
    const event = readConverseFrame(frame);
    // Exceptions and frames that are not JSON events go through as they are.
    if (!event) return frame;
    const c = this.converse!;
    const out = Buffer.concat(c.push({ event, raw: frame }).map((i) => this.converseBytes(i)));
    this.syncBlock(c);
    return out;
  }

  private converseBytes(i: Item<ConverseEvent>): Buffer {
    return Buffer.isBuffer(i.raw) ? i.raw : encodeEvent(i.event.type, i.event.payload);
  }

  private syncBlock(block: BlockStreamCheck<unknown>): void {
    this.fullText = block.text;
    if (block.cut) this.cut = block.cut;
    if (block.stop) this.stopAfter ??= 'deny';
  }

  // --- SSE (Responses API typed events) ---

  private responseTemplate: Record<string, unknown> | undefined;
  private deltaTemplate: Record<string, unknown> | undefined;
  /** Text released per output item, what its done events must say. */
  private readonly itemText = new Map<string, string>();

  private rewriteResponsesEvent(event: SseEvent): string {
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(event.data) as Record<string, unknown>;
    } catch {
      return event.raw;
    }
    const itemId = typeof obj.item_id === 'string' ? obj.item_id : '';
    const released = (id: string) => this.itemText.get(id) ?? '';
    switch (obj.type) {
      case 'response.created':
        this.responseTemplate = obj.response as Record<string, unknown>;
        return event.raw;
      case 'response.output_text.delta': {
        if (typeof obj.delta !== 'string') return event.raw;
        this.deltaTemplate = obj;
        this.fullText += obj.delta;
        const r = this.checker.push(obj.delta);
        if (r.denied) return this.denyResponses(r.denied);
        if (!r.emit) return '';
        this.itemText.set(itemId, released(itemId) + r.emit);
        return typedEvent({ ...obj, delta: r.emit });
      }
      case 'response.output_text.done': {
        const r = this.release();
        if ('denied' in r) return this.denyResponses(r.denied, r.reasons);
        let out = '';
        if (r.text) {
          this.itemText.set(itemId, released(itemId) + r.text);
          out = typedEvent({ ...(this.deltaTemplate ?? obj), type: 'response.output_text.delta', item_id: itemId, delta: r.text });
        }
        return out + typedEvent({ ...obj, text: released(itemId) });
      }
      case 'response.content_part.done': {
        const part = obj.part as Record<string, unknown> | undefined;
        if (part?.type === 'output_text') part.text = released(itemId);
        return typedEvent(obj);
      }
      case 'response.output_item.done': {
        const item = obj.item as Record<string, unknown> | undefined;
        if (item?.type === 'function_call') this.streamedCalls.set(String(item.call_id ?? item.id ?? this.streamedCalls.size), { name: String(item.name ?? ''), arguments: String(item.arguments ?? '') });
        this.maskItem(item);
        return typedEvent(obj);
      }
      case 'response.completed':
      case 'response.incomplete': {
        const response = obj.response as Record<string, unknown> | undefined;
        for (const item of (response?.output as Record<string, unknown>[] | undefined) ?? []) this.maskItem(item);
        return typedEvent(obj);
      }
      default:
        return event.raw;
    }
  }

  /** The upstream ended without output_text.done: what is still held goes out as one last delta. */
  private releaseResponsesTail(): string {
    const r = this.release();
    if ('denied' in r) return this.denyResponses(r.denied, r.reasons);
    if (!r.text || !this.deltaTemplate) return '';
    return typedEvent({ ...this.deltaTemplate, type: 'response.output_text.delta', delta: r.text });
  }

  private maskItem(item: Record<string, unknown> | undefined): void {
    if (item?.type !== 'message' || typeof item.id !== 'string' || !this.itemText.has(item.id)) return;
    const text = this.itemText.get(item.id)!;
    for (const part of (item.content as Record<string, unknown>[] | undefined) ?? []) if (part.type === 'output_text') part.text = text;
  }

  private denyResponses(cut: { pattern: string; at: number }, reasons?: string[]): string {
    this.cut = cut;
    this.stopAfter = 'deny';
    if (reasons) this.fullDecision = { deny: true, reasons };
    const delta = { ...(this.deltaTemplate ?? { type: 'response.output_text.delta', output_index: 0, content_index: 0 }), type: 'response.output_text.delta', delta: BLOCKED_NOTICE };
    const response = { ...(this.responseTemplate ?? {}), status: 'incomplete', incomplete_details: { reason: 'content_filter' }, output: [] };
    return typedEvent(delta) + typedEvent({ type: 'response.incomplete', response });
  }

  private contentChunk(text: string): string {
    return this.chunkWith(text, null);
  }

  /** A chunk like the upstream's (its ids, no usage) with one choice: `text` (legacy completions) or `delta.content` (chat). */
  private chunkWith(text: string, finishReason: string | null): string {
    const chunk = structuredClone(this.template ?? {});
    chunk.choices = [this.opts.endpoint === 'completions' ? { index: 0, text, logprobs: null, finish_reason: finishReason } : { index: 0, delta: { content: text }, finish_reason: finishReason }];
    delete chunk.usage;
    return `data: ${JSON.stringify(chunk)}\n\n`;
  }

  private deny(cut: { pattern: string; at: number }, reasons?: string[]): string {
    this.cut = cut;
    this.stopAfter = 'deny';
    if (reasons) this.fullDecision = { deny: true, reasons };
    return `${this.chunkWith(BLOCKED_NOTICE, 'content_filter')}data: [DONE]\n\n`;
  }

  // --- the full policy ---

  private fullDecision: { deny: boolean; reasons: string[]; masked?: number; error?: string } | undefined;

  /** Tool calls assembled from chat deltas (by index), and the finish reason, for the policy's view. */
  private readonly streamedCalls = new Map<string, { name: string; arguments: string }>();
  private finishReason: string | undefined;

  private noteChatToolCalls(calls: unknown): void {
    if (!Array.isArray(calls)) return;
    for (const c of calls as Record<string, unknown>[]) {
      const key = String(c.index ?? 0);
      const fn = (c.function ?? {}) as Record<string, unknown>;
      const call = this.streamedCalls.get(key) ?? { name: '', arguments: '' };
      if (typeof fn.name === 'string') call.name = fn.name;
      if (typeof fn.arguments === 'string') call.arguments += fn.arguments;
      this.streamedCalls.set(key, call);
    }
  }

  /** The streamed output as the policy reads it (chat and Responses streams; block streams keep their own). */
  private streamView(finishReason?: string): OutputView {
    const block = this.anthropic ?? this.converse;
    if (block) return block.view();
    return { text: this.fullText, tool_calls: [...this.streamedCalls.values()].map((c) => ({ ...c })), finish_reason: this.cut ? 'content_filter' : (finishReason ?? this.finishReason ?? 'stop') };
  }

  private decideFull(view: OutputView = this.streamView()): { deny: boolean; reasons: string[]; mask: (t: string) => string } {
    try {
      const d = this.opts.evaluate(view);
      const deny = d.denyReasons.length > 0;
      const patterns = d.redact.flatMap((r) => (r.pattern ? [r.pattern] : []));
      const spans = d.redact.flatMap((r) => (r.span ? [r.span] : []));
      let masked = 0;
      const mask = (t: string) => {
        const m = maskPatterns(t, patterns);
        masked += m.masked + (t === view.text ? spans.length : 0);
        return t === view.text ? maskSpans(m.text, spans) : m.text;
      };
      this.fullDecision = { deny, reasons: deny ? d.denyReasons : [] };
      return { deny, reasons: d.denyReasons, mask: (t) => { const out = mask(t); this.fullDecision!.masked = masked; return out; } };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.fullDecision = { deny: this.opts.failMode === 'closed', reasons: [], error: message };
      return { deny: this.opts.failMode === 'closed', reasons: ['response policy unavailable'], mask: (t) => t };
    }
  }

  private finishAudit(error?: Error): void {
    // Incremental mode: the full policy still runs on the complete output, for the audit log.
    if (this.mode === 'incremental' && !this.fullDecision) {
      try {
        const d = this.opts.evaluate(this.streamView());
        this.fullDecision = { deny: d.denyReasons.length > 0, reasons: d.denyReasons };
      } catch (err) {
        this.fullDecision = { deny: false, reasons: [], error: err instanceof Error ? err.message : String(err) };
      }
    }
    this.once({
      mode: this.mode,
      checked: this.mode === 'incremental' ? { streamRedact: this.opts.rules.redact.length, streamDeny: this.opts.rules.deny.length, fullPolicyOnCompleteOutput: true } : { fullPolicyBeforeRelease: true },
      decision: this.cut ? 'deny' : this.fullDecision?.error ? 'error' : this.checker.masked > 0 || (this.fullDecision?.masked ?? 0) > 0 ? 'redact' : 'allow',
      masked: this.checker.masked + (this.fullDecision?.masked ?? 0),
      ...(this.cut ? { cutAt: this.cut.at, cutBy: this.cut.pattern } : {}),
      ...(this.fullDecision ? { fullPolicy: { deny: this.fullDecision.deny, reasons: this.fullDecision.reasons, ...(this.fullDecision.error ? { error: this.fullDecision.error } : {}), enforced: this.mode === 'buffered' } } : {}),
      outputChars: this.fullText.length,
      ...(error ? { streamError: error.message } : {}),
    });
  }

  // --- plain JSON ---

  private rewritePlain(): string {
    const original = Buffer.concat(this.plainChunks).toString('utf8');
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(original) as Record<string, unknown>;
    } catch {
      this.once({ mode: 'skipped', reason: 'response body is not JSON' });
      return original;
    }
    const view = readOutput(this.opts.endpoint, body);
    let d: Decision;
    try {
      d = this.opts.evaluate(view);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const code = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : 'internal';
      const closed = this.opts.failMode === 'closed';
      this.once({ mode: 'error', error: code, message: message.slice(0, 300), failMode: this.opts.failMode, ...(closed ? { decision: 'deny', withheld: true } : {}) });
      // Fail closed: the status was already sent, so the content is withheld instead.
      return closed ? JSON.stringify(blockOutput(this.opts.endpoint, body)) : original;
    }
    const streamDenied = this.opts.rules.deny.find((r) => matchSpans(r.pattern, view.text).length > 0);
    if (d.denyReasons.length > 0 || streamDenied) {
      this.once({ mode: 'buffered', decision: 'deny', reasons: d.denyReasons.length ? d.denyReasons : [`stream_deny ${streamDenied!.pattern}`] });
      return JSON.stringify(blockOutput(this.opts.endpoint, body));
    }
    const patterns = [...d.redact.flatMap((r) => (r.pattern ? [r.pattern] : [])), ...this.opts.rules.redact.map((r) => r.pattern)];
    const spans = d.redact.flatMap((r) => (r.span ? [r.span] : []));
    let masked = 0;
    const rewritten = mapOutputText(this.opts.endpoint, body, (t) => {
      const m = maskPatterns(t, patterns);
      masked += m.masked;
      if (t === view.text && spans.length) {
        masked += spans.length;
        return maskSpans(m.text, spans);
      }
      return m.text;
    });
    this.once({ mode: 'buffered', decision: masked > 0 ? 'redact' : 'allow', masked });
    return masked > 0 ? JSON.stringify(rewritten) : original;
  }

  private once(attributes: Record<string, unknown>): void {
    if (this.recorded) return;
    this.recorded = true;
    this.opts.record(attributes);
  }
}
