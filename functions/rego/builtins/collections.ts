/** Array, set and object builtins. */
import { RNumber, RObject, RSet, valuesEqual, type Value } from '../value.js';
import { array, def, elementError, int, object, set, typeError } from './operands.js';
import type { BuiltinDef } from './types.js';

function setOfSets(name: string, v: Value): RSet[] {
  if (!(v instanceof RSet)) throw typeError(name, 1, v, 'set');
  const out: RSet[] = [];
  for (const m of v) {
    if (!(m instanceof RSet)) throw elementError(name, 1, v, m, 'set');
    out.push(m);
  }
  return out;
}

function union(sets: readonly RSet[]): RSet {
  const out = new RSet();
  for (const s of sets) for (const m of s) out.add(m);
  return out;
}

function intersect(sets: readonly RSet[]): RSet {
  if (sets.length === 0) return new RSet();
  const [first, ...rest] = sets;
  const out = new RSet();
  for (const m of first!) if (rest.every((s) => s.has(m))) out.add(m);
  return out;
}

/** OPA's mergeWithOverwrite: b wins, except that two objects under the same key merge recursively. */
function mergeWithOverwrite(a: RObject, b: RObject): RObject {
  const out = new RObject();
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined) out.set(k, v);
    else if (v instanceof RObject && w instanceof RObject) out.set(k, mergeWithOverwrite(v, w));
    else out.set(k, w);
  }
  for (const [k, w] of b) if (!a.has(k)) out.set(k, w);
  return out;
}

/** Keys given as an array, set or object (its keys), for object.remove/object.filter. */
function keysParam(name: string, v: Value): RSet {
  if (Array.isArray(v)) return new RSet(v);
  if (v instanceof RSet) return v;
  if (v instanceof RObject) return new RSet(v.keys());
  throw typeError(name, 2, v, 'object', 'set', 'array');
}

/** Follows an array path through objects (keys), arrays (integer indexes) and sets (members). */
function findPath(root: Value, path: readonly Value[]): Value | undefined {
  let cur: Value = root;
  for (const step of path) {
    if (cur instanceof RObject) {
      const next = cur.get(step);
      if (next === undefined) return undefined;
      cur = next;
    } else if (Array.isArray(cur)) {
      if (!(step instanceof RNumber)) return undefined;
      const i = step.toSafeInt();
      if (i === undefined || i < 0 || i >= cur.length) return undefined;
      cur = cur[i]!;
    } else if (cur instanceof RSet) {
      const m = cur.get(step);
      if (m === undefined) return undefined;
      cur = m;
    } else {
      return undefined;
    }
  }
  return cur;
}

/** Whether sub appears contiguously, in order, within sup. */
function containsRun(sup: readonly Value[], sub: readonly Value[]): boolean {
  if (sub.length === 0) return true;
  outer: for (let i = 0; i + sub.length <= sup.length; i++) {
    for (let j = 0; j < sub.length; j++) if (!valuesEqual(sup[i + j]!, sub[j]!)) continue outer;
    return true;
  }
  return false;
}

/** object.subset: objects recursively, sets by membership, arrays as contiguous runs, array ⊇ set by membership. */
function isSubset(sup: Value, sub: Value): boolean {
  if (sup instanceof RObject && sub instanceof RObject) {
    for (const [k, v] of sub) {
      const w = sup.get(k);
      if (w === undefined) return false;
      if (!isSubset(w, v)) return false;
    }
    return true;
  }
  if (sup instanceof RSet && sub instanceof RSet) {
    for (const m of sub) if (!sup.has(m)) return false;
    return true;
  }
  if (Array.isArray(sup) && Array.isArray(sub)) return containsRun(sup, sub);
  if (Array.isArray(sup) && sub instanceof RSet) {
    const members = new RSet(sup);
    for (const m of sub) if (!members.has(m)) return false;
    return true;
  }
  return valuesEqual(sup, sub);
}

