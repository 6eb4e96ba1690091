/**
 * A reader of Go's regexp syntax (RE2, Perl flags) into a small syntax tree for the matching
 * automaton in re2-dfa.ts, plus the literals every match must contain, derived from that
 * tree. The pattern has already been accepted by re2js (which reports Go's syntax errors), so
 * this reader only needs to understand valid patterns; anything it does not model exactly
 * (Unicode classes, case folding beyond ASCII, octal escapes) makes it return null and the
 * pattern stays on re2js.
 */

/** Zero-width assertions: \A, \z, ^ and $ under (?m), \b, \B. */
export type Assertion = 'begin_text' | 'end_text' | 'begin_line' | 'end_line' | 'word_boundary' | 'not_word_boundary';

/** A literal character as it appeared in the pattern: `fold` when (?i) applies to an ASCII letter. */
export interface LiteralChar {
  readonly text: string;
  readonly fold: boolean;
}

export type Syntax =
  | { readonly kind: 'chars'; readonly ranges: readonly number[]; readonly literal?: LiteralChar }
  | { readonly kind: 'concat'; readonly items: readonly Syntax[] }
  | { readonly kind: 'alternate'; readonly items: readonly Syntax[] }
  | { readonly kind: 'repeat'; readonly min: number; readonly max: number; readonly item: Syntax }
  | { readonly kind: 'assert'; readonly assertion: Assertion }
  | { readonly kind: 'empty' };

/** A literal substring: `fold` means it is compared under Unicode simple case folding. */
export interface Literal {
  readonly text: string;
  readonly fold: boolean;
}

const MAX_RUNE = 0x10ffff;
const UNBOUNDED = -1;

class Unsupported extends Error {}

interface Flags {
  fold: boolean;
  multiLine: boolean;
  dotNL: boolean;
}

// Ranges are flat [lo, hi, lo, hi, …] lists of code points, sorted and merged.
function normalize(ranges: number[]): number[] {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < ranges.length; i += 2) pairs.push([ranges[i]!, ranges[i + 1]!]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of pairs) {
    const n = out.length;
    if (n > 0 && lo <= out[n - 1]! + 1) out[n - 1] = Math.max(out[n - 1]!, hi);
    else out.push(lo, hi);
  }
  return out;
}

function negate(ranges: readonly number[]): number[] {
  const r = normalize([...ranges]);
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < r.length; i += 2) {
    if (r[i]! > next) out.push(next, r[i]! - 1);
    next = r[i + 1]! + 1;
  }
  if (next <= MAX_RUNE) out.push(next, MAX_RUNE);
  return out;
}

/** Code points outside ASCII whose simple case folding reaches an ASCII letter (Kelvin sign, long s). */
const ASCII_FOLD_EXTRAS: Record<number, number> = { 0x6b: 0x212a, 0x73: 0x17f };

/**
 * Go's case folding of a set (appendFoldedRange): each letter joins its whole fold orbit. Only
 * sets within ASCII are modelled; anything else under (?i) is left to re2js.
 */
function fold(ranges: readonly number[]): number[] {
  const out = [...ranges];
  for (let i = 0; i < ranges.length; i += 2) {
    const lo = ranges[i]!;
    const hi = ranges[i + 1]!;
    if (hi > 0x7f) throw new Unsupported('case folding beyond ASCII');
    for (let c = lo; c <= hi; c++) {
      const lower = c | 0x20;
      if (lower < 0x61 || lower > 0x7a) continue;
      out.push(lower, lower, lower - 0x20, lower - 0x20);
      const extra = ASCII_FOLD_EXTRAS[lower];
      if (extra !== undefined) out.push(extra, extra);
    }
  }
  return normalize(out);
}

const DIGIT = [0x30, 0x39];
const SPACE = [0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20]; // Go's \s: [\t\n\f\r ], no \v, no Unicode spaces
const WORD = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];

const POSIX: Record<string, number[]> = {
  alnum: [0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a],
  alpha: [0x41, 0x5a, 0x61, 0x7a],
  ascii: [0x00, 0x7f],
  blank: [0x09, 0x09, 0x20, 0x20],
  cntrl: [0x00, 0x1f, 0x7f, 0x7f],
  digit: DIGIT,
  graph: [0x21, 0x7e],
  lower: [0x61, 0x7a],
  print: [0x20, 0x7e],
  punct: [0x21, 0x2f, 0x3a, 0x40, 0x5b, 0x60, 0x7b, 0x7e],
  space: [0x09, 0x0d, 0x20, 0x20],
  upper: [0x41, 0x5a],
  word: WORD,
  xdigit: [0x30, 0x39, 0x41, 0x46, 0x61, 0x66],
};

