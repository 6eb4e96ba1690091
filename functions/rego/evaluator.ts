import type { Body, CallTerm, Expr, Rule, Term } from './ast.js';
import { builtins as builtinTable, BuiltinError } from './builtins/index.js';
import type { BuiltinContext, BuiltinDef } from './builtins/types.js';
import type { CompiledWith, FuncRef, RuleNode } from './compiler.js';
import { RegoError, RegoEvalError } from './errors.js';
import type { Location } from './errors.js';
import { mapKey, num, RNumber, RObject, RSet, valuesEqual } from './value.js';
import type { Value } from './value.js';

type Env = Map<string, Value>;
/** A continuation: called once per solution; returns true to stop enumerating. */
type K = () => boolean;
type KV = (v: Value) => boolean;

/** What a `with` replaces a function by: another function, or a constant value. */
type FuncOverride = { readonly fn: FuncRef } | { readonly value: Value };

/** State that `with` swaps: documents, replaced functions and the cache of rule values. */
interface Ctx {
  readonly input: Value | undefined;
  readonly data: Value;
  readonly dataOverrides: ReadonlyArray<readonly Value[]> | undefined;
  readonly funcOverrides: ReadonlyMap<string, FuncOverride> | undefined;
  readonly cache: Map<RuleNode, Value | typeof UNDEF>;
  /** Values of single keys of partial sets/objects looked up without evaluating the whole rule. */
  readonly keyCache: Map<RuleNode, Map<string, Value | typeof UNDEF>>;
}

const UNDEF = Symbol('undefined');
const TRUE_TERM: Term = { type: 'scalar', value: true, loc: { file: '', line: 0, col: 0 } };

export interface EvalParams {
  readonly input: Value | undefined;
  readonly data: Value;
  readonly nowNs: bigint;
  /** performance.now() value after which evaluation stops with eval_cancel_error. */
  readonly deadline: number;
  readonly budgetMs: number;
  readonly print: (line: string) => void;
  /** OPA's strict builtin errors: builtin failures raise instead of making the call undefined. */
  readonly strictBuiltinErrors: boolean;
}

/** One solution of a query: the bindings of its named vars and the value of each expression. */
export interface QuerySolution {
  readonly bindings: Map<string, Value>;
  readonly values: Value[];
}

/** Top-down evaluator with backtracking in continuation-passing style. One instance per evaluation. */
export class Evaluator implements BuiltinContext {
  private ctx: Ctx;
  private steps = 0;
  readonly memo = new Map<string, unknown>();
  readonly nowNs: bigint;

  constructor(
    private readonly root: RuleNode,
    private readonly params: EvalParams,
  ) {
    this.nowNs = params.nowNs;
    this.ctx = { input: params.input, data: params.data, dataOverrides: undefined, funcOverrides: undefined, cache: new Map(), keyCache: new Map() };
  }

  print(line: string): void {
    this.params.print(line);
  }

  checkDeadline(): void {
    if (performance.now() > this.params.deadline) {
      throw new RegoEvalError('eval_cancel_error', `evaluation exceeded its budget of ${this.params.budgetMs} ms`);
    }
  }

  /** Runs a compiled query; `vars` are the query's named vars (compiled name → display name). */
  runQuery(body: Body, vars: ReadonlyArray<readonly [string, string]>, order: readonly number[], onSolution: (s: QuerySolution) => boolean): void {
    const env: Env = new Map();
    const values: Value[] = new Array<Value>(body.length).fill(true);
    const step = (i: number): boolean => {
      if (i === body.length) {
        const bindings = new Map<string, Value>();
        for (const [name, display] of vars) {
          const v = env.get(name);
          if (v !== undefined) bindings.set(display, v);
        }
        const ordered = order.map((j) => values[j]!);
        return onSolution({ bindings, values: ordered });
      }
      const e = body[i]!;
      if (e.kind === 'term' && !e.negated && e.with.length === 0) {
        return this.evalTerm(e.term, env, (v) => {
          // A query that is a single term captures its value, false included (OPA's
          // rewriteToCaptureValue): `data.a.allow` answers false rather than nothing.
          if (v === false && body.length > 1) return false;
          values[i] = v;
          return step(i + 1);
        });
      }
      if (e.kind === 'call' && !e.negated && e.with.length === 0 && this.arityOf(e.call) === e.call.args.length) {
        // Likewise a call's value is captured: `count(x)` answers its count.
        return this.evalCall(e.call, e.call.args.length, env, (v) => {
          if (v === false && body.length > 1) return false;
          values[i] = v;
          return step(i + 1);
        });
      }
      return this.evalExpr(e, env, () => step(i + 1));
    };
    step(0);
  }

  // ---- bodies and expressions ----

