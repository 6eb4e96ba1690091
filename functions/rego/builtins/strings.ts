/** String builtins, with Go's semantics (code points, Go's Unicode whitespace, strings.Replacer). */
import { RNumber, RSet, compareValues, formatValue, num, type Value } from '../value.js';
import { runeCount } from './aggregates.js';
import { goSprintf, type GoArg } from './gofmt.js';
import { builtinError, def, elementError, int, number, object, operandError, str, typeError } from './operands.js';
import type { BuiltinDef } from './types.js';

// unicode.IsSpace.
const GO_SPACE = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000]);

function trimBy(s: string, drop: (cp: number) => boolean, left: boolean, right: boolean): string {
  const cps = [...s];
  let a = 0;
  let b = cps.length;
  if (left) while (a < b && drop(cps[a]!.codePointAt(0)!)) a++;
  if (right) while (b > a && drop(cps[b - 1]!.codePointAt(0)!)) b--;
  return a === 0 && b === cps.length ? s : cps.slice(a, b).join('');
}

function cutset(chars: string): (cp: number) => boolean {
  const set = new Set([...chars].map((c) => c.codePointAt(0)!));
  return (cp) => set.has(cp);
}

/** Go's simple per-rune case mapping: a character whose JS mapping expands (ß → SS) stays as it is. */
function mapCase(s: string, upper: boolean): string {
  const whole = upper ? s.toUpperCase() : s.toLowerCase();
  // eslint-disable-next-line no-control-regex
  if (/^[\u0000-\u007f]*$/.test(s)) return whole;
  let out = '';
  for (const ch of s) {
    const m = upper ? ch.toUpperCase() : ch.toLowerCase();
    out += [...m].length === 1 ? m : ch;
  }
  return out;
}

/** Go's strings.NewReplacer(old1, new1, …).Replace(s): leftmost, non-overlapping, ties by argument order. */
export function goReplace(s: string, pairs: ReadonlyArray<readonly [string, string]>): string {
  if (pairs.length === 1 && pairs[0]![0] !== '') return s.split(pairs[0]![0]).join(pairs[0]![1]);
  let out = '';
  let i = 0;
  const emptyIdx = pairs.findIndex(([o]) => o === '');
  while (i <= s.length) {
    let matched = false;
    for (const [o, n] of pairs) {
      if (o !== '' && s.startsWith(o, i)) {
        out += n;
        i += o.length;
        matched = true;
        break;
      }
      if (o === '' && emptyIdx >= 0) {
        // An empty pattern matches before every character and at the end.
        out += n;
        if (i < s.length) {
          const cp = s.codePointAt(i)!;
          const len = cp > 0xffff ? 2 : 1;
          out += s.slice(i, i + len);
          i += len;
        } else {
          i++;
        }
        matched = true;
        break;
      }
    }
    if (!matched) {
      if (i < s.length) out += s[i];
      i++;
    }
  }
  return out;
}

/** Index in code points of the first occurrence, -1 if none. */
function runeIndexOf(base: string, search: string): number {
  const i = base.indexOf(search);
  if (i < 0) return -1;
  return runeCount(base.slice(0, i));
}

function stringsOrSlice(name: string, v: Value, pos: number): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) || v instanceof RSet) return checkedSlice(name, v, pos);
  throw typeError(name, pos, v, 'string', 'set', 'array');
}

function checkedSlice(name: string, v: Value[] | RSet, pos: number): string[] {
  const out: string[] = [];
  for (const e of v) {
    if (typeof e !== 'string') throw elementError(name, pos, v, e, 'string');
    out.push(e);
  }
  return out;
}

/** OPA's conversion of sprintf operands to Go values. */
function goArg(v: Value): GoArg {
  if (typeof v === 'string') return { kind: 'string', v };
  if (v instanceof RNumber) {
    const intText = v.text === undefined || /^-?\d+$/.test(v.text);
    if (v.isInteger() && intText) {
      const b = v.toBigInt()!;
      const big = b > 9223372036854775807n || b < -9223372036854775808n;
      return { kind: 'int', v: b, big };
    }
    return { kind: 'float', v: v.toNumber() };
  }
  return { kind: 'string', v: formatValue(v) };
}

function formatIntBase(n: RNumber, base: RNumber): string {
  const b = base.toString();
  const radix = b === '2' ? 2 : b === '8' ? 8 : b === '10' ? 10 : b === '16' ? 16 : 0;
  if (radix === 0) throw operandError('format_int', 2, 'must be one of {2, 8, 10, 16}');
  // Truncate toward zero as big.Float.Int does.
  const t = n.isInteger() ? n.toBigInt()! : (n.sign() < 0 ? n.ceil() : n.floor()).toBigInt()!;
  return t.toString(radix);
}