const PERL_CLASSES: Record<string, readonly number[]> = { d: DIGIT, s: SPACE, w: WORD };

function isCased(c: number): boolean {
  const ch = String.fromCodePoint(c);
  return ch.toLowerCase() !== ch || ch.toUpperCase() !== ch;
}

class Reader {
  private pos = 0;

  constructor(private readonly src: string) {}

  parse(): Syntax {
    const node = this.alternation({ fold: false, multiLine: false, dotNL: false });
    if (this.pos < this.src.length) throw new Unsupported(`unexpected ${this.src[this.pos]}`);
    return node;
  }

  private peek(): string | undefined {
    return this.src[this.pos];
  }

  private codePoint(): number {
    const c = this.src.codePointAt(this.pos);
    if (c === undefined) throw new Unsupported('unexpected end');
    this.pos += c > 0xffff ? 2 : 1;
    return c;
  }

  /** Flags set by (?i) inside a group last until the group closes, across `|` too. */
  private alternation(outer: Flags): Syntax {
    const flags = { ...outer };
    const branches: Syntax[] = [this.concatenation(flags)];
    while (this.peek() === '|') {
      this.pos++;
      branches.push(this.concatenation(flags));
    }
    return branches.length === 1 ? branches[0]! : { kind: 'alternate', items: branches };
  }