  private evalBody(body: Body, i: number, env: Env, k: K): boolean {
    if (i === body.length) return k();
    return this.evalExpr(body[i]!, env, () => this.evalBody(body, i + 1, env, k));
  }

  private evalExpr(e: Expr, env: Env, k: K): boolean {
    if ((++this.steps & 255) === 0) this.checkDeadline();
    if (e.with.length > 0) return this.evalWith(e, env, k);
    return this.evalExprNoWith(e, env, k);
  }

  private evalExprNoWith(e: Expr, env: Env, k: K): boolean {
    if (e.negated) {
      let found = false;
      this.evalExprInner(e, env, () => {
        found = true;
        return true;
      });
      return found ? false : k();
    }
    return this.evalExprInner(e, env, k);
  }

  private evalExprInner(e: Expr, env: Env, k: K): boolean {
    switch (e.kind) {
      case 'term':
        return this.evalTerm(e.term, env, (v) => (v === false ? false : k()));
      case 'call':
        return this.evalCallExpr(e.call, env, k);
      case 'unify':
      case 'assign':
        return this.unify(e.lhs, e.rhs, env, k);
      case 'some':
        return k();
      case 'somein':
        if (e.key === undefined) return this.evalTerm(e.coll, env, (coll) => this.iterate(coll, (_key, val) => this.unifyValue(e.value, val, env, k), false));
        return this.evalTerm(e.coll, env, (coll) =>
          this.iterate(coll, (key, val) => this.unifyValue(e.key!, key, env, () => this.unifyValue(e.value, val, env, k))),
        );
      case 'every':
        return this.evalTerm(e.domain, env, (dom) => {
          if (!isCollection(dom)) return false;
          let all = true;
          this.iterate(dom, (key, val) => {
            if (e.key !== undefined) env.set((e.key as { name: string }).name, key);
            env.set((e.value as { name: string }).name, val);
            let found = false;
            this.evalBody(e.body, 0, env, () => {
              found = true;
              return true;
            });
            if (e.key !== undefined) env.delete((e.key as { name: string }).name);
            env.delete((e.value as { name: string }).name);
            if (!found) all = false;
            return !found;
          });
          return all ? k() : false;
        });
    }
  }

  private evalWith(e: Expr, env: Env, k: K): boolean {
    const saved = this.ctx;
    let input = saved.input;
    let data = saved.data;
    let dataOverrides = saved.dataOverrides;
    let funcOverrides = saved.funcOverrides;
    for (const w of e.with) {
      const cw = w.compiled as CompiledWith;
      if (cw.kind === 'func' && cw.replacement !== undefined) {
        const m = new Map(funcOverrides ?? []);
        m.set(cw.key, { fn: cw.replacement });
        funcOverrides = m;
        continue;
      }
      const value = this.firstValue(cw.value, env);
      if (value === undefined) return false;
      if (cw.kind === 'input') input = setPath(input, cw.path, value);
      else if (cw.kind === 'data') {
        data = setPath(data, cw.path, value) ?? data;
        dataOverrides = [...(dataOverrides ?? []), cw.path];
      } else {
        const m = new Map(funcOverrides ?? []);
        m.set(cw.key, { value });
        funcOverrides = m;
      }
    }
    const inner: Ctx = { input, data, dataOverrides, funcOverrides, cache: new Map(), keyCache: new Map() };
    this.ctx = inner;
    try {
      return this.evalExprNoWith(e, env, () => {
        this.ctx = saved;
        try {
          return k();
        } finally {
          this.ctx = inner;
        }
      });
    } finally {
      this.ctx = saved;
    }
  }

  private firstValue(t: Term, env: Env): Value | undefined {
    let out: Value | undefined;
    this.evalTerm(t, env, (v) => {
      out = v;
      return true;
    });
    return out;
  }

  // ---- unification ----

  private unify(a: Term, b: Term, env: Env, k: K): boolean {
    if (this.isGround(a, env)) return this.evalTerm(a, env, (va) => this.unifyValue(b, va, env, k));
    if (this.isGround(b, env)) return this.evalTerm(b, env, (vb) => this.unifyValue(a, vb, env, k));
    if (a.type === 'array' && b.type === 'array') {
      if (a.items.length !== b.items.length) return false;
      return this.unifyPairs(a.items.map((x, i) => [x, b.items[i]!] as [Term, Term]), env, k);
    }
    if (a.type === 'object' && b.type === 'object') {
      if (a.items.length !== b.items.length) return false;
      const pairs: Array<[Term, Term]> = [];
      for (const [ka, va] of a.items) {
        const kv = this.firstValue(ka, env);
        const match = b.items.find(([kb]) => {
          const x = this.firstValue(kb, env);
          return kv !== undefined && x !== undefined && valuesEqual(kv, x);
        });
        if (match === undefined) return false;
        pairs.push([va, match[1]]);
      }
      return this.unifyPairs(pairs, env, k);
    }
    // Refs with unbound vars in their path enumerate; evaluate whichever side can be.
    if (this.isEvaluable(a, env)) return this.evalTerm(a, env, (va) => this.unifyValue(b, va, env, k));
    if (this.isEvaluable(b, env)) return this.evalTerm(b, env, (vb) => this.unifyValue(a, vb, env, k));
    throw new RegoEvalError('eval_internal_error', 'cannot unify two unbound terms', a.loc);
  }

