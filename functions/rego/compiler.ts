import type { Body, CallTerm, Expr, Module, Rule, Term, WithModifier } from './ast.js';
import { builtins, laterBuiltins, refusedBuiltins } from './builtins/index.js';
import type { BuiltinDef } from './builtins/types.js';
import { RegoCompileError } from './errors.js';
import type { Location } from './errors.js';
import { refParts } from './parser.js';
import { collectClosureVars, collectExprVars, collectExprVarsDeep, collectVars, declaredVars, outputVarsForBody, outputVarsForExpr, ROOTS } from './vars.js';
import { mapKey, RObject, RSet, typeName } from './value.js';
import type { Value } from './value.js';

/** A `with` modifier after compilation: what it replaces and with what. */
export type CompiledWith =
  | { readonly kind: 'input'; readonly path: readonly Value[]; readonly value: Term; readonly loc: Location }
  | { readonly kind: 'data'; readonly path: readonly Value[]; readonly value: Term; readonly loc: Location }
  | { readonly kind: 'func'; readonly key: string; readonly value: Term; readonly replacement: FuncRef | undefined; readonly loc: Location };

/** A function a `with` replacement points at. */
export type FuncRef = { readonly kind: 'builtin'; readonly def: BuiltinDef } | { readonly kind: 'user'; readonly path: readonly string[] };

/** A rule whose head ref continues below its node with non-ground terms (`p[x] := v`, `a.b[x] contains y`). */
export interface DynamicRule {
  readonly rule: Rule;
  /** Index in rule.ref where the non-ground part starts. */
  readonly start: number;
}

/** One node of the rule tree: the rules defined exactly at this path, and the children below it. */
export interface RuleNode {
  readonly key: Value;
  readonly path: readonly Value[];
  readonly pathText: string;
  readonly children: Map<string, RuleNode>;
  readonly complete: Rule[];
  defaultRule: Rule | undefined;
  readonly multi: Rule[];
  readonly dynamic: DynamicRule[];
  readonly funcs: Rule[];
  defaultFunc: Rule | undefined;
  /** True when this node or a descendant holds rules (otherwise it is plain base data). */
  hasRules: boolean;
  /** Number of arguments of the functions here (-1 when none). */
  arity: number;
}

export interface CompiledModules {
  readonly root: RuleNode;
  readonly modules: readonly Module[];
}

/** Builtins OPA deprecated; Rego v1 (OPA 1.x) rejects calls to them. */
const DEPRECATED_BUILTINS: ReadonlySet<string> = new Set([
  'any', 'all', 're_match', 'net.cidr_overlap', 'set_diff', 'cast_array', 'cast_set', 'cast_string', 'cast_boolean', 'cast_null', 'cast_object',
]);

export function builtinArity(def: BuiltinDef): number {
  return def.name === 'print' ? -1 : def.args.length;
}

function newNode(key: Value, path: Value[]): RuleNode {
  return {
    key, path, pathText: pathText(path), children: new Map(), complete: [], defaultRule: undefined, multi: [], dynamic: [], funcs: [],
    defaultFunc: undefined, hasRules: false, arity: -1,
  };
}

export function pathText(path: readonly Value[]): string {
  let s = 'data';
  for (const p of path) s += typeof p === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(p) ? `.${p}` : `[${JSON.stringify(typeof p === 'string' ? p : String(p))}]`;
  return s;
}

function childOf(node: RuleNode, key: Value): RuleNode {
  const k = mapKey(key);
  let c = node.children.get(k);
  if (c === undefined) {
    c = newNode(key, [...node.path, key]);
    node.children.set(k, c);
  }
  return c;
}

/** The compiler: resolves names, renames locals, orders bodies for safety, checks calls, recursion and conflicts. */
export class Compiler {
  readonly root: RuleNode = newNode('data', []);
  private fresh = 0;
  private deadline: number;

  constructor(
    private readonly modules: Module[],
    budgetMs: number,
  ) {
    this.deadline = performance.now() + budgetMs;
    this.budgetMs = budgetMs;
  }
  private readonly budgetMs: number;

  private checkBudget(): void {
    if (performance.now() > this.deadline) throw new RegoCompileError('rego_compile_error', `compilation exceeded its budget of ${this.budgetMs} ms`);
  }

  compile(): CompiledModules {
    // Rule names per package, for resolving bare names to data refs.
    const pkgNames = new Map<string, Set<string>>();
    for (const m of this.modules) {
      const key = m.pkg.join('\u0000');
      let names = pkgNames.get(key);
      if (names === undefined) pkgNames.set(key, (names = new Set()));
      for (const r of m.rules) {
        const first = r.ref[0]!;
        if (first.type === 'scalar' && typeof first.value === 'string') names.add(first.value);
      }
      // An empty package still appears in data as an empty object.
      let node = this.root;
      for (const p of m.pkg) node = childOf(node, p);
    }
    const globalsByModule = new Map<Module, Map<string, Term>>();
    for (const m of this.modules) {
      const globals = new Map<string, Term>();
      for (const n of pkgNames.get(m.pkg.join('\u0000'))!) globals.set(n, dataRef([...m.pkg, n], m.pkgLoc));
      for (const imp of m.imports) {
        const parts = refParts(imp.path);
        const name = imp.alias ?? (imp.path.type === 'ref' ? lastString(imp.path) : parts?.[0]);
        if (name === undefined) throw new RegoCompileError('rego_compile_error', 'import must have an alias', imp.loc);
        if (globals.has(name) && imp.alias !== undefined && pkgNames.get(m.pkg.join('\u0000'))!.has(name)) {
          throw new RegoCompileError('rego_compile_error', `import ${name} conflicts with rule`, imp.loc);
        }
        globals.set(name, imp.path);
      }
      globalsByModule.set(m, globals);
      for (const r of m.rules) this.addToTree(r, m);
    }
    this.checkTree(this.root);
    for (const m of this.modules) {
      for (const r of m.rules) {
        this.checkBudget();
        this.compileRule(r, globalsByModule.get(m)!);
      }
    }
    for (const m of this.modules) for (const r of m.rules) this.checkCalls(r);
    this.checkRecursion();
    return { root: this.root, modules: this.modules };
  }

