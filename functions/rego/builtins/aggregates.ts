/** count, sum, product, max, min, sort, any, all and the `in` membership builtins. */
import { RNumber, RObject, RSet, compareValues, num, valuesEqual, type Value } from '../value.js';
import { def, elementError, typeError } from './operands.js';
import type { BuiltinDef } from './types.js';

function collection(name: string, v: Value): Iterable<Value> {
  if (Array.isArray(v)) return v;
  if (v instanceof RSet) return v;
  throw typeError(name, 1, v, 'set', 'array');
}

function accumulate(name: string, v: Value, init: RNumber, op: (a: RNumber, b: RNumber) => RNumber): RNumber {
  let acc = init;
  for (const x of collection(name, v)) {
    if (!(x instanceof RNumber)) throw elementError(name, 1, v, x, 'number');
    acc = op(acc, x);
  }
  return acc;
}

/** Code points, as Go's len([]rune(s)). */
export function runeCount(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

export const aggregateBuiltins: readonly BuiltinDef[] = [
  def('count', ['array|object|set|string'], 'number', (args) => {
    const v = args[0]!;
    if (Array.isArray(v)) return num(v.length);
    if (v instanceof RSet || v instanceof RObject) return num(v.size);
    if (typeof v === 'string') return num(runeCount(v));
    throw typeError('count', 1, v, 'array', 'object', 'set', 'string');
  }),
  def('sum', ['array|set'], 'number', (args) => accumulate('sum', args[0]!, num(0), (a, b) => a.add(b))),
  def('product', ['array|set'], 'number', (args) => accumulate('product', args[0]!, num(1), (a, b) => a.mul(b))),
  def('max', ['array|set'], 'any', (args) => {
    let best: Value | undefined;
    for (const x of collection('max', args[0]!)) if (best === undefined || compareValues(best, x) <= 0) best = x;
    return best;
  }),
  def('min', ['array|set'], 'any', (args) => {
    let best: Value | undefined;
    for (const x of collection('min', args[0]!)) if (best === undefined || compareValues(best, x) >= 0) best = x;
    return best;
  }),
  def('sort', ['array|set'], 'array', (args) => {
    const v = args[0]!;
    if (v instanceof RSet) return [...v.sorted()];
    if (Array.isArray(v)) return [...v].sort(compareValues);
    throw typeError('sort', 1, v, 'set', 'array');
  }),
  def('any', ['array|set'], 'boolean', (args) => {
    const v = args[0]!;
    if (v instanceof RSet) return v.has(true);
    if (Array.isArray(v)) return v.includes(true);
    throw typeError('any', 1, v, 'array', 'set');
  }),
  def('all', ['array|set'], 'boolean', (args) => {
    const v = args[0]!;
    if (!(v instanceof RSet) && !Array.isArray(v)) throw typeError('all', 1, v, 'array', 'set');
    for (const x of v) if (x !== true) return false;
    return true;
  }),
  // `x in xs`: members of sets, elements of arrays, values of objects; false for anything else.
  def('internal.member_2', ['any', 'any'], 'boolean', (args) => {
    const [x, c] = args as [Value, Value];
    if (c instanceof RSet) return c.has(x);
    if (Array.isArray(c)) return c.some((e) => valuesEqual(e, x));
    if (c instanceof RObject) {
      for (const v of c.values()) if (valuesEqual(v, x)) return true;
    }
    return false;
  }),
  // `k, v in xs`: index/key k holds v.
  def('internal.member_3', ['any', 'any', 'any'], 'boolean', (args) => {
    const [k, v, c] = args as [Value, Value, Value];
    if (c instanceof RSet) return c.has(k) && valuesEqual(k, v);
    if (c instanceof RObject) {
      const got = c.get(k);
      return got !== undefined && valuesEqual(got, v);
    }
    if (Array.isArray(c) && k instanceof RNumber) {
      const i = k.toSafeInt();
      return i !== undefined && i >= 0 && i < c.length && valuesEqual(c[i]!, v);
    }
    return false;
  }),
];