/** Go-style slice bounds clamped as OPA's array.slice does. */
function clampSlice(len: number, start: number, stop: number): [number, number] {
  const s = Math.max(0, start);
  const e = Math.min(len, stop);
  return s >= e ? [0, 0] : [s, e];
}

export const collectionBuiltins: readonly BuiltinDef[] = [
  def('array.concat', ['array', 'array'], 'array', (args) => [...array('array.concat', args, 0), ...array('array.concat', args, 1)]),
  def('array.slice', ['array', 'number', 'number'], 'array', (args) => {
    const a = array('array.slice', args, 0);
    const [s, e] = clampSlice(a.length, int('array.slice', args, 1), int('array.slice', args, 2));
    return a.slice(s, e);
  }),
  def('array.reverse', ['array'], 'array', (args) => [...array('array.reverse', args, 0)].reverse()),
  def('array.flatten', ['array'], 'array', (args) => {
    const out: Value[] = [];
    for (const e of array('array.flatten', args, 0)) {
      if (Array.isArray(e)) out.push(...e);
      else out.push(e);
    }
    return out;
  }),
  def('and', ['set', 'set'], 'set', (args) => intersect([set('and', args, 0), set('and', args, 1)])),
  def('or', ['set', 'set'], 'set', (args) => union([set('or', args, 0), set('or', args, 1)])),
  def('union', ['set'], 'set', (args) => union(setOfSets('union', args[0]!))),
  def('intersection', ['set'], 'set', (args) => intersect(setOfSets('intersection', args[0]!))),
  def('set_diff', ['set', 'set'], 'set', (args) => {
    const a = set('set_diff', args, 0);
    const b = set('set_diff', args, 1);
    return new RSet([...a].filter((m) => !b.has(m)));
  }),
  def('object.get', ['object', 'any', 'any'], 'any', (args) => {
    const o = object('object.get', args, 0);
    const key = args[1]!;
    if (!Array.isArray(key)) return o.get(key) ?? args[2]!;
    if (key.length === 0) return o;
    return findPath(o, key) ?? args[2]!;
  }),
  def('object.keys', ['object'], 'set', (args) => new RSet(object('object.keys', args, 0).keys())),
  def('object.union', ['object', 'object'], 'object', (args) => {
    const a = object('object.union', args, 0);
    const b = object('object.union', args, 1);
    return valuesEqual(a, b) ? a : mergeWithOverwrite(a, b);
  }),
  def('object.union_n', ['array'], 'object', (args) => {
    const arr = array('object.union_n', args, 0);
    let out = new RObject();
    for (const e of arr) {
      if (!(e instanceof RObject)) throw elementError('object.union_n', 1, arr, e, 'object');
      out = mergeWithOverwrite(out, e);
    }
    return out;
  }),
  def('object.remove', ['object', 'array|object|set'], 'object', (args) => {
    const o = object('object.remove', args, 0);
    const keys = keysParam('object.remove', args[1]!);
    const out = new RObject();
    for (const [k, v] of o) if (!keys.has(k)) out.set(k, v);
    return out;
  }),
  def('object.filter', ['object', 'array|object|set'], 'object', (args) => {
    const o = object('object.filter', args, 0);
    const keys = keysParam('object.filter', args[1]!);
    const out = new RObject();
    for (const [k, v] of o) if (keys.has(k)) out.set(k, v);
    return out;
  }),
  def('object.subset', ['object|array|set', 'object|array|set'], 'boolean', (args) => {
    const [sup, sub] = args as [Value, Value];
    if (!(sup instanceof RObject) && !(sup instanceof RSet) && !Array.isArray(sup)) throw typeError('object.subset', 1, sup, 'object', 'set', 'array');
    if (!(sub instanceof RObject) && !(sub instanceof RSet) && !Array.isArray(sub)) throw typeError('object.subset', 2, sub, 'object', 'set', 'array');
    return isSubset(sup, sub);
  }),
];