  /** Compiles a query against the compiled modules (names resolve only to data/input and builtins). */
  compileQuery(body: Body): Body {
    const globals = new Map<string, Term>();
    const scope = new Scope(undefined);
    const out = this.resolveBody(body, scope, globals, []);
    const ordered = this.orderBody(out, new Set());
    for (const e of ordered) this.checkExprCalls(e);
    return ordered;
  }

  private compileRule(r: Rule, globals: Map<string, Term>): void {
    // Head ref terms after the name may use vars bound in the body; the name itself is a string.
    const argVars = new Set<string>();
    if (r.args !== undefined) for (const a of r.args) collectVars(a, argVars, false);
    for (const v of argVars) if (ROOTS.has(v)) throw new RegoCompileError('rego_compile_error', `args must not shadow ${v} (use a different variable name)`, r.loc);
    const clauses: Array<{ body: Body; head: Term[]; set: (body: Body, head: Term[]) => void }> = [];
    const headTerms: Term[] = [...r.ref.slice(1)];
    if (r.key !== undefined) headTerms.push(r.key);
    if (r.value !== undefined) headTerms.push(r.value);
    clauses.push({
      body: r.body,
      head: headTerms,
      set: (body, head) => {
        r.body = body;
        let i = 0;
        r.ref = [r.ref[0]!, ...head.slice(0, r.ref.length - 1)];
        i = r.ref.length - 1;
        if (r.key !== undefined) r.key = head[i++];
        if (r.value !== undefined) r.value = head[i++];
      },
    });
    for (const e of r.elses) {
      clauses.push({
        body: e.body,
        head: e.value !== undefined ? [e.value] : [],
        set: (body, head) => {
          e.body = body;
          if (e.value !== undefined) e.value = head[0];
        },
      });
    }
    for (const c of clauses) {
      const scope = new Scope(undefined);
      for (const v of argVars) scope.set(v, { type: 'var', name: v, loc: r.loc });
      const args = r.args ?? [];
      const rewrittenBody = this.resolveBody(c.body, scope, globals, [...c.head, ...args]);
      const head = c.head.map((t) => this.rewriteTerm(t, scope, globals));
      if (r.args !== undefined && c === clauses[0]) r.args = r.args.map((t) => this.rewriteTerm(t, scope, globals));
      // Refs and calls in the head value (or contains term) are evaluated in the body, as OPA
      // rewrites them: `q(_) := xs[_]` iterates xs like `q(_) := v if v := xs[_]`.
      const valueIdx = head.length - 1;
      const last = head[valueIdx];
      if (last !== undefined && (r.value !== undefined || r.key !== undefined || c !== clauses[0]) && needsEval(last)) {
        const v: Term = { type: 'var', name: `$h${this.fresh++}`, loc: last.loc };
        rewrittenBody.push({ kind: 'unify', lhs: v, rhs: last, negated: false, with: [], loc: last.loc });
        head[valueIdx] = v;
      }
      const safe = new Set(argVars);
      const ordered = this.orderBody(rewrittenBody, safe);
      // Head vars must be bound by the body (or be arguments).
      const bound = new Set(safe);
      for (const e of ordered) for (const v of outputVarsForExpr(e, bound, this.arityOf)) bound.add(v);
      for (const t of head) {
        const hv = new Set<string>();
        collectVars(t, hv, false);
        for (const v of hv) {
          if (!bound.has(v)) throw new RegoCompileError('rego_unsafe_var_error', `var ${displayVar(v)} is unsafe`, t.loc);
        }
        this.checkClosures(t, bound);
      }
      c.set(ordered, head);
    }
    if (r.isDefault) {
      const v = r.value;
      if (v !== undefined && !isGroundLiteral(v)) {
        throw new RegoCompileError('rego_compile_error', `illegal default rule (value cannot contain ${describeNonGround(v)})`, r.loc);
      }
    }
  }

  private readonly arityOf = (call: CallTerm): number => {
    const t = call.target;
    if (t === undefined) return -1;
    if (t.kind === 'builtin') return builtinArity(t.def);
    if (t.kind === 'user') {
      const n = this.nodeAt(t.path);
      return n?.arity ?? -1;
    }
    return -1;
  };

  private nodeAt(path: readonly Value[]): RuleNode | undefined {
    let node: RuleNode | undefined = this.root;
    for (const p of path) {
      node = node.children.get(mapKey(p));
      if (node === undefined) return undefined;
    }
    return node;
  }

  // ---- name resolution and local renaming ----