  /** Unifies pairs in an order that binds vars before they are needed (`[x, y] = [y, 1]`). */
  private unifyPairs(pairs: Array<[Term, Term]>, env: Env, k: K): boolean {
    if (pairs.length === 0) return k();
    const idx = pairs.findIndex(([a, b]) => this.canUnify(a, b, env));
    if (idx < 0) throw new RegoEvalError('eval_internal_error', 'cannot unify two unbound terms', pairs[0]![0].loc);
    const [a, b] = pairs[idx]!;
    const rest = pairs.length === 1 ? pairs.slice(1) : pairs.filter((_, j) => j !== idx);
    return this.unify(a, b, env, () => this.unifyPairs(rest, env, k));
  }

  private canUnify(a: Term, b: Term, env: Env): boolean {
    if ((a.type === 'array' && b.type === 'array') || (a.type === 'object' && b.type === 'object')) return true;
    return this.isGround(a, env) || this.isGround(b, env) || this.isEvaluable(a, env) || this.isEvaluable(b, env);
  }

  /** Matches a term (a pattern with unbound vars, or anything evaluable) against a value. */
  private unifyValue(t: Term, v: Value, env: Env, k: K): boolean {
    switch (t.type) {
      case 'var': {
        const cur = env.get(t.name);
        if (cur !== undefined) return valuesEqual(cur, v) ? k() : false;
        if (t.name === 'input' || t.name === 'data') return this.evalTerm(t, env, (x) => (valuesEqual(x, v) ? k() : false));
        env.set(t.name, v);
        const r = k();
        env.delete(t.name);
        return r;
      }
      case 'scalar':
        return valuesEqual(t.value, v) ? k() : false;
      case 'array':
        if (!Array.isArray(v) || v.length !== t.items.length) return false;
        return this.unifyArray(t.items, v, 0, env, k);
      case 'object': {
        if (!(v instanceof RObject) || v.size !== t.items.length) return false;
        return this.unifyObject(t.items, v, 0, env, k);
      }
      default:
        return this.evalTerm(t, env, (x) => (valuesEqual(x, v) ? k() : false));
    }
  }

  private unifyArray(items: Term[], v: Value[], i: number, env: Env, k: K): boolean {
    if (i === items.length) return k();
    return this.unifyValue(items[i]!, v[i]!, env, () => this.unifyArray(items, v, i + 1, env, k));
  }

  private unifyObject(items: Array<[Term, Term]>, v: RObject, i: number, env: Env, k: K): boolean {
    if (i === items.length) return k();
    const [kt, vt] = items[i]!;
    return this.evalTerm(kt, env, (key) => {
      const x = v.get(key);
      if (x === undefined) return false;
      return this.unifyValue(vt, x, env, () => this.unifyObject(items, v, i + 1, env, k));
    });
  }

  /** No unbound vars anywhere in the term (closures excluded: they are evaluated as values). */
  private isGround(t: Term, env: Env): boolean {
    switch (t.type) {
      case 'scalar':
        return true;
      case 'var':
        return t.name === 'data' || t.name === 'input' || env.has(t.name);
      case 'ref':
        return this.isGround(t.head, env) && t.path.every((p) => this.isGround(p, env));
      case 'array':
      case 'set':
        return t.items.every((x) => this.isGround(x, env));
      case 'object':
        return t.items.every(([a, b]) => this.isGround(a, env) && this.isGround(b, env));
      case 'call':
        return t.args.every((x) => this.isGround(x, env));
      default:
        return true;
    }
  }

  /** Evaluable: refs whose head is bound (path vars enumerate), calls with bound args, closures. */
  private isEvaluable(t: Term, env: Env): boolean {
    switch (t.type) {
      case 'ref':
        return this.isGround(t.head, env);
      case 'var':
        return t.name === 'data' || t.name === 'input' || env.has(t.name);
      case 'array':
      case 'set':
        return t.items.every((x) => this.isEvaluable(x, env));
      case 'object':
        return t.items.every(([a, b]) => this.isEvaluable(a, env) && this.isEvaluable(b, env));
      default:
        return true;
    }
  }

  // ---- terms ----

