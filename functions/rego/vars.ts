/**
 * Variables in terms and expressions, and which of them an expression binds: the pieces of
 * OPA's safety analysis (outputVarsForExpr, the unifier) the compiler orders bodies with.
 */
import type { Body, CallTerm, Expr, Term, WithModifier } from './ast.js';
import { builtins } from './builtins/index.js';
import { refParts } from './parser.js';
import { mapKey } from './value.js';

/** `data` and `input` are roots, never variables. */
export const ROOTS: ReadonlySet<string> = new Set(['data', 'input']);

// ---- var collection ----

/**
 * Vars of a `with` value. A value naming a builtin (`with count as sum`, `with opa.runtime as
 * time.now_ns`) is a function reference, not a variable, so it binds and needs nothing.
 */
function collectWithVars(w: WithModifier, out: Set<string>, intoClosures: boolean): void {
  const parts = refParts(w.value);
  if (parts !== undefined && !ROOTS.has(parts[0]!) && builtins.has(parts.join('.'))) return;
  collectVars(w.value, out, intoClosures);
}

/** Vars in a term; closures are skipped unless `intoClosures`. Ref heads `data`/`input` are not vars. */
export function collectVars(t: Term, out: Set<string>, intoClosures: boolean): void {
  switch (t.type) {
    case 'var':
      if (!ROOTS.has(t.name)) out.add(t.name);
      break;
    case 'ref':
      collectVars(t.head, out, intoClosures);
      for (const p of t.path) collectVars(p, out, intoClosures);
      break;
    case 'array':
    case 'set':
      for (const x of t.items) collectVars(x, out, intoClosures);
      break;
    case 'object':
      for (const [k, v] of t.items) {
        collectVars(k, out, intoClosures);
        collectVars(v, out, intoClosures);
      }
      break;
    case 'call':
      for (const a of t.args) collectVars(a, out, intoClosures);
      break;
    case 'arraycomp':
    case 'setcomp':
      if (intoClosures) {
        collectVars(t.term, out, true);
        for (const e of t.body) collectExprVarsDeep(e, out);
      }
      break;
    case 'objectcomp':
      if (intoClosures) {
        collectVars(t.key, out, true);
        collectVars(t.value, out, true);
        for (const e of t.body) collectExprVarsDeep(e, out);
      }
      break;
    default:
      break;
  }
}

/** Vars an expression declares: `:=` targets, `some x`, and the key/value of `some … in`. */
export function declaredVars(e: Expr): Set<string> {
  const vs = new Set<string>();
  if (e.kind === 'assign') collectVars(e.lhs, vs, false);
  else if (e.kind === 'some') for (const t of e.vars) collectVars(t, vs, false);
  else if (e.kind === 'somein') {
    if (e.key !== undefined) collectVars(e.key, vs, false);
    collectVars(e.value, vs, false);
  }
  return vs;
}

function exprTerms(e: Expr): Term[] {
  switch (e.kind) {
    case 'term':
      return [e.term];
    case 'call':
      return [e.call];
    case 'unify':
    case 'assign':
      return [e.lhs, e.rhs];
    case 'some':
      return [];
    case 'somein':
      return e.key !== undefined ? [e.key, e.value, e.coll] : [e.value, e.coll];
    case 'every':
      return [e.domain];
  }
}

/** Vars of an expression outside closures (an `every` body is a closure; its declared vars are its own). */
export function collectExprVars(e: Expr, out: Set<string>): void {
  for (const t of exprTerms(e)) collectVars(t, out, false);
  for (const w of e.with) collectWithVars(w, out, false);
}

export function collectExprVarsDeep(e: Expr, out: Set<string>): void {
  for (const t of exprTerms(e)) collectVars(t, out, true);
  for (const w of e.with) collectWithVars(w, out, true);
  if (e.kind === 'every') for (const x of e.body) collectExprVarsDeep(x, out);
}

/** Vars used inside the closures (comprehensions, every bodies) of an expression. */
export function collectClosureVars(e: Expr, out: Set<string>): void {
  const visit = (t: Term): void => {
    switch (t.type) {
      case 'ref':
        visit(t.head);
        for (const p of t.path) visit(p);
        break;
      case 'array':
      case 'set':
        for (const x of t.items) visit(x);
        break;
      case 'object':
        for (const [k, v] of t.items) {
          visit(k);
          visit(v);
        }
        break;
      case 'call':
        for (const a of t.args) visit(a);
        break;
      case 'arraycomp':
      case 'setcomp':
      case 'objectcomp':
        collectVars(t, out, true);
        break;
      default:
        break;
    }
  };
  for (const t of exprTerms(e)) visit(t);
  for (const w of e.with) visit(w.value);
  if (e.kind === 'every') for (const x of e.body) collectExprVarsDeep(x, out);
}

// ---- output vars (which vars an expression binds, given the safe ones) ----

export function outputVarsForBody(body: Body, safe: Set<string>, arity: (c: CallTerm) => number): Set<string> {
  const o = new Set(safe);
  for (const e of body) for (const v of outputVarsForExpr(e, o, arity)) o.add(v);
  for (const v of safe) o.delete(v);
  return o;
}