  private concatenation(flags: Flags): Syntax {
    const items: Syntax[] = [];
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === '|' || c === ')') break;
      if (c === '*' || c === '+' || c === '?') {
        this.pos++;
        const min = c === '+' ? 1 : 0;
        const max = c === '?' ? 1 : UNBOUNDED;
        this.repeatLast(items, min, max);
        continue;
      }
      if (c === '{') {
        const rep = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos));
        if (rep !== null) {
          this.pos += rep[0].length;
          const min = Number(rep[1]);
          const max = rep[2] === undefined ? min : rep[3] === '' ? UNBOUNDED : Number(rep[3]);
          this.repeatLast(items, min, max);
          continue;
        }
      }
      if (c === '(' && this.src.startsWith('(?', this.pos) && !/^\(\?P?</.test(this.src.slice(this.pos))) {
        const m = /^\(\?([imsU-]*)(\)|:)/.exec(this.src.slice(this.pos));
        if (m === null) throw new Unsupported('group syntax');
        this.pos += m[0].length;
        const set = applyFlags(flags, m[1]!);
        if (m[2] === ')') {
          Object.assign(flags, set);
          continue;
        }
        items.push(this.group(set));
        continue;
      }
      if (c === '(') {
        const named = /^\(\?P?<[A-Za-z0-9_]+>/.exec(this.src.slice(this.pos));
        this.pos += named !== null ? named[0].length : 1;
        items.push(this.group(flags));
        continue;
      }
      items.push(...this.atom(flags));
    }
    if (items.length === 0) return { kind: 'empty' };
    return items.length === 1 ? items[0]! : { kind: 'concat', items };
  }

  private group(flags: Flags): Syntax {
    const inner = this.alternation(flags);
    if (this.peek() !== ')') throw new Unsupported('missing )');
    this.pos++;
    return inner;
  }

  private repeatLast(items: Syntax[], min: number, max: number): void {
    if (this.peek() === '?') this.pos++; // non-greedy: the same language
    const last = items.pop();
    if (last === undefined) throw new Unsupported('missing argument to repetition operator');
    items.push({ kind: 'repeat', min, max, item: last });
  }

  /** One atom; \Q…\E gives several literal characters. */
  private atom(flags: Flags): Syntax[] {
    const c = this.peek()!;
    if (c === '[') return [this.charClass(flags)];
    if (c === '.') {
      this.pos++;
      return [{ kind: 'chars', ranges: flags.dotNL ? [0, MAX_RUNE] : [0, 0x09, 0x0b, MAX_RUNE] }];
    }
    if (c === '^') {
      this.pos++;
      return [{ kind: 'assert', assertion: flags.multiLine ? 'begin_line' : 'begin_text' }];
    }
    if (c === '$') {
      this.pos++;
      return [{ kind: 'assert', assertion: flags.multiLine ? 'end_line' : 'end_text' }];
    }
    if (c === '\\') {
      const next = this.src[this.pos + 1];
      switch (next) {
        case 'A':
          this.pos += 2;
          return [{ kind: 'assert', assertion: 'begin_text' }];
        case 'z':
          this.pos += 2;
          return [{ kind: 'assert', assertion: 'end_text' }];
        case 'b':
          this.pos += 2;
          return [{ kind: 'assert', assertion: 'word_boundary' }];
        case 'B':
          this.pos += 2;
          return [{ kind: 'assert', assertion: 'not_word_boundary' }];
        case 'Q': {
          this.pos += 2;
          const end = this.src.indexOf('\\E', this.pos);
          const text = this.src.slice(this.pos, end < 0 ? undefined : end);
          this.pos = end < 0 ? this.src.length : end + 2;
          return [...text].map((ch) => literal(ch.codePointAt(0)!, flags));
        }
        default: {
          const perl = this.perlClass(flags);
          if (perl !== undefined) return [{ kind: 'chars', ranges: perl }];
          return [literal(this.escape(), flags)];
        }
      }
    }
    return [literal(this.codePoint(), flags)];
  }

  /** \d \s \w and their negations, folded before negation as Go's appendGroup does. */
  private perlClass(flags: Flags): number[] | undefined {
    const letter = this.src[this.pos + 1];
    if (letter === undefined) return undefined;
    const base = PERL_CLASSES[letter.toLowerCase()];
    if (base === undefined) return undefined;
    this.pos += 2;
    const positive = flags.fold ? fold(base) : [...base];
    return letter === letter.toUpperCase() ? negate(positive) : positive;
  }

  /** An escape that denotes one character (the backslash not yet consumed). */
  private escape(): number {
    this.pos++;
    const c = this.peek();
    if (c === undefined) throw new Unsupported('trailing backslash');
    const simple: Record<string, number> = { a: 7, f: 12, t: 9, n: 10, r: 13, v: 11 };
    if (simple[c] !== undefined) {
      this.pos++;
      return simple[c]!;
    }
    if (c === 'x') {
      const m = /^x(?:\{([0-9A-Fa-f]+)\}|([0-9A-Fa-f]{2}))/.exec(this.src.slice(this.pos));
      if (m === null) throw new Unsupported('hex escape');
      this.pos += m[0].length;
      const v = parseInt(m[1] ?? m[2]!, 16);
      if (v > MAX_RUNE) throw new Unsupported('hex escape range');
      return v;
    }
    const cp = this.src.codePointAt(this.pos)!;
    // Go accepts any escaped punctuation as itself; letters and digits are classes, octal or errors.
    if (cp < 0x80 && !/[0-9A-Za-z]/.test(c)) {
      this.pos++;
      return cp;
    }
    throw new Unsupported(`escape \\${c}`);
  }

  private charClass(flags: Flags): Syntax {
    this.pos++; // [
    let negated = false;
    if (this.peek() === '^') {
      negated = true;
      this.pos++;
    }
    const ranges: number[] = [];
    let first = true;
    while (first || this.peek() !== ']') {
      if (this.peek() === undefined) throw new Unsupported('missing ]');
      first = false;
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(this.src.slice(this.pos));
      if (posix !== null) {
        const set = POSIX[posix[2]!];
        if (set === undefined) throw new Unsupported('POSIX class');
        this.pos += posix[0].length;
        const positive = flags.fold ? fold(set) : set;
        ranges.push(...(posix[1] === '^' ? negate(positive) : positive));
        continue;
      }
      if (this.peek() === '\\') {
        const perl = this.perlClass(flags);
        if (perl !== undefined) {
          ranges.push(...perl);
          continue;
        }
      }
      const lo = this.classChar();
      let hi = lo;
      if (this.peek() === '-' && this.src[this.pos + 1] !== ']' && this.src[this.pos + 1] !== undefined) {
        this.pos++;
        hi = this.classChar();
      }
      ranges.push(...(flags.fold ? foldRange(lo, hi) : [lo, hi]));
    }
    this.pos++; // ]
    const set = normalize(ranges);
    return { kind: 'chars', ranges: negated ? negate(set) : set };
  }

  private classChar(): number {
    if (this.peek() === '\\') return this.escape();
    return this.codePoint();
  }
}

/** A range under (?i): folded when within ASCII; beyond it, only if nothing in it has a case. */
function foldRange(lo: number, hi: number): number[] {
  if (hi <= 0x7f) return fold([lo, hi]);
  const from = Math.max(lo, 0x80);
  if (hi - from > 4096) throw new Unsupported('case folding of a wide range');
  for (let c = from; c <= hi; c++) if (isCased(c)) throw new Unsupported('case folding beyond ASCII');
  return [...(lo <= 0x7f ? fold([lo, 0x7f]) : []), from, hi];
}