  private evalTerm(t: Term, env: Env, k: KV): boolean {
    switch (t.type) {
      case 'scalar':
        return k(t.value);
      case 'var': {
        if (t.name === 'input') return this.ctx.input === undefined ? false : k(this.ctx.input);
        if (t.name === 'data') return this.evalDataNode(this.root, [], 0, env, k);
        const v = env.get(t.name);
        if (v === undefined) throw new RegoEvalError('eval_internal_error', `var ${t.name} is unbound`, t.loc);
        return k(v);
      }
      case 'ref':
        return this.evalRef(t, env, k);
      case 'array':
        return this.evalTerms(t.items, 0, [], env, (vs) => k(vs));
      case 'set':
        return this.evalTerms(t.items, 0, [], env, (vs) => k(new RSet(vs)));
      case 'object': {
        const flat: Term[] = [];
        for (const [a, b] of t.items) flat.push(a, b);
        return this.evalTerms(flat, 0, [], env, (vs) => {
          const o = new RObject();
          for (let i = 0; i < vs.length; i += 2) o.set(vs[i]!, vs[i + 1]!);
          return k(o);
        });
      }
      case 'arraycomp': {
        const out: Value[] = [];
        this.evalBody(t.body, 0, env, () => this.evalTerm(t.term, env, (v) => (out.push(v), false)));
        return k(out);
      }
      case 'setcomp': {
        const out = new RSet();
        this.evalBody(t.body, 0, env, () => this.evalTerm(t.term, env, (v) => (out.add(v), false)));
        return k(out);
      }
      case 'objectcomp': {
        const out = new RObject();
        this.evalBody(t.body, 0, env, () =>
          this.evalTerm(t.key, env, (kv) =>
            this.evalTerm(t.value, env, (vv) => {
              const prev = out.get(kv);
              if (prev !== undefined && !valuesEqual(prev, vv)) throw new RegoEvalError('eval_conflict_error', 'object keys must be unique', t.loc);
              out.set(kv, vv);
              return false;
            }),
          ),
        );
        return k(out);
      }
      case 'call':
        return this.evalCall(t, t.args.length, env, k);
    }
  }

  /** Evaluates terms left to right; k gets a fresh array unless `shared` (call arguments, never kept). */
  private evalTerms(ts: Term[], i: number, acc: Value[], env: Env, k: (vs: Value[]) => boolean, shared = false): boolean {
    // Constants and bound vars need no continuation: a loop keeps long literals off the stack.
    for (;;) {
      if (i === ts.length) return k(shared ? acc : acc.slice());
      const c = ts[i]!;
      if (c.type === 'scalar') acc[i] = c.value;
      else if (c.type === 'var' && env.has(c.name)) acc[i] = env.get(c.name)!;
      else break;
      i++;
    }
    const t = ts[i]!;
    return this.evalTerm(t, env, (v) => {
      acc[i] = v;
      return this.evalTerms(ts, i + 1, acc, env, k, shared);
    });
  }

  private evalRef(t: Term & { type: 'ref' }, env: Env, k: KV): boolean {
    const head = t.head;
    if (head.type === 'var') {
      if (head.name === 'data') return this.evalDataNode(this.root, t.path, 0, env, k);
      if (head.name === 'input') {
        const input = this.ctx.input;
        return input === undefined ? false : this.walkPath(input, t.path, 0, env, k);
      }
    }
    return this.evalTerm(head, env, (hv) => this.walkPath(hv, t.path, 0, env, k));
  }

  /** Applies ref path terms to a value: ground keys index, unbound vars enumerate. */
  private walkPath(v: Value, path: Term[], i: number, env: Env, k: KV): boolean {
    if (i === path.length) return k(v);
    const p = path[i]!;
    if (p.type === 'scalar') {
      const x = indexValue(v, p.value);
      return x === undefined ? false : this.walkPath(x, path, i + 1, env, k);
    }
    if (p.type === 'var') {
      const bound = env.get(p.name);
      if (bound !== undefined) {
        const x = indexValue(v, bound);
        return x === undefined ? false : this.walkPath(x, path, i + 1, env, k);
      }
      if (p.name === 'input' || p.name === 'data') {
        return this.evalTerm(p, env, (key) => {
          const x = indexValue(v, key);
          return x === undefined ? false : this.walkPath(x, path, i + 1, env, k);
        });
      }
      // A wildcard's key is never read: skip binding it (and building array index numbers).
      if (p.name.startsWith('$_')) return this.iterate(v, (_key, val) => this.walkPath(val, path, i + 1, env, k), false);
      return this.iterate(v, (key, val) => {
        env.set(p.name, key);
        const r = this.walkPath(val, path, i + 1, env, k);
        env.delete(p.name);
        return r;
      });
    }
    if (this.isGround(p, env) || p.type === 'ref' || p.type === 'call') {
      return this.evalTerm(p, env, (key) => {
        const x = indexValue(v, key);
        return x === undefined ? false : this.walkPath(x, path, i + 1, env, k);
      });
    }
    // A composite key with unbound vars: match it against every key.
    return this.iterate(v, (key, val) => this.unifyValue(p, key, env, () => this.walkPath(val, path, i + 1, env, k)));
  }