  /** Resolves one body in `scope`; `extraTerms` (head, args) share the body's variables. */
  private resolveBody(body: Body, scope: Scope, globals: Map<string, Term>, extraTerms: Term[]): Body {
    // Vars declared by `:=`, `some` and `some … in` take effect from their declaration on (as
    // OPA's rewriteLocalVars): each gets a fresh name, so a closure before it has its own var.
    const declared = new Set<string>();
    for (const e of body) for (const v of declaredVars(e)) declared.add(v);
    // Other vars used in this body (outside closures) are locals of this scope unless they
    // belong to an enclosing scope or name a global (a rule of the package or an import).
    const used = new Set<string>();
    for (const e of body) collectExprVars(e, used);
    for (const t of extraTerms) collectVars(t, used, false);
    for (const v of used) {
      if (ROOTS.has(v) || declared.has(v) || scope.lookup(v) !== undefined || globals.has(v)) continue;
      scope.set(v, { type: 'var', name: v, loc: body[0]?.loc ?? { file: '', line: 0, col: 0 } });
    }
    const assigned = new Set<string>();
    const usedBefore = new Set<string>();
    const declaredSoFar = new Set<string>();
    const declare = (vs: Iterable<string>, loc: Location, isAssign: boolean): void => {
      for (const v of vs) {
        if (v.startsWith('$_')) continue;
        if (ROOTS.has(v)) throw new RegoCompileError('rego_compile_error', `cannot ${isAssign ? 'assign to' : 'declare'} ${v}`, loc);
        if (isAssign && assigned.has(v)) throw new RegoCompileError('rego_compile_error', `var ${v} assigned above`, loc);
        if (isAssign && usedBefore.has(v) && !declaredSoFar.has(v)) throw new RegoCompileError('rego_compile_error', `var ${v} referenced above`, loc);
        declaredSoFar.add(v);
        if (isAssign) assigned.add(v);
        scope.set(v, { type: 'var', name: this.freshName(v), loc });
      }
    };
    // `some x` must be followed by a use of x (OPA: declared var x unused).
    for (const e of body) {
      if (e.kind !== 'some') continue;
      const usedElsewhere = new Set<string>();
      for (const o of body) if (o !== e) collectExprVarsDeep(o, usedElsewhere);
      for (const t of extraTerms) collectVars(t, usedElsewhere, true);
      for (const v of e.vars) {
        const name = (v as { name: string }).name;
        if (!usedElsewhere.has(name)) throw new RegoCompileError('rego_compile_error', `declared var ${name} unused`, e.loc);
      }
    }
    const out: Body = [];
    for (const e of body) {
      if (e.kind === 'assign') {
        if (e.lhs.type !== 'var' && e.lhs.type !== 'array' && e.lhs.type !== 'object') {
          throw new RegoCompileError('rego_compile_error', `cannot assign to ${describeTerm(e.lhs)}`, e.loc);
        }
        const rhs = this.rewriteTerm(e.rhs, scope, globals);
        const withs = e.with.map((w) => this.rewriteWith(w, scope, globals));
        declare(declaredVars(e), e.loc, true);
        out.push({ kind: 'unify', lhs: this.rewriteTerm(e.lhs, scope, globals), rhs, negated: e.negated, with: withs, loc: e.loc });
      } else if (e.kind === 'some') {
        declare(declaredVars(e), e.loc, false);
        out.push(this.rewriteExpr(e, scope, globals));
      } else if (e.kind === 'somein') {
        const coll = this.rewriteTerm(e.coll, scope, globals);
        const withs = e.with.map((w) => this.rewriteWith(w, scope, globals));
        declare(declaredVars(e), e.loc, false);
        const key = e.key && this.rewriteTerm(e.key, scope, globals);
        out.push({ ...e, key, value: this.rewriteTerm(e.value, scope, globals), coll, with: withs });
      } else out.push(this.rewriteExpr(e, scope, globals));
      if (e.kind !== 'assign') collectExprVars(e, usedBefore);
      else collectVars(e.rhs, usedBefore, false);
    }
    return out;
  }

  private freshName(v: string): string {
    return `${v}$${this.fresh++}`;
  }

  private rewriteExpr(e: Expr, scope: Scope, globals: Map<string, Term>): Expr {
    const rw = (t: Term): Term => this.rewriteTerm(t, scope, globals);
    const withs = e.with.map((w) => this.rewriteWith(w, scope, globals));
    switch (e.kind) {
      case 'term': {
        const term = rw(e.term);
        if (term.type === 'call') return { kind: 'call', call: term, negated: e.negated, with: withs, loc: e.loc };
        return { ...e, term, with: withs };
      }
      case 'call':
        return { ...e, call: rw(e.call) as CallTerm, with: withs };
      case 'unify':
      case 'assign':
        return { kind: 'unify', lhs: rw(e.lhs), rhs: rw(e.rhs), negated: e.negated, with: withs, loc: e.loc };
      case 'some':
        return { ...e, vars: e.vars.map(rw), with: withs };
      case 'somein':
        return { ...e, key: e.key && rw(e.key), value: rw(e.value), coll: rw(e.coll), with: withs };
      case 'every': {
        const inner = new Scope(scope);
        const domain = rw(e.domain);
        let key: Term | undefined;
        if (e.key !== undefined) {
          const kn = (e.key as { name: string }).name;
          key = { type: 'var', name: this.freshName(kn), loc: e.key.loc };
          inner.set(kn, key);
        }
        const vn = (e.value as { name: string }).name;
        const value: Term = { type: 'var', name: this.freshName(vn), loc: e.value.loc };
        inner.set(vn, value);
        const body = this.resolveBody(e.body, inner, globals, []);
        return { ...e, key, value, domain, body, with: withs };
      }
    }
  }

