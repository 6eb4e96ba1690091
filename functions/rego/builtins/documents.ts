/** json.filter, json.remove, json.patch (RFC 6902 as OPA applies it) and graph.reachable(_paths). */
import { RNumber, RObject, RSet, valuesEqual, type Value } from '../value.js';
import { def, object, operandError, typeError } from './operands.js';
import type { BuiltinDef } from './types.js';

type Path = Value[];

/** A JSON pointer string ("/a/b~1c") or an array of segments. */
function parsePath(name: string, p: Value): Path {
  if (typeof p === 'string') {
    if (p === '') return [];
    return p
      .replace(/^\/+/, '')
      .split('/')
      .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'));
  }
  if (Array.isArray(p)) return [...p];
  throw operandError(name, 2, `must be one of {set, array} containing string paths or array of path segments but got ${typeNameOf(p)}`);
}

function typeNameOf(v: Value): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'string') return 'string';
  if (v instanceof RNumber) return 'number';
  if (Array.isArray(v)) return 'array';
  return v instanceof RSet ? 'set' : 'object';
}

function jsonPaths(name: string, v: Value): Path[] {
  if (Array.isArray(v)) return v.map((p) => parsePath(name, p));
  if (v instanceof RSet) return [...v].map((p) => parsePath(name, p));
  throw typeError(name, 2, v, 'set', 'array');
}

/** Paths as a tree of objects whose leaves are null (OPA's pathsToObject). */
function pathsToObject(paths: readonly Path[]): RObject {
  const root = new RObject();
  for (const path of paths) {
    if (path.length === 0) continue;
    let node = root;
    let done = false;
    for (let i = 0; i < path.length - 1 && !done; i++) {
      const child = node.get(path[i]!);
      if (child === undefined) {
        const o = new RObject();
        node.set(path[i]!, o);
        node = o;
      } else if (child instanceof RObject) {
        node = child;
      } else {
        done = true;
      }
    }
    if (!done) node.set(path[path.length - 1]!, null);
  }
  return root;
}

/** ast.Object.Filter: keep what the filter tree names; array elements are keyed by their index as a string. */
function filterValue(v: Value, filter: Value): Value {
  if (filter === null) return v;
  const f = filter as RObject;
  if (Array.isArray(v)) {
    const out: Value[] = [];
    v.forEach((e, i) => {
      const sub = f.get(String(i));
      if (sub !== undefined) out.push(filterValue(e, sub));
    });
    return out;
  }
  if (v instanceof RSet) {
    const out = new RSet();
    for (const m of v.sorted()) {
      const sub = f.get(m);
      if (sub !== undefined) out.add(filterValue(m, sub));
    }
    return out;
  }
  if (v instanceof RObject) {
    const out = new RObject();
    for (const [k, x] of v) {
      const sub = f.get(k);
      if (sub !== undefined) out.set(k, filterValue(x, sub));
    }
    return out;
  }
  return v;
}

/** OPA's jsonRemove: drop what the tree's null leaves name; undefined means "removed". */
function removeValue(a: Value, b: Value | undefined): Value | undefined {
  if (b === undefined) return a;
  if (b === null) return undefined;
  if (!(b instanceof RObject)) return a;
  if (a instanceof RObject) {
    const out = new RObject();
    for (const [k, v] of a) {
      const r = removeValue(v, b.get(k));
      if (r !== undefined) out.set(k, r);
    }
    return out;
  }
  if (a instanceof RSet) {
    const out = new RSet();
    for (const m of a) {
      const r = removeValue(m, b.get(m));
      if (r !== undefined) out.add(r);
    }
    return out;
  }
  if (Array.isArray(a)) {
    const out: Value[] = [];
    a.forEach((e, i) => {
      const r = removeValue(e, b.get(String(i)));
      if (r !== undefined) out.push(r);
    });
    return out;
  }
  return a;
}

class PatchError extends Error {}