  /** Calls f for each (key, value); with needKey false, array keys are not built (f gets null). */
  private iterate(v: Value, f: (key: Value, val: Value) => boolean, needKey = true): boolean {
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        if ((i & 1023) === 1023) this.checkDeadline();
        if (f(needKey ? num(i) : null, v[i]!)) return true;
      }
      return false;
    }
    // OPA iterates objects and sets in sorted key order; results built by iteration follow it.
    if (v instanceof RObject) {
      for (const [key, val] of v.sortedEntries()) if (f(key, val)) return true;
      return false;
    }
    if (v instanceof RSet) {
      for (const x of v.sorted()) if (f(x, x)) return true;
      return false;
    }
    return false;
  }

  // ---- data: base documents merged with rules ----

  private evalDataNode(node: RuleNode, path: Term[], i: number, env: Env, k: KV): boolean {
    if (!node.hasRules || this.isOverridden(node.path)) {
      const base = this.baseLookup(node.path);
      return base === undefined ? false : this.walkPath(base, path, i, env, k);
    }
    const ownRules = node.complete.length + node.multi.length + node.dynamic.length > 0 || node.defaultRule !== undefined;
    if (i < path.length && ownRules && this.keyDirected(node) && !this.ctx.cache.has(node)) {
      const p = path[i]!;
      if (p.type === 'scalar') return this.lookupKey(node, p.value, path, i, env, k);
      if (p.type === 'var' && env.has(p.name)) return this.lookupKey(node, env.get(p.name)!, path, i, env, k);
      if (p.type !== 'var' && this.isGround(p, env)) return this.evalTerm(p, env, (key) => this.lookupKey(node, key, path, i, env, k));
    }
    if (i === path.length || ownRules) {
      const v = this.nodeValue(node);
      return v === undefined ? false : this.walkPath(v, path, i, env, k);
    }
    const p = path[i]!;
    if (p.type === 'scalar') return this.dataStep(node, p.value, path, i, env, k);
    if (p.type === 'var' && env.has(p.name)) return this.dataStep(node, env.get(p.name)!, path, i, env, k);
    if (p.type !== 'var' && this.isGround(p, env)) return this.evalTerm(p, env, (key) => this.dataStep(node, key, path, i, env, k));
    const v = this.nodeValue(node);
    return v === undefined ? false : this.walkPath(v, path, i, env, k);
  }

  /** Partial sets and objects (only) can be looked up by key without evaluating every key. */
  private keyDirected(node: RuleNode): boolean {
    if (node.complete.length > 0 || node.defaultRule !== undefined) return false;
    return (node.multi.length > 0) !== (node.dynamic.length > 0);
  }

  /** `node[key]…` evaluating only the rules that can produce key (memoized per key). */
  private lookupKey(node: RuleNode, key: Value, path: Term[], i: number, env: Env, k: KV): boolean {
    let perNode = this.ctx.keyCache.get(node);
    if (perNode === undefined) {
      perNode = new Map();
      this.ctx.keyCache.set(node, perNode);
    }
    const mk = mapKey(key);
    let v: Value | undefined;
    const cached = perNode.get(mk);
    if (cached !== undefined) v = cached === UNDEF ? undefined : cached;
    else {
      v = this.computeKey(node, key);
      perNode.set(mk, v === undefined ? UNDEF : v);
    }
    return v === undefined ? false : this.walkPath(v, path, i + 1, env, k);
  }

  private computeKey(node: RuleNode, key: Value): Value | undefined {
    let v: Value | undefined;
    if (node.multi.length > 0) {
      v = this.evalMulti(node, key).has(key) ? key : undefined;
    } else {
      const obj = new RObject();
      for (const d of node.dynamic) this.evalDynamic(d.rule, d.rule.ref.slice(d.start), obj, key);
      v = obj.get(key);
      const child = node.children.get(mapKey(key));
      if (child !== undefined) {
        const cv = this.nodeValue(child);
        if (cv !== undefined) v = v === undefined ? cv : mergeValues(v, cv, child);
      }
    }
    const base = this.baseLookup([...node.path, key]);
    if (base !== undefined) v = v === undefined ? base : mergeValues(base, v, node);
    return v;
  }

  /** Descends one ground key from a rule tree node: into a child node, or into base data. */
  private dataStep(node: RuleNode, key: Value, path: Term[], i: number, env: Env, k: KV): boolean {
    const child = node.children.get(mapKey(key));
    if (child !== undefined) return this.evalDataNode(child, path, i + 1, env, k);
    const base = this.baseLookup([...node.path, key]);
    return base === undefined ? false : this.walkPath(base, path, i + 1, env, k);
  }

  private isOverridden(path: readonly Value[]): boolean {
    const ov = this.ctx.dataOverrides;
    if (ov === undefined) return false;
    for (const o of ov) {
      if (o.length > path.length) continue;
      let prefix = true;
      for (let j = 0; j < o.length; j++) {
        if (!valuesEqual(o[j]!, path[j]!)) {
          prefix = false;
          break;
        }
      }
      if (prefix) return true;
    }
    return false;
  }

  private baseLookup(path: readonly Value[]): Value | undefined {
    let v: Value | undefined = this.ctx.data;
    for (const p of path) {
      if (v === undefined) return undefined;
      v = indexValue(v, p);
    }
    return v;
  }

  /** The full value of a rule tree node: its rules, its children and the base data there. */
  private nodeValue(node: RuleNode): Value | undefined {
    const cached = this.ctx.cache.get(node);
    if (cached !== undefined) return cached === UNDEF ? undefined : cached;
    const v = this.computeNode(node);
    this.ctx.cache.set(node, v === undefined ? UNDEF : v);
    return v;
  }

  private computeNode(node: RuleNode): Value | undefined {
    if (!node.hasRules || this.isOverridden(node.path)) return this.baseLookup(node.path);
    let result: Value | undefined;
    const isFunc = node.funcs.length > 0 || node.defaultFunc !== undefined;
    if (node.complete.length > 0 || node.defaultRule !== undefined) result = this.evalComplete(node);
    else if (node.multi.length > 0) result = this.evalMulti(node);
    if (node.dynamic.length > 0) {
      const obj = result instanceof RObject ? result : new RObject();
      for (const d of node.dynamic) this.evalDynamic(d.rule, d.rule.ref.slice(d.start), obj);
      result = obj;
    }
    if (node.children.size > 0 && !isFunc) {
      const hasOwnValueRules = node.complete.length > 0 || node.defaultRule !== undefined || node.multi.length > 0;
      if (result === undefined && !hasOwnValueRules) result = new RObject();
      if (result instanceof RObject) {
        for (const child of node.children.values()) {
          const cv = this.nodeValue(child);
          if (cv === undefined) continue;
          const prev = result.get(child.key);
          if (prev === undefined) result.set(child.key, cv);
          else result.set(child.key, mergeValues(prev, cv, child));
        }
      }
    }
    if (isFunc) return undefined;
    const base = this.baseLookup(node.path);
    if (base !== undefined) result = result === undefined ? base : mergeValues(base, result, node);
    return result;
  }

  private clauses(rule: Rule): Array<{ value: Term | undefined; body: Body; loc: Location }> {
    const out = [{ value: rule.value, body: rule.body, loc: rule.loc }];
    for (const e of rule.elses) out.push({ value: e.value, body: e.body, loc: e.loc });
    return out;
  }

  private evalComplete(node: RuleNode): Value | undefined {
    let val: Value | undefined;
    // OPA 1.x words this two ways across versions; the message carries both phrasings.
    const msg = `complete rules must not produce multiple outputs (rule ${node.pathText} produced conflicting values)`;
    for (const rule of node.complete) {
      const v = this.evalRuleValue(rule, new Map(), msg);
      if (v === undefined) continue;
      if (val !== undefined && !valuesEqual(val, v)) throw new RegoEvalError('eval_conflict_error', msg, rule.loc);
      val = v;
    }
    if (val === undefined && node.defaultRule !== undefined) val = this.firstValue(node.defaultRule.value ?? TRUE_TERM, new Map());
    return val;
  }

  /** The value of a rule (first clause of its else chain that succeeds). */
  private evalRuleValue(rule: Rule, env: Env, conflictMsg: string): Value | undefined {
    for (const c of this.clauses(rule)) {
      const head = c.value ?? TRUE_TERM;
      const constant = head.type === 'scalar';
      let val: Value | undefined;
      this.evalBody(c.body, 0, env, () =>
        this.evalTerm(head, env, (v) => {
          if (val !== undefined && !valuesEqual(val, v)) throw new RegoEvalError('eval_conflict_error', conflictMsg, rule.loc);
          val = v;
          return constant;
        }),
      );
      if (val !== undefined) return val;
    }
    return undefined;
  }

  /** The members of a partial set; with `only`, just whether that one value is a member. */
  private evalMulti(node: RuleNode, only?: Value): RSet {
    const out = new RSet();
    for (const rule of node.multi) {
      const env: Env = new Map();
      const run = (): boolean => this.evalBody(rule.body, 0, env, () => this.evalTerm(rule.key!, env, (v) => (out.add(v), only !== undefined)));
      if (only === undefined) run();
      else if (this.unifyValue(rule.key!, only, env, run)) break;
    }
    return out;
  }

  /**
   * Adds what a rule with a non-ground ref head produces to obj. With `only`, the first
   * non-ground ref term is bound to that key before the body runs (OPA evaluates a lookup
   * `p[k]` with k bound, so rules for other keys are not evaluated).
   */
  private evalDynamic(rule: Rule, rest: Term[], obj: RObject, only?: Value): void {
    const env: Env = new Map();
    // Walks (creating) the objects for all keys but the last; returns the innermost object.
    const parentOf = (keys: Value[]): RObject => {
      let cur = obj;
      for (let j = 0; j < keys.length - 1; j++) {
        const key = keys[j]!;
        let next = cur.get(key);
        if (next === undefined) {
          next = new RObject();
          cur.set(key, next);
        } else if (!(next instanceof RObject)) {
          throw new RegoEvalError('eval_conflict_error', 'object keys must be unique', rule.loc);
        }
        cur = next;
      }
      return cur;
    };
    const insert = (keys: Value[], value: Value): void => {
      const cur = parentOf(keys);
      const lastKey = keys[keys.length - 1]!;
      const prev = cur.get(lastKey);
      if (prev !== undefined && !valuesEqual(prev, value)) throw new RegoEvalError('eval_conflict_error', 'object keys must be unique', rule.loc);
      cur.set(lastKey, value);
    };
    const addToSet = (keys: Value[], member: Value): void => {
      const cur = parentOf(keys);
      const lastKey = keys[keys.length - 1]!;
      let set = cur.get(lastKey);
      if (set === undefined) {
        set = new RSet();
        cur.set(lastKey, set);
      }
      if (!(set instanceof RSet)) throw new RegoEvalError('eval_conflict_error', 'object keys must be unique', rule.loc);
      set.add(member);
    };
    for (const c of this.clauses(rule)) {
      let found = false;
      const run = (): boolean =>
        this.evalBody(c.body, 0, env, () =>
        this.evalTerms(rest, 0, [], env, (keys) => {
          if (rule.kind === 'multi') {
            return this.evalTerm(rule.key!, env, (m) => {
              addToSet(keys, m);
              found = true;
              return false;
            });
          }
          return this.evalTerm(c.value ?? TRUE_TERM, env, (v) => {
            insert(keys, v);
            found = true;
            return false;
          });
        }),
      );
      if (only === undefined) run();
      else this.unifyValue(rest[0]!, only, env, run);
      if (found) return;
    }
  }

  // ---- calls ----

  private evalCallExpr(call: CallTerm, env: Env, k: K): boolean {
    const arity = this.arityOf(call);
    if (arity >= 0 && call.args.length === arity + 1) {
      return this.evalCall(call, arity, env, (r) => this.unifyValue(call.args[arity]!, r, env, k));
    }
    return this.evalCall(call, call.args.length, env, (r) => (r === false ? false : k()));
  }

  private arityOf(call: CallTerm): number {
    const t = call.target!;
    if (t.kind === 'builtin') return t.def.name === 'print' ? -1 : t.def.args.length;
    if (t.kind === 'user') return this.userNode(t.path)?.arity ?? -1;
    return -1;
  }

  private userNode(path: readonly string[]): RuleNode | undefined {
    let node: RuleNode | undefined = this.root;
    for (const p of path) {
      node = node.children.get(mapKey(p));
      if (node === undefined) return undefined;
    }
    return node;
  }

  /** Evaluates the first `n` args, calls the function and passes each result to k. */
  private evalCall(call: CallTerm, n: number, env: Env, k: KV): boolean {
    const target = call.target!;
    if (target.kind === 'builtin' && target.def.name === 'print') return this.evalPrint(call, env, k);
    const args = n === call.args.length ? call.args : call.args.slice(0, n);
    return this.evalTerms(args, 0, [], env, (vals) => {
      const fo = this.ctx.funcOverrides;
      if (fo !== undefined) {
        const key = target.kind === 'builtin' ? target.def.name : call.name;
        const o = fo.get(key);
        if (o !== undefined) {
          if ('value' in o) return k(o.value);
          return this.invokeMock(o.fn, vals, call, k);
        }
      }
      if (target.kind === 'builtin') return this.callBuiltin(target.def, vals, call, k);
      return this.invoke(target, vals, call, k);
    }, true);
  }

  /** A replacement function runs with no function mocks in effect (as OPA: a mock never calls another mock). */
  private invokeMock(fn: FuncRef, vals: Value[], call: CallTerm, k: KV): boolean {
    const saved = this.ctx;
    const results: Value[] = [];
    this.ctx = { ...saved, funcOverrides: undefined, cache: new Map(), keyCache: new Map() };
    try {
      this.invoke(fn, vals, call, (v) => {
        results.push(v);
        return false;
      });
    } finally {
      this.ctx = saved;
    }
    for (const r of results) if (k(r)) return true;
    return false;
  }

  private invoke(fn: FuncRef, vals: Value[], call: CallTerm, k: KV): boolean {
    if (fn.kind === 'builtin') return this.callBuiltin(fn.def, vals, call, k);
    const node = this.userNode(fn.path);
    if (node === undefined) return false;
    const v = this.callUser(node, vals);
    return v === undefined ? false : k(v);
  }

  private callBuiltin(def: BuiltinDef, vals: Value[], call: CallTerm, k: KV): boolean {
    let r: Value | undefined;
    try {
      r = def.fn(vals, this);
    } catch (err) {
      if (err instanceof BuiltinError) {
        if (this.params.strictBuiltinErrors) throw new RegoEvalError(err.code, err.message, call.loc);
        return false;
      }
      if (err instanceof RegoError) throw err;
      throw new RegoEvalError('eval_builtin_error', `${def.name}: ${(err as Error).message}`, call.loc);
    }
    if (r === undefined) return false;
    if (def.relation === true) {
      for (const x of r as Value[]) if (k(x)) return true;
      return false;
    }
    return k(r);
  }

  private callUser(node: RuleNode, vals: Value[]): Value | undefined {
    const msg = `functions must not produce multiple outputs for same inputs (function ${node.pathText} produced conflicting values for the same inputs)`;
    let val: Value | undefined;
    for (const rule of node.funcs) {
      const env: Env = new Map();
      let v: Value | undefined;
      this.unifyArgs(rule.args!, vals, 0, env, () => {
        v = this.evalRuleValue(rule, env, msg);
        return v !== undefined;
      });
      if (v === undefined) continue;
      if (val !== undefined && !valuesEqual(val, v)) throw new RegoEvalError('eval_conflict_error', msg, rule.loc);
      val = v;
    }
    if (val === undefined && node.defaultFunc !== undefined) val = this.firstValue(node.defaultFunc.value ?? TRUE_TERM, new Map());
    return val;
  }

  private unifyArgs(pats: Term[], vals: Value[], i: number, env: Env, k: K): boolean {
    if (i === pats.length) return k();
    return this.unifyValue(pats[i]!, vals[i]!, env, () => this.unifyArgs(pats, vals, i + 1, env, k));
  }

  /** print(a, b, …): each operand as the set of its values (empty when undefined), as OPA rewrites it. */
  private evalPrint(call: CallTerm, env: Env, k: KV): boolean {
    const sets: Value[] = call.args.map((a) => {
      const s = new RSet();
      try {
        this.evalTerm(a, env, (v) => (s.add(v), false));
      } catch (err) {
        if (!(err instanceof RegoEvalError) || err.code === 'eval_cancel_error') throw err;
      }
      return s;
    });
    const def = builtinTable.get('internal.print');
    if (def !== undefined) {
      try {
        def.fn([sets], this);
      } catch (err) {
        if (!(err instanceof BuiltinError)) throw err;
      }
    }
    return k(true);
  }
}