  private rewriteWith(w: WithModifier, scope: Scope, globals: Map<string, Term>): WithModifier {
    const value = this.rewriteTerm(w.value, scope, globals);
    let target = w.target;
    const parts = refParts(target);
    if (parts !== undefined && parts[0] !== 'input' && parts[0] !== 'data') {
      const g = globals.get(parts[0]!);
      if (g !== undefined) target = this.rewriteTerm(target, new Scope(undefined), globals);
    }
    return { target, value, loc: w.loc };
  }

  rewriteTerm(t: Term, scope: Scope, globals: Map<string, Term>): Term {
    const rw = (x: Term): Term => this.rewriteTerm(x, scope, globals);
    switch (t.type) {
      case 'scalar':
        return t;
      case 'var': {
        if (ROOTS.has(t.name)) return t;
        const local = scope.lookup(t.name);
        if (local !== undefined) return local;
        const g = globals.get(t.name);
        if (g !== undefined) return relocate(g, t.loc);
        return t;
      }
      case 'ref': {
        const head = rw(t.head);
        const path = t.path.map(rw);
        if (head.type === 'ref') return { type: 'ref', head: head.head, path: [...head.path, ...path], loc: t.loc };
        return { type: 'ref', head, path, loc: t.loc };
      }
      // Ground literals become constants, built once at compile time instead of per evaluation.
      case 'array': {
        const items = t.items.map(rw);
        if (items.every(isConst)) return { type: 'scalar', value: items.map(constValue), loc: t.loc };
        return { ...t, items };
      }
      case 'set': {
        const items = t.items.map(rw);
        if (items.every(isConst)) return { type: 'scalar', value: new RSet(items.map(constValue)), loc: t.loc };
        return { ...t, items };
      }
      case 'object': {
        const items = t.items.map(([k, v]) => [rw(k), rw(v)] as [Term, Term]);
        if (items.every(([k, v]) => isConst(k) && isConst(v))) {
          return { type: 'scalar', value: new RObject(items.map(([k, v]) => [constValue(k), constValue(v)] as const)), loc: t.loc };
        }
        return { ...t, items };
      }
      case 'arraycomp':
      case 'setcomp': {
        const inner = new Scope(scope);
        const body = this.resolveBody(t.body, inner, globals, [t.term]);
        return { ...t, term: this.rewriteTerm(t.term, inner, globals), body };
      }
      case 'objectcomp': {
        const inner = new Scope(scope);
        const body = this.resolveBody(t.body, inner, globals, [t.key, t.value]);
        return { ...t, key: this.rewriteTerm(t.key, inner, globals), value: this.rewriteTerm(t.value, inner, globals), body };
      }
      case 'call': {
        const args = t.args.map(rw);
        const call: CallTerm = { type: 'call', name: t.name, fn: t.fn, args, loc: t.loc };
        this.resolveCallTarget(call, scope, globals);
        return call;
      }
    }
  }

  private resolveCallTarget(call: CallTerm, scope: Scope, globals: Map<string, Term>): void {
    const parts = refParts(call.fn);
    if (parts === undefined) throw new RegoCompileError('rego_type_error', `invalid function call`, call.loc);
    const head = parts[0]!;
    if (scope.lookup(head) !== undefined && !builtins.has(call.name)) {
      throw new RegoCompileError('rego_type_error', `undefined function ${call.name}`, call.loc);
    }
    let full: string[] | undefined;
    if (head === 'data') full = parts.slice(1);
    else {
      const g = globals.get(head);
      if (g !== undefined) {
        const gp = refParts(g);
        if (gp !== undefined && gp[0] === 'data') full = [...gp.slice(1), ...parts.slice(1)];
      }
    }
    if (full !== undefined) {
      call.target = { kind: 'user', path: full };
      call.name = ['data', ...full].join('.');
      return;
    }
    const def = builtins.get(call.name);
    if (def !== undefined) {
      call.target = { kind: 'builtin', def };
      return;
    }
    this.unknownFunction(call);
  }

  private unknownFunction(call: CallTerm): never {
    if (refusedBuiltins.has(call.name)) {
      throw new RegoCompileError('rego_type_error', `unsupported builtin ${call.name}: refused by design (the gateway evaluates policies without network or host access)`, call.loc);
    }
    if (laterBuiltins.has(call.name)) {
      throw new RegoCompileError('rego_type_error', `unsupported builtin ${call.name}: not implemented by this engine yet`, call.loc);
    }
    throw new RegoCompileError('rego_type_error', `undefined function ${call.name}`, call.loc);
  }

  // ---- safety ----

