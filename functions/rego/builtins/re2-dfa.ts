/**
 * Whether a Go regexp matches anywhere in a string, decided by a lazily built DFA: each input
 * character is one table lookup, new states are built from the Thompson NFA on first use, and
 * the state table is bounded (cleared when full, as RE2's DFA does), so matching stays linear
 * in the input whatever the pattern. Nothing here backtracks.
 *
 * Before the automaton runs, literals derived from the syntax tree (re2-syntax.ts) narrow the
 * work: a literal every match contains is looked up once, and while no match is in progress
 * the scan jumps to the next occurrence of the literal every match starts with.
 */
import { parseRE2, prefixLiteral, requiredLiteral } from './re2-syntax.js';
import type { Assertion, Literal, Syntax } from './re2-syntax.js';

const OP_CHAR = 1;
const OP_SPLIT = 2;
const OP_ASSERT = 3;
const OP_MATCH = 4;

/** Upper bound on NFA size; larger programs stay on re2js. */
const MAX_NODES = 20_000;
/** Bytes of transition table per pattern before the state cache is cleared. */
const TABLE_BYTES = 64 * 1024;

// Character types at a position: what precedes (BEGIN at text start) or follows (END at text end).
const T_OTHER = 0;
const T_WORD = 1;
const T_NEWLINE = 2;
const T_EDGE = 3;

const A_BEGIN_TEXT = 1;
const A_END_TEXT = 2;
const A_BEGIN_LINE = 4;
const A_END_LINE = 8;
const A_WORD_BOUNDARY = 16;
const A_NOT_WORD_BOUNDARY = 32;

const ASSERTION_BITS: Record<Assertion, number> = {
  begin_text: A_BEGIN_TEXT,
  end_text: A_END_TEXT,
  begin_line: A_BEGIN_LINE,
  end_line: A_END_LINE,
  word_boundary: A_WORD_BOUNDARY,
  not_word_boundary: A_NOT_WORD_BOUNDARY,
};

/** The assertions that hold between a character of type `before` and one of type `after`. */
function context(before: number, after: number): number {
  let bits = 0;
  if (before === T_EDGE) bits |= A_BEGIN_TEXT | A_BEGIN_LINE;
  if (before === T_NEWLINE) bits |= A_BEGIN_LINE;
  if (after === T_EDGE) bits |= A_END_TEXT | A_END_LINE;
  if (after === T_NEWLINE) bits |= A_END_LINE;
  bits |= (before === T_WORD) !== (after === T_WORD) ? A_WORD_BOUNDARY : A_NOT_WORD_BOUNDARY;
  return bits;
}

function typeOf(c: number): number {
  if (c === 10) return T_NEWLINE;
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || (c >= 0x61 && c <= 0x7a)) return T_WORD;
  return T_OTHER;
}

function inRanges(ranges: readonly number[], c: number): boolean {
  let lo = 0;
  let hi = ranges.length / 2;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (c < ranges[2 * mid]!) hi = mid;
    else if (c > ranges[2 * mid + 1]!) lo = mid + 1;
    else return true;
  }
  return false;
}

class TooLarge extends Error {}

/** Thompson NFA in flat arrays. */
class Program {
  readonly op: number[] = [];
  readonly out1: number[] = [];
  readonly out2: number[] = [];
  /** CHAR: index into sets; ASSERT: assertion bit. */
  readonly arg: number[] = [];
  readonly sets: Array<readonly number[]> = [];
  assertions = 0;
  readonly start: number;

  constructor(root: Syntax) {
    const match = this.node(OP_MATCH, -1, -1, 0);
    this.start = this.compile(root, match);
  }

  private node(op: number, out1: number, out2: number, arg: number): number {
    if (this.op.length >= MAX_NODES) throw new TooLarge();
    this.op.push(op);
    this.out1.push(out1);
    this.out2.push(out2);
    this.arg.push(arg);
    return this.op.length - 1;
  }

  /** Compiles `n` so that it continues at `next`; returns its entry node. */
  private compile(n: Syntax, next: number): number {
    switch (n.kind) {
      case 'empty':
        return next;
      case 'chars':
        this.sets.push(n.ranges);
        return this.node(OP_CHAR, next, -1, this.sets.length - 1);
      case 'assert': {
        const bit = ASSERTION_BITS[n.assertion];
        this.assertions |= bit;
        return this.node(OP_ASSERT, next, -1, bit);
      }
      case 'concat': {
        let entry = next;
        for (let i = n.items.length - 1; i >= 0; i--) entry = this.compile(n.items[i]!, entry);
        return entry;
      }
      case 'alternate': {
        let entry = this.compile(n.items[n.items.length - 1]!, next);
        for (let i = n.items.length - 2; i >= 0; i--) entry = this.node(OP_SPLIT, this.compile(n.items[i]!, next), entry, 0);
        return entry;
      }
      case 'repeat': {
        let entry: number;
        if (n.max < 0) {
          const loop = this.node(OP_SPLIT, -1, next, 0);
          this.out1[loop] = this.compile(n.item, loop);
          entry = loop;
        } else {
          entry = next;
          for (let k = n.min; k < n.max; k++) entry = this.node(OP_SPLIT, this.compile(n.item, entry), next, 0);
        }
        for (let k = 0; k < n.min; k++) entry = this.compile(n.item, entry);
        return entry;
      }
    }
  }
}