function literal(c: number, flags: Flags): Syntax {
  const text = String.fromCodePoint(c);
  if (!flags.fold) return { kind: 'chars', ranges: [c, c], literal: { text, fold: false } };
  if (c > 0x7f && isCased(c)) throw new Unsupported('case folding beyond ASCII');
  const folded = c <= 0x7f ? fold([c, c]) : [c, c];
  const isLetter = folded.length > 2;
  return { kind: 'chars', ranges: folded, literal: { text: isLetter ? text.toLowerCase() : text, fold: isLetter } };
}

function applyFlags(flags: Flags, spec: string): Flags {
  const out = { ...flags };
  let on = true;
  for (const f of spec) {
    if (f === '-') on = false;
    else if (f === 'i') out.fold = on;
    else if (f === 'm') out.multiLine = on;
    else if (f === 's') out.dotNL = on;
    // U (ungreedy) changes which match is reported, never whether one exists.
  }
  return out;
}

/** The syntax tree of a valid Go pattern, or null when the automaton does not model it exactly. */
export function parseRE2(pattern: string): Syntax | null {
  try {
    return flatten(new Reader(pattern).parse());
  } catch (err) {
    if (err instanceof Unsupported) return null;
    throw err;
  }
}

function flatten(node: Syntax): Syntax {
  switch (node.kind) {
    case 'concat': {
      const items: Syntax[] = [];
      for (const item of node.items.map(flatten)) {
        if (item.kind === 'concat') items.push(...item.items);
        else if (item.kind !== 'empty') items.push(item);
      }
      return items.length === 0 ? { kind: 'empty' } : items.length === 1 ? items[0]! : { kind: 'concat', items };
    }
    case 'alternate':
      return { kind: 'alternate', items: node.items.map(flatten) };
    case 'repeat':
      return { ...node, item: flatten(node.item) };
    default:
      return node;
  }
}

/** Literal runs of a concatenation: consecutive literal characters (assertions do not break them). */
function runs(items: readonly Syntax[], visit: (child: Syntax) => void): Literal[] {
  const out: Literal[] = [];
  let text = '';
  let folded = false;
  const close = (): void => {
    if (text.length > 0) out.push({ text, fold: folded });
    text = '';
    folded = false;
  };
  for (const item of items) {
    if (item.kind === 'chars' && item.literal !== undefined) {
      text += item.literal.text;
      folded ||= item.literal.fold;
    } else if (item.kind === 'assert') {
      continue;
    } else {
      close();
      visit(item);
    }
  }
  close();
  return out;
}

function better(a: Literal | null, b: Literal | null): Literal | null {
  if (a === null) return b;
  if (b === null) return a;
  if (b.text.length !== a.text.length) return b.text.length > a.text.length ? b : a;
  return a.fold && !b.fold ? b : a;
}

/** The longest literal every match contains, found in the syntax tree (null when there is none). */
export function requiredLiteral(node: Syntax): Literal | null {
  switch (node.kind) {
    case 'chars':
      return node.literal ?? null;
    case 'repeat':
      return node.min >= 1 ? requiredLiteral(node.item) : null;
    case 'concat': {
      let best: Literal | null = null;
      const found = runs(node.items, (child) => {
        best = better(best, requiredLiteral(child));
      });
      for (const lit of found) best = better(best, lit);
      return best;
    }
    default:
      return null;
  }
}

/** A literal every match starts with (leading assertions aside), or null. */
export function prefixLiteral(node: Syntax): Literal | null {
  switch (node.kind) {
    case 'chars':
      return node.literal ?? null;
    case 'repeat':
      return node.min >= 1 ? prefixLiteral(node.item) : null;
    case 'concat': {
      let i = 0;
      while (i < node.items.length && node.items[i]!.kind === 'assert') i++;
      const head = node.items[i];
      if (head === undefined) return null;
      if (!(head.kind === 'chars' && head.literal !== undefined)) return prefixLiteral(head);
      let end = i;
      while (end < node.items.length) {
        const it = node.items[end]!;
        if (!(it.kind === 'chars' && it.literal !== undefined)) break;
        end++;
      }
      return runs(node.items.slice(i, end), () => undefined)[0] ?? null;
    }
    default:
      return null;
  }
}