  /** Reorders a body so every var is bound before it is used; throws rego_unsafe_var_error. */
  private orderBody(body: Body, globalsSafe: Set<string>): Body {
    const bodyVars = new Set<string>();
    for (const e of body) collectExprVars(e, bodyVars);
    // 1. Expressions with closures wait until the outer vars they capture are bound.
    const closureOrdered: Body = [];
    const pending = new Set(body);
    for (;;) {
      const before = closureOrdered.length;
      for (const e of body) {
        if (!pending.has(e)) continue;
        const cv = new Set<string>();
        collectClosureVars(e, cv);
        const outs = outputVarsForBody(closureOrdered, globalsSafe, this.arityOf);
        let ok = true;
        for (const v of cv) if (bodyVars.has(v) && !globalsSafe.has(v) && !outs.has(v)) ok = false;
        if (ok) {
          closureOrdered.push(e);
          pending.delete(e);
        }
      }
      if (closureOrdered.length === before) break;
    }
    if (pending.size > 0) {
      const e = [...pending][0]!;
      const cv = new Set<string>();
      collectClosureVars(e, cv);
      const outs = outputVarsForBody(closureOrdered, globalsSafe, this.arityOf);
      const bad = [...cv].filter((v) => bodyVars.has(v) && !globalsSafe.has(v) && !outs.has(v)).sort();
      throw new RegoCompileError('rego_unsafe_var_error', `var ${displayVar(bad[0] ?? '?')} is unsafe`, e.loc);
    }
    // 2. Order for safety: an expression runs once all its input vars are bound.
    const safe = new Set(globalsSafe);
    const reordered: Body = [];
    const left = new Set(closureOrdered);
    for (;;) {
      const before = reordered.length;
      for (const e of closureOrdered) {
        if (!left.has(e)) continue;
        const outs = outputVarsForExpr(e, safe, this.arityOf);
        const vs = new Set<string>();
        collectExprVars(e, vs);
        let ok = true;
        for (const v of vs) if (!safe.has(v) && !outs.has(v)) ok = false;
        if (ok) {
          reordered.push(e);
          left.delete(e);
          for (const v of outs) safe.add(v);
        }
      }
      if (reordered.length === before) break;
    }
    if (left.size > 0) {
      const unsafe: Array<{ v: string; loc: Location }> = [];
      for (const e of closureOrdered) {
        if (!left.has(e)) continue;
        const vs = new Set<string>();
        collectExprVars(e, vs);
        for (const v of vs) if (!safe.has(v)) unsafe.push({ v, loc: e.loc });
      }
      unsafe.sort((a, b) => a.loc.line - b.loc.line || a.loc.col - b.loc.col || (a.v < b.v ? -1 : 1));
      const first = unsafe[0]!;
      throw new RegoCompileError('rego_unsafe_var_error', `var ${displayVar(first.v)} is unsafe`, first.loc);
    }
    // 3. Closures (comprehensions, every) are checked with the vars bound before them.
    const g = new Set(globalsSafe);
    for (const e of reordered) {
      this.checkExprClosures(e, g);
      for (const v of outputVarsForExpr(e, g, this.arityOf)) g.add(v);
      const vs = new Set<string>();
      collectExprVars(e, vs);
      for (const v of vs) g.add(v);
    }
    return reordered;
  }

  private checkExprClosures(e: Expr, safe: Set<string>): void {
    const visit = (t: Term): void => this.checkClosures(t, safe);
    switch (e.kind) {
      case 'term':
        visit(e.term);
        break;
      case 'call':
        visit(e.call);
        break;
      case 'unify':
      case 'assign':
        visit(e.lhs);
        visit(e.rhs);
        break;
      case 'somein':
        if (e.key) visit(e.key);
        visit(e.value);
        visit(e.coll);
        break;
      case 'every': {
        visit(e.domain);
        const inner = new Set(safe);
        if (e.key) collectVars(e.key, inner, false);
        collectVars(e.value, inner, false);
        e.body = this.orderBody(e.body, inner);
        break;
      }
      case 'some':
        break;
    }
    for (const w of e.with) visit(w.value);
  }

  /** Orders the bodies of comprehensions inside `t` (in place). */
  private checkClosures(t: Term, safe: Set<string>): void {
    switch (t.type) {
      case 'ref':
        this.checkClosures(t.head, safe);
        for (const p of t.path) this.checkClosures(p, safe);
        break;
      case 'array':
      case 'set':
        for (const x of t.items) this.checkClosures(x, safe);
        break;
      case 'object':
        for (const [k, v] of t.items) {
          this.checkClosures(k, safe);
          this.checkClosures(v, safe);
        }
        break;
      case 'call':
        for (const a of t.args) this.checkClosures(a, safe);
        break;
      case 'arraycomp':
      case 'setcomp':
      case 'objectcomp': {
        t.body = this.orderBody(t.body, safe);
        const bound = new Set(safe);
        for (const e of t.body) for (const v of outputVarsForExpr(e, bound, this.arityOf)) bound.add(v);
        const hv = new Set<string>();
        if (t.type === 'objectcomp') {
          collectVars(t.key, hv, false);
          collectVars(t.value, hv, false);
        } else collectVars(t.term, hv, false);
        for (const v of hv) if (!bound.has(v)) throw new RegoCompileError('rego_unsafe_var_error', `var ${displayVar(v)} is unsafe`, t.loc);
        if (t.type === 'objectcomp') {
          this.checkClosures(t.key, bound);
          this.checkClosures(t.value, bound);
        } else this.checkClosures(t.term, bound);
        break;
      }
      default:
        break;
    }
  }

  // ---- rule tree ----

  private addToTree(r: Rule, m: Module): void {
    const name = r.ref[0]!;
    if (name.type === 'scalar' && (name.value === 'input' || name.value === 'data')) {
      throw new RegoCompileError('rego_compile_error', `rules must not shadow ${name.value} (use a different rule name)`, r.loc);
    }
    let node = this.root;
    for (const p of m.pkg) node = childOf(node, p);
    let i = 0;
    for (; i < r.ref.length; i++) {
      const t = r.ref[i]!;
      if (t.type !== 'scalar') break;
      node = childOf(node, t.value);
    }
    const rest = r.ref.slice(i);
    if (r.kind === 'func') {
      if (rest.length > 0) throw new RegoCompileError('rego_type_error', 'function rule refs must be ground', r.loc);
      const arity = r.args!.length;
      if (node.arity !== -1 && node.arity !== arity) {
        throw new RegoCompileError('rego_type_error', `conflicting rules ${node.pathText} found`, r.loc);
      }
      node.arity = arity;
      if (r.isDefault) {
        if (node.defaultFunc !== undefined) throw new RegoCompileError('rego_type_error', `multiple default rules ${node.pathText} found`, r.loc);
        node.defaultFunc = r;
      } else node.funcs.push(r);
    } else if (rest.length > 0) {
      if (r.isDefault) throw new RegoCompileError('rego_compile_error', 'default rules must have a ground ref', r.loc);
      node.dynamic.push({ rule: r, start: i });
    } else if (r.kind === 'multi') {
      node.multi.push(r);
    } else if (r.isDefault) {
      if (node.defaultRule !== undefined) throw new RegoCompileError('rego_type_error', `multiple default rules ${node.pathText} found`, r.loc);
      node.defaultRule = r;
    } else node.complete.push(r);
  }