/** An array index segment: a non-negative integer as number or digit string. */
function arrayIndex(seg: Value, len: number, allowEnd: boolean): number {
  if (allowEnd && seg === '-') return len;
  let i: number | undefined;
  if (seg instanceof RNumber) i = seg.toSafeInt();
  else if (typeof seg === 'string' && /^(0|[1-9]\d*)$/.test(seg)) i = Number(seg);
  if (i === undefined || i < 0 || i > (allowEnd ? len : len - 1)) throw new PatchError('index out of range');
  return i;
}

function getAt(doc: Value, path: Path): Value {
  let cur = doc;
  for (const seg of path) {
    if (cur instanceof RObject) {
      const next = cur.get(seg);
      if (next === undefined) throw new PatchError('path not found');
      cur = next;
    } else if (Array.isArray(cur)) {
      cur = cur[arrayIndex(seg, cur.length, false)]!;
    } else if (cur instanceof RSet) {
      const m = cur.get(seg);
      if (m === undefined) throw new PatchError('path not found');
      cur = m;
    } else {
      throw new PatchError('path not found');
    }
  }
  return cur;
}

/** Returns doc with `f` applied to the container at path[0..-1] and the last segment. */
function updateAt(doc: Value, path: Path, f: (container: Value, last: Value) => Value): Value {
  if (path.length === 1) return f(doc, path[0]!);
  const [head, ...rest] = path;
  if (doc instanceof RObject) {
    const child = doc.get(head!);
    if (child === undefined) throw new PatchError('path not found');
    return new RObject(doc.entries()).set(head!, updateAt(child, rest, f));
  }
  if (Array.isArray(doc)) {
    const i = arrayIndex(head!, doc.length, false);
    const out = [...doc];
    out[i] = updateAt(doc[i]!, rest, f);
    return out;
  }
  if (doc instanceof RSet) {
    const m = doc.get(head!);
    if (m === undefined) throw new PatchError('path not found');
    const out = new RSet([...doc].filter((x) => x !== m));
    return out.add(updateAt(m, rest, f));
  }
  throw new PatchError('path not found');
}

function addAt(doc: Value, path: Path, value: Value): Value {
  if (path.length === 0) return value;
  return updateAt(doc, path, (c, last) => {
    if (c instanceof RObject) return new RObject(c.entries()).set(last, value);
    if (Array.isArray(c)) {
      const i = arrayIndex(last, c.length, true);
      return [...c.slice(0, i), value, ...c.slice(i)];
    }
    if (c instanceof RSet) {
      if (!valuesEqual(last, value)) throw new PatchError('set members are added at their own path');
      return new RSet(c).add(value);
    }
    throw new PatchError('path not found');
  });
}

function removeAt(doc: Value, path: Path): Value {
  if (path.length === 0) throw new PatchError('cannot remove the root');
  return updateAt(doc, path, (c, last) => {
    if (c instanceof RObject) {
      if (!c.has(last)) throw new PatchError('path not found');
      return new RObject([...c.entries()].filter(([k]) => !valuesEqual(k, last)));
    }
    if (Array.isArray(c)) {
      const i = arrayIndex(last, c.length, false);
      return [...c.slice(0, i), ...c.slice(i + 1)];
    }
    if (c instanceof RSet) {
      if (!c.has(last)) throw new PatchError('path not found');
      return new RSet([...c].filter((m) => !valuesEqual(m, last)));
    }
    throw new PatchError('path not found');
  });
}

function attr(o: RObject, key: string): Value {
  const v = o.get(key);
  if (v === undefined) throw new PatchError(`missing '${key}' attribute`);
  return v;
}