export function outputVarsForExpr(e: Expr, safe: Set<string>, arity: (c: CallTerm) => number): Set<string> {
  const out = new Set<string>();
  if (e.negated) return out;
  for (const w of e.with) {
    const vs = new Set<string>();
    collectWithVars(w, vs, false);
    for (const v of vs) if (!safe.has(v)) return out;
  }
  switch (e.kind) {
    case 'term':
      refOutputs(e.term, safe, out);
      return out;
    case 'every':
      refOutputs(e.domain, safe, out);
      return out;
    case 'some':
      return out;
    case 'somein': {
      refOutputs(e.coll, safe, out);
      const cv = new Set<string>();
      collectVars(e.coll, cv, false);
      for (const v of cv) if (!safe.has(v) && !out.has(v)) return out;
      if (e.key) collectVars(e.key, out, false);
      collectVars(e.value, out, false);
      return out;
    }
    case 'unify':
    case 'assign': {
      refOutputs(e.lhs, safe, out);
      refOutputs(e.rhs, safe, out);
      const s = new Set([...safe, ...out]);
      unifySafety(e.lhs, e.rhs, s);
      for (const v of s) if (!safe.has(v)) out.add(v);
      return out;
    }
    case 'call': {
      const call = e.call;
      refOutputs(call, safe, out);
      const n = arity(call);
      if (n < 0 || call.args.length <= n) return out;
      const inVars = new Set<string>();
      for (let i = 0; i < n; i++) collectVars(call.args[i]!, inVars, false);
      for (const v of inVars) if (!safe.has(v) && !out.has(v)) return new Set();
      for (let i = n; i < call.args.length; i++) collectVars(call.args[i]!, out, false);
      return out;
    }
  }
}

/** Vars in ref positions after a safe head: evaluating the ref enumerates them. */
function refOutputs(t: Term, safe: Set<string>, out: Set<string>): void {
  switch (t.type) {
    case 'ref': {
      const headSafe = t.head.type === 'var' ? ROOTS.has(t.head.name) || safe.has(t.head.name) || out.has(t.head.name) : allVarsIn(t.head, safe, out);
      refOutputs(t.head, safe, out);
      for (const p of t.path) {
        if (p.type === 'ref' || p.type === 'call') refOutputs(p, safe, out);
        else if (headSafe) collectVars(p, out, false);
      }
      break;
    }
    case 'array':
    case 'set':
      for (const x of t.items) refOutputs(x, safe, out);
      break;
    case 'object':
      for (const [k, v] of t.items) {
        refOutputs(k, safe, out);
        refOutputs(v, safe, out);
      }
      break;
    case 'call':
      for (const a of t.args) refOutputs(a, safe, out);
      break;
    default:
      break;
  }
}

function allVarsIn(t: Term, safe: Set<string>, extra?: Set<string>): boolean {
  const vs = new Set<string>();
  collectVars(t, vs, false);
  for (const v of vs) if (!safe.has(v) && !(extra?.has(v) ?? false)) return false;
  return true;
}

/** Marks vars safe that unifying a with b binds (OPA's unifier, iterated to a fixpoint). */
function unifySafety(a: Term, b: Term, safe: Set<string>): void {
  for (;;) {
    const before = safe.size;
    unifyStep(a, b, safe);
    if (safe.size === before) return;
  }
}

function isEvaluable(t: Term, safe: Set<string>): boolean {
  switch (t.type) {
    case 'ref':
      return t.head.type === 'var' ? ROOTS.has(t.head.name) || safe.has(t.head.name) : allVarsIn(t.head, safe);
    case 'call':
      return t.args.every((x) => allVarsIn(x, safe));
    case 'arraycomp':
    case 'setcomp':
    case 'objectcomp':
    case 'scalar':
      return true;
    default:
      return allVarsIn(t, safe);
  }
}

function unifyStep(a: Term, b: Term, safe: Set<string>): void {
  if (a.type === 'var' && !safe.has(a.name) && !ROOTS.has(a.name)) {
    if (isEvaluable(b, safe)) safe.add(a.name);
    return;
  }
  if (b.type === 'var' && !safe.has(b.name) && !ROOTS.has(b.name)) {
    if (isEvaluable(a, safe)) safe.add(b.name);
    return;
  }
  if (a.type === 'array' && b.type === 'array') {
    if (a.items.length === b.items.length) for (let i = 0; i < a.items.length; i++) unifyStep(a.items[i]!, b.items[i]!, safe);
    return;
  }
  if (a.type === 'object' && b.type === 'object') {
    for (const [ka, va] of a.items) {
      for (const [kb, vb] of b.items) {
        if (ka.type === 'scalar' && kb.type === 'scalar' && mapKey(ka.value) === mapKey(kb.value)) unifyStep(va, vb, safe);
      }
    }
    return;
  }
  if ((a.type === 'array' || a.type === 'object') && b.type !== 'array' && b.type !== 'object') {
    if (isEvaluable(b, safe)) collectVars(a, safe, false);
    return;
  }
  if ((b.type === 'array' || b.type === 'object') && a.type !== 'array' && a.type !== 'object') {
    if (isEvaluable(a, safe)) collectVars(b, safe, false);
  }
}