  private checkTree(node: RuleNode): boolean {
    let has = node.complete.length + node.multi.length + node.dynamic.length + node.funcs.length > 0 || node.defaultRule !== undefined || node.defaultFunc !== undefined;
    const kinds = [node.complete.length > 0 || node.defaultRule !== undefined, node.multi.length > 0, node.funcs.length > 0 || node.defaultFunc !== undefined].filter(Boolean).length;
    if (kinds > 1) {
      const r = node.complete[0] ?? node.multi[0] ?? node.funcs[0] ?? node.defaultRule!;
      throw new RegoCompileError('rego_type_error', `conflicting rules ${node.pathText} found`, r.loc);
    }
    if (node.funcs.length > 0 || node.defaultFunc !== undefined) {
      if (node.dynamic.length > 0) throw new RegoCompileError('rego_type_error', `conflicting rules ${node.pathText} found`, node.dynamic[0]!.rule.loc);
    }
    for (const c of node.children.values()) if (this.checkTree(c)) has = true;
    node.hasRules = has;
    return has;
  }

  // ---- calls: unknown, refused, arity, argument types ----

  private checkCalls(r: Rule): void {
    const visitBody = (b: Body): void => {
      for (const e of b) this.checkExprCalls(e);
    };
    visitBody(r.body);
    for (const t of [...r.ref, r.key, r.value, ...(r.args ?? [])]) if (t !== undefined) this.checkTermCalls(t, false);
    for (const e of r.elses) {
      visitBody(e.body);
      if (e.value !== undefined) this.checkTermCalls(e.value, false);
    }
  }

  private checkExprCalls(e: Expr): void {
    switch (e.kind) {
      case 'call':
        this.checkTermCalls(e.call, true);
        break;
      case 'term':
        this.checkTermCalls(e.term, false);
        break;
      case 'unify':
      case 'assign':
        this.checkTermCalls(e.lhs, false);
        this.checkTermCalls(e.rhs, false);
        break;
      case 'somein':
        if (e.key) this.checkTermCalls(e.key, false);
        this.checkTermCalls(e.value, false);
        this.checkTermCalls(e.coll, false);
        break;
      case 'every':
        this.checkTermCalls(e.domain, false);
        for (const x of e.body) this.checkExprCalls(x);
        break;
      case 'some':
        break;
    }
    for (const w of e.with) {
      this.checkTermCalls(w.value, false);
      w.compiled = this.compileWith(w);
    }
  }

  private compileWith(w: WithModifier): CompiledWith {
    const t = w.target;
    const head = t.type === 'ref' ? t.head : t;
    const path: Value[] = [];
    if (t.type === 'ref') {
      for (const p of t.path) {
        if (p.type !== 'scalar') throw new RegoCompileError('rego_compile_error', `with keyword target must be a ground reference`, w.loc);
        path.push(p.value);
      }
    }
    if (head.type === 'var' && head.name === 'input') return { kind: 'input', path, value: w.value, loc: w.loc };
    if (head.type === 'var' && head.name === 'data') {
      const node = this.nodeAt(path);
      if (node !== undefined && (node.funcs.length > 0 || node.defaultFunc !== undefined)) {
        return { kind: 'func', key: `data.${path.join('.')}`, value: w.value, replacement: this.funcRefOf(w.value), loc: w.loc };
      }
      // Replacing part of a rule's value is not possible (as in OPA): the target must be the
      // rule itself or a document above it.
      let n: RuleNode | undefined = this.root;
      for (let i = 0; i < path.length && n !== undefined; i++) {
        if (n.complete.length + n.multi.length + n.dynamic.length > 0 || n.defaultRule !== undefined) {
          throw new RegoCompileError('rego_compile_error', 'with keyword cannot partially replace virtual document(s)', w.loc);
        }
        n = n.children.get(mapKey(path[i]!));
      }
      return { kind: 'data', path, value: w.value, loc: w.loc };
    }
    const parts = refParts(t);
    if (parts !== undefined) {
      const name = parts.join('.');
      if (builtins.has(name)) return { kind: 'func', key: name, value: w.value, replacement: this.funcRefOf(w.value), loc: w.loc };
      throw new RegoCompileError('rego_compile_error', `with keyword target must reference existing input, data, or a function`, w.loc);
    }
    throw new RegoCompileError('rego_type_error', `with keyword target must be a reference`, w.loc);
  }

