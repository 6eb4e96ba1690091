import type { StreamRule } from './decision.js';
import { matchSpans, maskSpans } from './redact.js';

/**
 * Incremental stream_redact / stream_deny over a look-behind window. Text is held until
 * no future match can reach it: a match is at most `window` (the largest max_len)
 * characters long and must include a character not yet received, so everything before
 * the last `window - 1` characters is final. Tokens keep flowing with at most one window
 * of delay; a match split across chunks, or at the window's edge, is still caught. Pure.
 */
export interface CheckResult {
  /** Text safe to send now (masked). */
  emit: string;
  /** Set when a stream_deny pattern matched: the stream must stop; `at` is the offset in the output. */
  denied?: { pattern: string; at: number };
}

export class StreamChecker {
  private held = '';
  /** Characters already released. */
  private released = 0;
  private stopped = false;
  masked = 0;
  readonly window: number;

  constructor(
    private readonly redact: StreamRule[],
    private readonly deny: StreamRule[],
    /** Buffered mode: hold everything until the end. */
    private readonly holdAll = false,
  ) {
    this.window = Math.max(1, ...redact.map((r) => r.maxLen), ...deny.map((r) => r.maxLen));
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Offset (in output characters) up to which text was released. */
  get sent(): number {
    return this.released;
  }

  push(delta: string): CheckResult {
    if (this.stopped) return { emit: '' };
    this.held += delta;
    return this.release(false);
  }

  /** The upstream finished: release everything left. */
  end(): CheckResult {
    if (this.stopped) return { emit: '' };
    return this.release(true);
  }

  private release(final: boolean): CheckResult {
    for (const rule of this.deny) {
      const [hit] = matchSpans(rule.pattern, this.held);
      if (hit) {
        this.stopped = true;
        const at = this.released + hit.start;
        this.held = '';
        return { emit: '', denied: { pattern: rule.pattern, at } };
      }
    }
    const spans = this.redact.flatMap((r) => matchSpans(r.pattern, this.held));
    this.masked += spans.length;
    let text = maskSpans(this.held, spans);
    let cut = final ? text.length : this.holdAll ? 0 : Math.max(0, text.length - (this.window - 1));
    // Never release half of a masked span whose match may still grow.
    for (const s of spans) if (s.start < cut && s.end > cut) cut = s.start;
    // Never split a surrogate pair.
    if (cut > 0 && cut < text.length && /[\uD800-\uDBFF]/.test(text[cut - 1]!)) cut--;
    const emit = text.slice(0, cut);
    text = text.slice(cut);
    this.held = text;
    this.released += emit.length;
    return { emit };
  }
}