export const stringBuiltins: readonly BuiltinDef[] = [
  def('concat', ['string', 'array|set'], 'string', (args) => {
    const sep = str('concat', args, 0);
    const v = args[1]!;
    if (Array.isArray(v)) return checkedSlice('concat', v, 2).join(sep);
    if (v instanceof RSet) return checkedSlice('concat', [...v.sorted()], 2).join(sep);
    throw typeError('concat', 2, v, 'set', 'array');
  }),
  def('contains', ['string', 'string'], 'boolean', (args) => str('contains', args, 0).includes(str('contains', args, 1))),
  def('startswith', ['string', 'string'], 'boolean', (args) => str('startswith', args, 0).startsWith(str('startswith', args, 1))),
  def('endswith', ['string', 'string'], 'boolean', (args) => str('endswith', args, 0).endsWith(str('endswith', args, 1))),
  def('lower', ['string'], 'string', (args) => mapCase(str('lower', args, 0), false)),
  def('upper', ['string'], 'string', (args) => mapCase(str('upper', args, 0), true)),
  def('split', ['string', 'string'], 'array', (args) => {
    const s = str('split', args, 0);
    const d = str('split', args, 1);
    return d === '' ? [...s] : s.split(d);
  }),
  def('replace', ['string', 'string', 'string'], 'string', (args) => {
    const s = str('replace', args, 0);
    return goReplace(s, [[str('replace', args, 1), str('replace', args, 2)]]);
  }),
  def('strings.replace_n', ['object', 'string'], 'string', (args) => {
    const patterns = object('strings.replace_n', args, 0);
    const s = str('strings.replace_n', args, 1);
    const pairs: Array<[string, string]> = [];
    for (const [k, v] of [...patterns.entries()].sort((a, b) => compareValues(a[0], b[0]))) {
      if (typeof k !== 'string') throw operandError('strings.replace_n', 1, 'non-string key found in pattern object');
      if (typeof v !== 'string') throw operandError('strings.replace_n', 1, 'non-string value found in pattern object');
      pairs.push([k, v]);
    }
    return pairs.length === 0 ? s : goReplace(s, pairs);
  }),
  def('trim', ['string', 'string'], 'string', (args) => trimBy(str('trim', args, 0), cutset(str('trim', args, 1)), true, true)),
  def('trim_left', ['string', 'string'], 'string', (args) => trimBy(str('trim_left', args, 0), cutset(str('trim_left', args, 1)), true, false)),
  def('trim_right', ['string', 'string'], 'string', (args) => trimBy(str('trim_right', args, 0), cutset(str('trim_right', args, 1)), false, true)),
  def('trim_prefix', ['string', 'string'], 'string', (args) => {
    const s = str('trim_prefix', args, 0);
    const p = str('trim_prefix', args, 1);
    return s.startsWith(p) ? s.slice(p.length) : s;
  }),
  def('trim_suffix', ['string', 'string'], 'string', (args) => {
    const s = str('trim_suffix', args, 0);
    const p = str('trim_suffix', args, 1);
    return p !== '' && s.endsWith(p) ? s.slice(0, s.length - p.length) : s;
  }),
  def('trim_space', ['string'], 'string', (args) => trimBy(str('trim_space', args, 0), (cp) => GO_SPACE.has(cp), true, true)),
  def('sprintf', ['string', 'array'], 'string', (args) => {
    const f = str('sprintf', args, 0);
    const a = args[1]!;
    if (!Array.isArray(a)) throw typeError('sprintf', 2, a, 'array');
    return goSprintf(f, a.map(goArg));
  }),
  def('format_int', ['number', 'number'], 'string', (args) => formatIntBase(number('format_int', args, 0), number('format_int', args, 1))),
  def('indexof', ['string', 'string'], 'number', (args) => {
    const base = str('indexof', args, 0);
    const search = str('indexof', args, 1);
    if (search === '') throw builtinError('indexof', 'empty search character');
    return num(runeIndexOf(base, search));
  }),
  def('indexof_n', ['string', 'string'], 'array', (args) => {
    const base = str('indexof_n', args, 0);
    const search = str('indexof_n', args, 1);
    if (search === '') throw builtinError('indexof_n', 'empty search character');
    const out: Value[] = [];
    // Overlapping matches, reported as code point indexes.
    for (let i = base.indexOf(search); i >= 0; i = base.indexOf(search, i + 1)) out.push(num(runeCount(base.slice(0, i))));
    return out;
  }),
  def('substring', ['string', 'number', 'number'], 'string', (args) => {
    const s = str('substring', args, 0);
    const start = int('substring', args, 1);
    const length = int('substring', args, 2);
    if (start < 0) throw builtinError('substring', 'negative offset');
    const cps = /^[\u0000-\u007f]*$/.test(s) ? null : [...s];
    const len = cps ? cps.length : s.length;
    if (start >= len) return '';
    const end = length < 0 ? len : Math.min(len, start + length);
    return cps ? cps.slice(start, end).join('') : s.slice(start, end);
  }),
  def('strings.any_prefix_match', ['string|array|set', 'string|array|set'], 'boolean', (args) => {
    const strs = stringsOrSlice('strings.any_prefix_match', args[0]!, 1);
    const prefixes = stringsOrSlice('strings.any_prefix_match', args[1]!, 2);
    return strs.some((s) => prefixes.some((p) => s.startsWith(p)));
  }),
  def('strings.any_suffix_match', ['string|array|set', 'string|array|set'], 'boolean', (args) => {
    const strs = stringsOrSlice('strings.any_suffix_match', args[0]!, 1);
    const suffixes = stringsOrSlice('strings.any_suffix_match', args[1]!, 2);
    return strs.some((s) => suffixes.some((p) => s.endsWith(p)));
  }),
  def('strings.count', ['string', 'string'], 'number', (args) => {
    const s = str('strings.count', args, 0);
    const sub = str('strings.count', args, 1);
    if (sub === '') return num(runeCount(s) + 1);
    return num(s.split(sub).length - 1);
  }),
  def('strings.split_n', ['string', 'string', 'number'], 'array', (args) => {
    const s = str('strings.split_n', args, 0);
    const d = str('strings.split_n', args, 1);
    const n = int('strings.split_n', args, 2);
    const parts = d === '' ? [...s] : s.split(d);
    // The first n parts, or for negative n the last |n|; the rest is dropped.
    return n >= 0 ? parts.slice(0, n) : parts.slice(Math.max(0, parts.length + n));
  }),
  def('strings.reverse', ['string'], 'string', (args) => [...str('strings.reverse', args, 0)].reverse().join('')),
];