  private funcRefOf(v: Term): FuncRef | undefined {
    const parts = refParts(v);
    if (parts === undefined) return undefined;
    if (parts[0] === 'data') {
      const node = this.nodeAt(parts.slice(1));
      if (node !== undefined && (node.funcs.length > 0 || node.defaultFunc !== undefined)) return { kind: 'user', path: parts.slice(1) };
      return undefined;
    }
    const def = builtins.get(parts.join('.'));
    if (def !== undefined && v.type !== 'ref' && parts.length === 1) return { kind: 'builtin', def };
    if (def !== undefined) return { kind: 'builtin', def };
    return undefined;
  }

  private checkTermCalls(t: Term, topLevel: boolean): void {
    switch (t.type) {
      case 'call': {
        for (const a of t.args) this.checkTermCalls(a, false);
        this.checkCall(t, topLevel);
        break;
      }
      case 'ref':
        this.checkTermCalls(t.head, false);
        for (const p of t.path) this.checkTermCalls(p, false);
        break;
      case 'array':
      case 'set':
        for (const x of t.items) this.checkTermCalls(x, false);
        break;
      case 'object':
        for (const [k, v] of t.items) {
          this.checkTermCalls(k, false);
          this.checkTermCalls(v, false);
        }
        break;
      case 'arraycomp':
      case 'setcomp':
        this.checkTermCalls(t.term, false);
        for (const e of t.body) this.checkExprCalls(e);
        break;
      case 'objectcomp':
        this.checkTermCalls(t.key, false);
        this.checkTermCalls(t.value, false);
        for (const e of t.body) this.checkExprCalls(e);
        break;
      default:
        break;
    }
  }