function applyPatch(doc: Value, ops: readonly Value[]): Value {
  let cur = doc;
  for (const raw of ops) {
    if (!(raw instanceof RObject)) throw new PatchError('not an object');
    const op = attr(raw, 'op');
    if (typeof op !== 'string') throw new PatchError("attribute 'op' must be a string");
    if (!['add', 'remove', 'replace', 'move', 'copy', 'test'].includes(op)) throw new PatchError(`unrecognized op '${op}'`);
    const path = parsePath('json.patch', attr(raw, 'path'));
    switch (op) {
      case 'add':
        cur = addAt(cur, path, attr(raw, 'value'));
        break;
      case 'remove':
        cur = removeAt(cur, path);
        break;
      case 'replace':
        cur = addAt(path.length === 0 ? cur : removeAt(cur, path), path, attr(raw, 'value'));
        break;
      case 'move': {
        const from = parsePath('json.patch', attr(raw, 'from'));
        const chunk = getAt(cur, from);
        cur = addAt(removeAt(cur, from), path, chunk);
        break;
      }
      case 'copy': {
        const from = parsePath('json.patch', attr(raw, 'from'));
        cur = addAt(cur, path, getAt(cur, from));
        break;
      }
      default:
        if (!valuesEqual(getAt(cur, path), attr(raw, 'value'))) throw new PatchError('test failed');
    }
  }
  return cur;
}

function vertices(name: string, v: Value): Value[] {
  if (Array.isArray(v)) return v;
  if (v instanceof RSet) return [...v];
  throw typeError(name, 2, v, '{array, set}');
}

function neighbours(edges: Value): Value[] {
  if (Array.isArray(edges)) return edges;
  if (edges instanceof RSet) return [...edges];
  return [];
}

function buildPaths(graph: RObject, root: Value, path: Value[], out: RSet, reached: RSet): void {
  const edges = graph.get(root);
  if (edges === undefined) {
    out.add(path);
    return;
  }
  const here = [...path, root];
  const next = neighbours(edges);
  if (next.length === 0) {
    out.add(here);
    return;
  }
  const seen = new RSet(reached).add(root);
  for (const n of next) {
    if (seen.has(n)) out.add(here);
    else buildPaths(graph, n, here, out, seen);
  }
}

export const documentBuiltins: readonly BuiltinDef[] = [
  def('json.filter', ['object', 'array|set'], 'any', (args) => {
    const o = object('json.filter', args, 0);
    return filterValue(o, pathsToObject(jsonPaths('json.filter', args[1]!)));
  }),
  def('json.remove', ['object', 'array|set'], 'any', (args) => {
    const o = object('json.remove', args, 0);
    return removeValue(o, pathsToObject(jsonPaths('json.remove', args[1]!)));
  }),
  def('json.patch', ['any', 'array'], 'any', (args) => {
    const ops = args[1]!;
    if (!Array.isArray(ops)) throw typeError('json.patch', 2, ops, 'array');
    try {
      return applyPatch(args[0]!, ops);
    } catch (e) {
      // OPA makes a failing patch undefined rather than an error.
      if (e instanceof PatchError) return undefined;
      throw e;
    }
  }),
  def('graph.reachable', ['object', 'array|set'], 'set', (args, ctx) => {
    const graph = object('graph.reachable', args, 0);
    const queue = [...vertices('graph.reachable', args[1]!)];
    const reached = new RSet();
    for (let i = 0; i < queue.length; i++) {
      if ((i & 0xfff) === 0xfff) ctx.checkDeadline();
      const node = queue[i]!;
      const edges = graph.get(node);
      if (edges === undefined) continue;
      for (const n of neighbours(edges)) if (!reached.has(n)) queue.push(n);
      reached.add(node);
    }
    return reached;
  }),
  def('graph.reachable_paths', ['object', 'array|set'], 'set', (args) => {
    const graph = object('graph.reachable_paths', args, 0);
    const out = new RSet();
    for (const node of vertices('graph.reachable_paths', args[1]!)) {
      const edges = graph.get(node);
      if (edges === undefined) continue;
      const next = neighbours(edges);
      if (next.length === 0) out.add([node]);
      for (const n of next) buildPaths(graph, n, [node], out, new RSet([node]));
    }
    return out;
  }),
];