const MATCHED = -2;
const UNKNOWN = -1;

interface LiteralFinder {
  /** Index of the next occurrence at or after `from`, or -1. */
  find(s: string, from: number): number;
}

function finder(lit: Literal): LiteralFinder {
  if (!lit.fold) return { find: (s, from) => s.indexOf(lit.text, from) };
  // A pattern of literal characters only: V8 runs it in O(input × literal), no backtracking
  // beyond one literal's length. 'u' gives Unicode simple case folding, RE2's notion of (?i).
  const re = new RegExp(lit.text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'), 'giu');
  return {
    find: (s, from) => {
      re.lastIndex = from;
      const m = re.exec(s);
      return m === null ? -1 : m.index;
    },
  };
}

export class LinearMatcher {
  private readonly prog: Program;
  /** Class boundaries: class k holds code points in [bounds[k-1], bounds[k]). */
  private readonly bounds: Int32Array;
  private readonly latin1 = new Uint16Array(256);
  private readonly classType: Uint8Array;
  private readonly classRep: Int32Array;
  private readonly stride: number;
  private readonly maxStates: number;
  /** Whether the pattern has assertions: if not, the preceding character's type is irrelevant. */
  private readonly typed: boolean;
  private readonly required: LiteralFinder | null;
  private readonly prefix: LiteralFinder | null;

  private stateIds = new Map<string, number>();
  private kernels: Int32Array[] = [];
  private before: number[] = [];
  private table: Int32Array;
  private endMatch: Int8Array;
  private mark: Int32Array;
  private generation = 0;

  private constructor(syntax: Syntax) {
    this.prog = new Program(syntax);
    this.typed = this.prog.assertions !== 0;
    const edges = new Set<number>();
    for (const set of this.prog.sets) for (let i = 0; i < set.length; i += 2) edges.add(set[i]!).add(set[i + 1]! + 1);
    if (this.typed) for (const b of [0x0a, 0x0b, 0x30, 0x3a, 0x41, 0x5b, 0x5f, 0x60, 0x61, 0x7b]) edges.add(b);
    edges.delete(0);
    this.bounds = Int32Array.from([...edges].sort((a, b) => a - b));
    const classes = this.bounds.length + 1;
    this.stride = classes;
    this.classRep = new Int32Array(classes);
    this.classType = new Uint8Array(classes);
    for (let k = 0; k < classes; k++) {
      const rep = k === 0 ? 0 : this.bounds[k - 1]!;
      this.classRep[k] = rep;
      this.classType[k] = typeOf(rep);
    }
    for (let c = 0; c < 256; c++) this.latin1[c] = this.classOf(c);
    this.maxStates = Math.max(16, Math.floor(TABLE_BYTES / (4 * classes)));
    this.table = new Int32Array(classes * 16).fill(UNKNOWN);
    this.endMatch = new Int8Array(16).fill(UNKNOWN);
    this.mark = new Int32Array(this.prog.op.length);
    const req = requiredLiteral(syntax);
    const pre = prefixLiteral(syntax);
    this.prefix = pre !== null ? finder(pre) : null;
    this.required = req !== null && !(pre !== null && pre.text === req.text && pre.fold === req.fold) ? finder(req) : null;
  }

  /** The matcher for a pattern re2js has accepted, or null when it is outside what this models. */
  static compile(pattern: string): LinearMatcher | null {
    const syntax = parseRE2(pattern);
    if (syntax === null) return null;
    try {
      return new LinearMatcher(syntax);
    } catch (err) {
      if (err instanceof TooLarge) return null;
      throw err;
    }
  }

  private classOf(c: number): number {
    const b = this.bounds;
    let lo = 0;
    let hi = b.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (b[mid]! <= c) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private state(kernel: Int32Array, before: number): number {
    const key = `${before}|${kernel.join(',')}`;
    const known = this.stateIds.get(key);
    if (known !== undefined) return known;
    const id = this.kernels.length;
    if ((id + 1) * this.stride > this.table.length) {
      const grown = new Int32Array(this.table.length * 2).fill(UNKNOWN);
      grown.set(this.table);
      this.table = grown;
      const ends = new Int8Array(this.endMatch.length * 2).fill(UNKNOWN);
      ends.set(this.endMatch);
      this.endMatch = ends;
    }
    this.kernels.push(kernel);
    this.before.push(before);
    this.stateIds.set(key, id);
    return id;
  }

  private reset(): void {
    this.stateIds = new Map();
    this.kernels = [];
    this.before = [];
    this.table = new Int32Array(this.stride * 16).fill(UNKNOWN);
    this.endMatch = new Int8Array(16).fill(UNKNOWN);
  }

  /**
   * Follows empty transitions from the state's NFA nodes (and the start node: the search is
   * unanchored) under the assertions that hold before a character of type `after`. Returns the
   * CHAR nodes reached, or null when the match node is reached.
   */
  private closure(st: number, after: number): number[] | null {
    const p = this.prog;
    const ctx = context(this.before[st]!, after);
    const gen = ++this.generation;
    const mark = this.mark;
    const chars: number[] = [];
    const stack: number[] = [p.start, ...this.kernels[st]!];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (mark[n] === gen) continue;
      mark[n] = gen;
      switch (p.op[n]) {
        case OP_MATCH:
          return null;
        case OP_CHAR:
          chars.push(n);
          break;
        case OP_SPLIT:
          stack.push(p.out2[n]!, p.out1[n]!);
          break;
        case OP_ASSERT:
          if ((p.arg[n]! & ctx) !== 0) stack.push(p.out1[n]!);
          break;
      }
    }
    return chars;
  }

  private step(st: number, cls: number): number {
    const chars = this.closure(st, this.classType[cls]!);
    let next: number;
    if (chars === null) next = MATCHED;
    else {
      const p = this.prog;
      const rep = this.classRep[cls]!;
      const outs = new Set<number>();
      for (const n of chars) if (inRanges(p.sets[p.arg[n]!]!, rep)) outs.add(p.out1[n]!);
      const kernel = Int32Array.from([...outs].sort((a, b) => a - b));
      if (this.kernels.length >= this.maxStates) {
        // Full: start over with only the states this scan needs from here on (linear still).
        const keep = this.kernels[st]!;
        const before = this.before[st]!;
        this.reset();
        st = this.state(keep, before);
      }
      next = this.state(kernel, this.typed ? this.classType[cls]! : T_OTHER);
    }
    // The table holds row offsets (state × stride), so the scan needs no multiplication.
    this.table[st * this.stride + cls] = next >= 0 ? next * this.stride : next;
    return next;
  }

  private matchesAtEnd(st: number): boolean {
    let e = this.endMatch[st]!;
    if (e === UNKNOWN) {
      e = this.closure(st, T_EDGE) === null ? 1 : 0;
      this.endMatch[st] = e;
    }
    return e === 1;
  }

  /** The state with no match in progress at position i (the preceding character's type known). */
  private idleAt(s: string, i: number): number {
    if (!this.typed) return this.state(new Int32Array(0), T_OTHER);
    if (i === 0) return this.state(new Int32Array(0), T_EDGE);
    let c = s.charCodeAt(i - 1);
    if (c >= 0xdc00 && c <= 0xdfff && i >= 2) {
      const h = s.charCodeAt(i - 2);
      if (h >= 0xd800 && h <= 0xdbff) c = 0x10000; // astral: neither word nor newline
    }
    return this.state(new Int32Array(0), typeOf(c));
  }

  /** Go's regexp.MatchString: whether the pattern matches anywhere in s. */
  test(s: string): boolean {
    if (this.required !== null && this.required.find(s, 0) < 0) return false;
    const n = s.length;
    const stride = this.stride;
    const latin1 = this.latin1;
    const skip = this.prefix !== null;
    let table = this.table;
    let st = this.idleAt(s, 0);
    let i = 0;
    while (i < n) {
      if (skip && this.kernels[st]!.length === 0) {
        const j = this.prefix!.find(s, i);
        if (j < 0) return false;
        if (j > i) {
          i = j;
          st = this.idleAt(s, j);
          table = this.table;
        }
      }
      // Fast path: Latin-1 characters over transitions already in the table, one lookup each.
      let row = st * stride;
      const from = i;
      if (skip) {
        while (i < n) {
          const b = s.charCodeAt(i);
          if (b > 255) break;
          const next = table[row + latin1[b]!]!;
          if (next < 0) break;
          i++;
          row = next;
          if (this.kernels[next / stride]!.length === 0) break;
        }
      } else {
        while (i < n) {
          const b = s.charCodeAt(i);
          if (b > 255) break;
          const next = table[row + latin1[b]!]!;
          if (next < 0) break;
          i++;
          row = next;
        }
      }
      st = row / stride;
      if (i >= n) break;
      // Back to idle: the prefix skip above runs again.
      if (i > from && skip && this.kernels[st]!.length === 0) continue;
      let c = s.charCodeAt(i);
      let width = 1;
      let cls: number;
      if (c < 256) cls = latin1[c]!;
      else {
        if (c >= 0xd800 && c <= 0xdfff) {
          const d = c <= 0xdbff && i + 1 < n ? s.charCodeAt(i + 1) : 0;
          if (d >= 0xdc00 && d <= 0xdfff) {
            c = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
            width = 2;
          } else c = 0xfffd; // a lone surrogate reads as U+FFFD, as Go reads invalid UTF-8
        }
        cls = this.classOf(c);
      }
      let next = table[st * stride + cls]!;
      if (next === UNKNOWN) {
        next = this.step(st, cls);
        table = this.table;
      } else if (next >= 0) next /= stride;
      if (next === MATCHED) return true;
      st = next;
      i += width;
    }
    return this.matchesAtEnd(st);
  }
}