  private checkCall(call: CallTerm, topLevel: boolean): void {
    const target = call.target;
    if (target === undefined) this.unknownFunction(call);
    let arity: number;
    if (target.kind === 'user') {
      const node = this.nodeAt(target.path);
      if (node === undefined || node.arity === -1) {
        // A call of a rule that is not a function.
        throw new RegoCompileError('rego_type_error', `undefined function ${call.name}`, call.loc);
      }
      arity = node.arity;
    } else if (target.kind === 'builtin') {
      if (DEPRECATED_BUILTINS.has(target.def.name)) {
        throw new RegoCompileError('rego_type_error', `deprecated built-in function calls in expression: ${target.def.name}`, call.loc);
      }
      arity = builtinArity(target.def);
    } else return;
    if (arity < 0) return;
    const n = call.args.length;
    if (n !== arity && !(topLevel && n === arity + 1)) {
      const have = call.args.map(staticType).join(', ');
      const want = target.kind === 'builtin' ? target.def.args.join(', ') : Array(arity).fill('any').join(', ');
      throw new RegoCompileError('rego_type_error', `${call.name}: arity mismatch\n\thave: (${have})\n\twant: (${want})`, call.loc);
    }
    if (target.kind === 'builtin') {
      const spec = target.def.args;
      for (let i = 0; i < arity; i++) {
        const st = staticType(call.args[i]!);
        if (st === 'any') continue;
        const want = spec[i]!;
        if (want === 'any' || want.split('|').some((w) => w.trim().replace(/\[.*$/, '') === st)) continue;
        const have = call.args.slice(0, arity).map(staticType).join(', ');
        throw new RegoCompileError('rego_type_error', `${call.name}: invalid argument(s)\n\thave: (${have})\n\twant: (${spec.join(', ')})`, call.loc);
      }
    }
  }

  // ---- recursion ----

  private checkRecursion(): void {
    const nodes: RuleNode[] = [];
    const collect = (n: RuleNode): void => {
      if (n.complete.length + n.multi.length + n.dynamic.length + n.funcs.length > 0 || n.defaultRule || n.defaultFunc) nodes.push(n);
      for (const c of n.children.values()) collect(c);
    };
    collect(this.root);
    const deps = new Map<RuleNode, Set<RuleNode>>();
    for (const n of nodes) {
      const out = new Set<RuleNode>();
      const rules: Rule[] = [...n.complete, ...n.multi, ...n.dynamic.map((d) => d.rule), ...n.funcs];
      if (n.defaultRule) rules.push(n.defaultRule);
      if (n.defaultFunc) rules.push(n.defaultFunc);
      for (const r of rules) {
        const visitTerm = (t: Term): void => this.termDeps(t, out);
        for (const t of [...r.ref, r.key, r.value, ...(r.args ?? [])]) if (t) visitTerm(t);
        for (const e of r.body) this.exprDeps(e, out);
        for (const el of r.elses) {
          if (el.value) visitTerm(el.value);
          for (const e of el.body) this.exprDeps(e, out);
        }
      }
      deps.set(n, out);
    }
    const state = new Map<RuleNode, number>();
    const stack: RuleNode[] = [];
    const visit = (n: RuleNode): void => {
      state.set(n, 1);
      stack.push(n);
      for (const d of deps.get(n) ?? []) {
        const s = state.get(d);
        if (s === 1) {
          const cycle = stack.slice(stack.indexOf(d)).map((x) => x.pathText);
          const first = d.complete[0] ?? d.multi[0] ?? d.dynamic[0]?.rule ?? d.funcs[0] ?? d.defaultRule ?? d.defaultFunc!;
          throw new RegoCompileError('rego_recursion_error', `rule ${d.pathText} is recursive: ${[...cycle, d.pathText].join(' -> ')}`, first.loc);
        }
        if (s === undefined) visit(d);
      }
      stack.pop();
      state.set(n, 2);
    };
    for (const n of nodes) if (!state.has(n)) visit(n);
  }

  private exprDeps(e: Expr, out: Set<RuleNode>): void {
    const v = (t: Term): void => this.termDeps(t, out);
    switch (e.kind) {
      case 'term':
        v(e.term);
        break;
      case 'call':
        v(e.call);
        break;
      case 'unify':
      case 'assign':
        v(e.lhs);
        v(e.rhs);
        break;
      case 'somein':
        if (e.key) v(e.key);
        v(e.value);
        v(e.coll);
        break;
      case 'every':
        v(e.domain);
        for (const x of e.body) this.exprDeps(x, out);
        break;
      case 'some':
        break;
    }
    for (const w of e.with) v(w.value);
  }

  private termDeps(t: Term, out: Set<RuleNode>): void {
    const v = (x: Term): void => this.termDeps(x, out);
    switch (t.type) {
      case 'ref':
        if (t.head.type === 'var' && t.head.name === 'data') this.refDeps(t.path, out);
        else v(t.head);
        for (const p of t.path) v(p);
        break;
      case 'var':
        if (t.name === 'data') this.refDeps([], out);
        break;
      case 'call':
        if (t.target?.kind === 'user') {
          const n = this.nodeAt(t.target.path);
          if (n) out.add(n);
        }
        for (const a of t.args) v(a);
        break;
      case 'array':
      case 'set':
        for (const x of t.items) v(x);
        break;
      case 'object':
        for (const [k, x] of t.items) {
          v(k);
          v(x);
        }
        break;
      case 'arraycomp':
      case 'setcomp':
        v(t.term);
        for (const e of t.body) this.exprDeps(e, out);
        break;
      case 'objectcomp':
        v(t.key);
        v(t.value);
        for (const e of t.body) this.exprDeps(e, out);
        break;
      default:
        break;
    }
  }

  private refDeps(path: Term[], out: Set<RuleNode>): void {
    let node = this.root;
    const all = (n: RuleNode): void => {
      if (n.hasRules) {
        out.add(n);
        for (const c of n.children.values()) all(c);
      }
    };
    for (const p of path) {
      if (node.complete.length + node.multi.length + node.dynamic.length > 0 || node.defaultRule) out.add(node);
      if (p.type !== 'scalar') {
        all(node);
        return;
      }
      const c = node.children.get(mapKey(p.value));
      if (c === undefined) {
        if (node.dynamic.length > 0) out.add(node);
        return;
      }
      node = c;
    }
    all(node);
  }
}

/** A lexical scope: source var name → the term it stands for (a renamed local). */
export class Scope {
  private readonly map = new Map<string, Term>();
  constructor(private readonly parent: Scope | undefined) {}
  set(name: string, t: Term): void {
    this.map.set(name, t);
  }
  own(name: string): boolean {
    return this.map.has(name);
  }
  lookup(name: string): Term | undefined {
    return this.map.get(name) ?? this.parent?.lookup(name);
  }
}

function dataRef(path: Value[], loc: Location): Term {
  return { type: 'ref', head: { type: 'var', name: 'data', loc }, path: path.map((p) => ({ type: 'scalar', value: p, loc })), loc };
}

function relocate(t: Term, loc: Location): Term {
  if (t.type === 'ref') return { type: 'ref', head: { ...t.head, loc } as Term, path: t.path, loc };
  if (t.type === 'var') return { type: 'var', name: t.name, loc };
  return t;
}

function lastString(t: Term): string | undefined {
  if (t.type !== 'ref') return undefined;
  const last = t.path[t.path.length - 1];
  return last?.type === 'scalar' && typeof last.value === 'string' ? last.value : undefined;
}

function displayVar(v: string): string {
  if (v.startsWith('$_')) return '_';
  const i = v.indexOf('$');
  return i > 0 ? v.slice(0, i) : v;
}

function describeTerm(t: Term): string {
  switch (t.type) {
    case 'scalar':
      return typeName(t.value);
    case 'call':
      return 'call';
    default:
      return t.type;
  }
}

function isConst(t: Term): boolean {
  return t.type === 'scalar';
}

function constValue(t: Term): Value {
  return (t as { value: Value }).value;
}

/** Terms that need evaluation (refs, calls, comprehensions anywhere inside). */
function needsEval(t: Term): boolean {
  switch (t.type) {
    case 'ref':
    case 'call':
    case 'arraycomp':
    case 'setcomp':
    case 'objectcomp':
      return true;
    case 'array':
    case 'set':
      return t.items.some(needsEval);
    case 'object':
      return t.items.some(([k, v]) => needsEval(k) || needsEval(v));
    default:
      return false;
  }
}

function isGroundLiteral(t: Term): boolean {
  switch (t.type) {
    case 'scalar':
      return true;
    case 'array':
    case 'set':
      return t.items.every(isGroundLiteral);
    case 'object':
      return t.items.every(([k, v]) => isGroundLiteral(k) && isGroundLiteral(v));
    case 'call':
      return t.args.every(isGroundLiteral);
    default:
      return false;
  }
}

function describeNonGround(t: Term): string {
  switch (t.type) {
    case 'var':
      return `var ${displayVar(t.name)}`;
    case 'ref':
      return 'ref';
    case 'arraycomp':
    case 'setcomp':
    case 'objectcomp':
      return 'closure';
    default:
      return t.type;
  }
}

/** Type of a term when it is known without evaluation, else 'any'. */
function staticType(t: Term): string {
  switch (t.type) {
    case 'scalar':
      return typeName(t.value);
    case 'array':
    case 'arraycomp':
      return 'array';
    case 'set':
    case 'setcomp':
      return 'set';
    case 'object':
    case 'objectcomp':
      return 'object';
    default:
      return 'any';
  }
}
