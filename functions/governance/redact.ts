import { RE2JS } from 're2js';

/** Masking with RE2 patterns (linear time, the same engine as the Rego regex builtins). */
const compiled = new Map<string, RE2JS>();

export function re2(pattern: string): RE2JS {
  let re = compiled.get(pattern);
  if (!re) {
    re = RE2JS.compile(pattern);
    if (compiled.size > 512) compiled.clear();
    compiled.set(pattern, re);
  }
  return re;
}

export interface Span {
  start: number;
  end: number;
}

/** Non-empty match spans of the pattern in the text. */
export function matchSpans(pattern: string, text: string): Span[] {
  const m = re2(pattern).matcher(text);
  const out: Span[] = [];
  let pos = 0;
  while (pos <= text.length && m.find(pos)) {
    const start = m.start();
    const end = m.end();
    if (end > start) out.push({ start, end });
    pos = end > start ? end : end + 1;
  }
  return out;
}

export const MASK_CHAR = '█';

/** Replaces every character of the spans with the mask character (length kept, so offsets stay valid). */
export function maskSpans(text: string, spans: Span[]): string {
  if (spans.length === 0) return text;
  const chars = text.split('');
  for (const { start, end } of spans) for (let i = Math.max(0, start); i < Math.min(end, chars.length); i++) chars[i] = MASK_CHAR;
  return chars.join('');
}

export function maskPatterns(text: string, patterns: string[]): { text: string; masked: number } {
  const spans = patterns.flatMap((p) => matchSpans(p, text));
  return { text: maskSpans(text, spans), masked: spans.length };
}