function isCollection(v: Value): boolean {
  return Array.isArray(v) || v instanceof RObject || v instanceof RSet;
}

/** `coll[key]`: array index (an integer number), object key, set member. */
export function indexValue(v: Value, key: Value): Value | undefined {
  if (v instanceof RObject) return v.get(key);
  if (Array.isArray(v)) {
    if (!(key instanceof RNumber)) return undefined;
    const i = key.toSafeInt();
    if (i === undefined || i < 0 || i >= v.length) return undefined;
    return v[i];
  }
  if (v instanceof RSet) return v.has(key) ? key : undefined;
  return undefined;
}

/** Merges a rule-produced value into base data (objects merge key by key; otherwise they must agree). */
function mergeValues(a: Value, b: Value, node: RuleNode): Value {
  if (a instanceof RObject && b instanceof RObject) {
    const out = new RObject(a.entries());
    for (const [key, v] of b.entries()) {
      const prev = out.get(key);
      out.set(key, prev === undefined ? v : mergeValues(prev, v, node));
    }
    return out;
  }
  if (valuesEqual(a, b)) return b;
  throw new RegoEvalError('eval_conflict_error', `object keys must be unique (rule ${node.pathText} produced conflicting values)`);
}

/** doc with `value` set at `path` (copying objects on the way), as `with` replaces documents. */
function setPath(doc: Value | undefined, path: readonly Value[], value: Value): Value | undefined {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  const obj = doc instanceof RObject ? new RObject(doc.entries()) : new RObject();
  obj.set(head!, setPath(obj.get(head!), rest, value)!);
  return obj;
}
