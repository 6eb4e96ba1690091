import type { Body, CallTerm, ElseClause, Expr, Import, Module, Rule, RuleKind, Term, WithModifier } from './ast.js';
import { RegoParseError } from './errors.js';
import type { Location } from './errors.js';
import { tokenize } from './lexer.js';
import type { Token } from './lexer.js';
import { num } from './value.js';

const KEYWORDS = new Set(['package', 'import', 'default', 'if', 'else', 'contains', 'some', 'in', 'every', 'not', 'with', 'as']);

/** Operators as OPA names the builtins they call. */
const INFIX: Record<string, string> = {
  '==': 'equal', '!=': 'neq', '<': 'lt', '<=': 'lte', '>': 'gt', '>=': 'gte',
  '+': 'plus', '-': 'minus', '*': 'mul', '/': 'div', '%': 'rem', '|': 'or', '&': 'and',
};

/** Parses one Rego v1 module. */
export function parseModule(src: string, file: string): Module {
  return new Parser(src, file).module();
}

/** Parses a query (a body: expressions separated by `;` or newlines). */
export function parseQuery(src: string): Body {
  const p = new Parser(src, '');
  const body = p.bodyUntil('eof');
  if (body.length === 0) p.fail('empty query');
  return body;
}

class Parser {
  private readonly toks: Token[];
  private pos = 0;
  private wildcards = 0;
  private templates = 0;

  constructor(
    src: string,
    private readonly file: string,
  ) {
    this.toks = tokenize(src, file);
  }

  private get tok(): Token {
    return this.toks[this.pos]!;
  }
  private cur(): Token {
    return this.toks[this.pos]!;
  }
  private peek(n = 1): Token {
    return this.toks[Math.min(this.pos + n, this.toks.length - 1)]!;
  }
  private loc(t: Token = this.tok): Location {
    return { file: this.file, line: t.line, col: t.col };
  }
  fail(msg: string, t: Token = this.tok): never {
    throw new RegoParseError(msg, this.loc(t));
  }
  private atEnd(): boolean {
    return this.tok.kind === 'eof';
  }
  private isP(text: string, t: Token = this.tok): boolean {
    return t.kind === 'punct' && t.text === text;
  }
  private isKw(text: string, t: Token = this.tok): boolean {
    return t.kind === 'ident' && t.text === text;
  }
  private expectP(text: string): Token {
    if (!this.isP(text)) this.unexpected(`expected ${text}`);
    return this.toks[this.pos++]!;
  }
  private unexpected(what: string): never {
    const t = this.tok;
    const desc = t.kind === 'eof' ? 'eof token' : t.kind === 'ident' ? `${KEYWORDS.has(t.text) ? t.text + ' keyword' : 'ident'}` : t.kind === 'punct' ? `${t.text} token` : `${t.kind} token`;
    this.fail(`unexpected ${desc}: ${what}`);
  }

  module(): Module {
    if (!this.isKw('package')) this.fail('package expected');
    const pkgTok = this.tok;
    this.pos++;
    const pkg = this.packagePath();
    const imports: Import[] = [];
    const rules: Rule[] = [];
    while (this.isKw('import')) {
      const imp = this.importDecl();
      if (imp !== undefined) imports.push(imp);
    }
    while (this.tok.kind !== 'eof') {
      if (this.isKw('import')) this.fail('imports must come before rules');
      if (this.isKw('package')) this.fail('unexpected package keyword: only one package per module');
      rules.push(...this.rule());
    }
    return { file: this.file, pkg, pkgLoc: this.loc(pkgTok), imports, rules };
  }

  private packagePath(): string[] {
    const path: string[] = [];
    if (this.tok.kind !== 'ident') this.unexpected('expected package name');
    path.push(this.tok.text);
    this.pos++;
    for (;;) {
      if (this.isP('.') && !this.tok.wsBefore) {
        this.pos++;
        if (this.tok.kind !== 'ident') this.unexpected('expected name after .');
        path.push(this.tok.text);
        this.pos++;
      } else if (this.isP('[') && !this.tok.wsBefore) {
        this.pos++;
        if (this.cur().kind !== 'string') this.fail('package path elements must be strings');
        path.push(this.tok.text);
        this.pos++;
        this.expectP(']');
      } else break;
    }
    if (path[0] === 'data') path.shift();
    return path;
  }

  private importDecl(): Import | undefined {
    const start = this.tok;
    this.pos++;
    const term = this.termPostfix(this.primary());
    let alias: string | undefined;
    if (this.isKw('as')) {
      this.pos++;
      if (this.tok.kind !== 'ident') this.unexpected('expected alias name');
      alias = this.tok.text;
      this.pos++;
    }
    const parts = refParts(term);
    if (parts === undefined) this.fail('invalid import path', start);
    const root = parts[0];
    if (root === 'rego' || root === 'future') {
      const name = parts.join('.');
      if (name !== 'rego.v1' && name !== 'future.keywords' && !/^future\.keywords\.[A-Za-z_]+$/.test(name)) {
        this.fail(`invalid import ${name}: must be rego.v1, future.keywords or future.keywords.<keyword>`, start);
      }
      return undefined;
    }
    if (root !== 'data' && root !== 'input') this.fail(`invalid import path: must begin with input or data`, start);
    return { path: term, alias, loc: this.loc(start) };
  }

  /** One rule statement; `p if {...} else := ...` is one rule with else clauses. */
  private rule(): Rule[] {
    const start = this.tok;
    let isDefault = false;
    if (this.isKw('default')) {
      isDefault = true;
      this.pos++;
    }
    if (this.tok.kind !== 'ident' || KEYWORDS.has(this.tok.text)) this.unexpected('expected rule head');
    const ref: Term[] = [{ type: 'scalar', value: this.tok.text, loc: this.loc() }];
    this.pos++;
    for (;;) {
      if (this.isP('.') && !this.tok.wsBefore) {
        this.pos++;
        if (this.tok.kind !== 'ident') this.unexpected('expected name after .');
        ref.push({ type: 'scalar', value: this.tok.text, loc: this.loc() });
        this.pos++;
      } else if (this.isP('[') && !this.tok.wsBefore) {
        this.pos++;
        ref.push(this.termIn(false));
        this.expectP(']');
      } else break;
    }
    let args: Term[] | undefined;
    if (this.isP('(') && !this.tok.wsBefore) {
      this.pos++;
      args = [];
      if (!this.isP(')')) {
        for (;;) {
          args.push(this.termIn(false));
          if (this.isP(',')) {
            this.pos++;
            continue;
          }
          break;
        }
      }
      this.expectP(')');
    }
    let kind: RuleKind = args !== undefined ? 'func' : 'single';
    let key: Term | undefined;
    let value: Term | undefined;
    if (this.isP(':=') || this.isP('=')) {
      this.pos++;
      value = this.termIn(false);
    } else if (this.isKw('contains')) {
      if (args !== undefined || isDefault) this.fail('contains cannot be used here');
      this.pos++;
      kind = 'multi';
      key = this.termIn(false);
    }
    if (isDefault) {
      if (value === undefined) this.fail('default rules must have a value assigned', start);
      if (this.isKw('if') || this.isP('{')) this.fail('default rules must not have a body', start);
      return [{ loc: this.loc(start), isDefault, ref, kind, args, key, value, body: [], elses: [] }];
    }
    let body: Body = [];
    if (this.isKw('if')) {
      this.pos++;
      body = this.ruleBody();
    } else if (this.isP('{') && !this.tok.nlBefore) {
      this.fail('`if` keyword is required before rule body');
    } else if (!this.tok.nlBefore && this.cur().kind !== 'eof') {
      this.unexpected('expected rule body or end of rule');
    }
    const elses: ElseClause[] = [];
    while (this.isKw('else')) {
      if (kind === 'multi') this.fail('else keyword cannot be used on multi-value rules');
      const et = this.tok;
      this.pos++;
      let ev: Term | undefined;
      if (this.isP(':=') || this.isP('=')) {
        this.pos++;
        ev = this.termIn(false);
      }
      let eb: Body = [];
      if (this.isKw('if')) {
        this.pos++;
        eb = this.ruleBody();
      } else if (this.isP('{') && !this.tok.nlBefore) {
        this.fail('`if` keyword is required before rule body');
      }
      elses.push({ value: ev, body: eb, loc: this.loc(et) });
    }
    return [{ loc: this.loc(start), isDefault, ref, kind, args, key, value, body, elses }];
  }

  private ruleBody(): Body {
    if (this.isP('{')) {
      // `if {` starts a block, unless the braces are a term (`if {x | …}[k]`, `if {"a": 1} = x`).
      if (this.isP('}', this.peek())) this.fail('found empty body');
      const save = this.pos;
      const saveWild = this.wildcards;
      try {
        this.pos++;
        const b = this.bodyUntil('}');
        if (b.length === 0) this.fail('found empty body');
        this.expectP('}');
        return b;
      } catch (err) {
        this.pos = save;
        this.wildcards = saveWild;
        try {
          return [this.literal()];
        } catch {
          throw err;
        }
      }
    }
    return [this.literal()];
  }

  /** Expressions separated by `;` or newlines until `end` (not consumed). */
  bodyUntil(end: '}' | ']' | 'eof'): Body {
    const body: Body = [];
    const atEnd = (): boolean => (end === 'eof' ? this.tok.kind === 'eof' : this.isP(end));
    while (this.isP(';')) this.pos++;
    while (!atEnd()) {
      body.push(this.literal());
      if (this.isP(';')) {
        while (this.isP(';')) this.pos++;
        continue;
      }
      if (atEnd()) break;
      if (!this.tok.nlBefore) this.unexpected(`expected \\n or ; or ${end === 'eof' ? 'end of query' : end}`);
    }
    return body;
  }

  private literal(): Expr {
    const start = this.tok;
    const loc = this.loc(start);
    if (this.isKw('some')) {
      this.pos++;
      const first: Term[] = [this.termRelation()];
      while (this.isP(',')) {
        this.pos++;
        first.push(this.termRelation());
      }
      if (this.isKw('in')) {
        this.pos++;
        if (first.length > 2) this.fail('unexpected , token: expected at most two terms before in', start);
        const coll = this.termRelation();
        const expr: Expr = first.length === 2
          ? { kind: 'somein', key: first[0], value: first[1]!, coll, negated: false, with: [], loc }
          : { kind: 'somein', key: undefined, value: first[0]!, coll, negated: false, with: [], loc };
        expr.with = this.withMods();
        return expr;
      }
      for (const v of first) if (v.type !== 'var') this.fail('expected var in some declaration', start);
      return { kind: 'some', vars: first, negated: false, with: [], loc };
    }
    if (this.isKw('every')) {
      this.pos++;
      let key: Term | undefined;
      let value = this.termRelation();
      if (this.isP(',')) {
        this.pos++;
        key = value;
        value = this.termRelation();
      }
      if (!this.isKw('in')) this.unexpected('expected in keyword');
      this.pos++;
      const domain = this.termRelation();
      this.expectP('{');
      const body = this.bodyUntil('}');
      if (body.length === 0) this.fail('found empty body');
      this.expectP('}');
      for (const t of key !== undefined ? [key, value] : [value]) if (t.type !== 'var') this.fail('every: expected variables before in', start);
      const expr: Expr = { kind: 'every', key, value, domain, body, negated: false, with: [], loc };
      expr.with = this.withMods();
      return expr;
    }
    if (this.isKw('not')) {
      this.pos++;
      const inner = this.literal();
      if (inner.negated) this.fail('unexpected not keyword', start);
      if (inner.kind === 'some') this.fail('unexpected some keyword: not cannot be combined with some', start);
      inner.negated = true;
      return inner;
    }
    const lhs = this.termIn(true);
    let expr: Expr;
    if (this.isP('=') || this.isP(':=')) {
      const op = this.tok.text;
      this.pos++;
      const rhs = this.termIn(false);
      expr = { kind: op === '=' ? 'unify' : 'assign', lhs, rhs, negated: false, with: [], loc };
    } else if (lhs.type === 'call') {
      expr = { kind: 'call', call: lhs, negated: false, with: [], loc };
    } else {
      expr = { kind: 'term', term: lhs, negated: false, with: [], loc };
    }
    expr.with = this.withMods();
    return expr;
  }

  private withMods(): WithModifier[] {
    const mods: WithModifier[] = [];
    while (this.isKw('with')) {
      const t = this.tok;
      this.pos++;
      const target = this.termPostfix(this.primary());
      if (!this.isKw('as')) this.unexpected('expected as keyword');
      this.pos++;
      const value = this.termIn(false);
      mods.push({ target, value, loc: this.loc(t) });
    }
    return mods;
  }

  /** `a in b`, and with keyVal `k, v in b`: the loosest binding operator. */
  termIn(keyVal: boolean): Term {
    const start = this.tok;
    let lhs = this.termRelation();
    if (keyVal && this.isP(',') && this.isInAfterComma()) {
      this.pos++;
      const value = this.termRelation();
      this.pos++; // `in`
      const coll = this.termRelation();
      lhs = this.mkCall('internal.member_3', [lhs, value, coll], start);
    }
    while (this.isKw('in')) {
      this.pos++;
      const rhs = this.termRelation();
      lhs = this.mkCall('internal.member_2', [lhs, rhs], start);
    }
    return lhs;
  }

  /** Looks ahead for `, term in` at this nesting level (`k, v in xs` as an expression). */
  private isInAfterComma(): boolean {
    const save = this.pos;
    try {
      this.pos++;
      this.termRelation();
      return this.isKw('in');
    } catch {
      return false;
    } finally {
      this.pos = save;
    }
  }

  termRelation(): Term {
    const start = this.tok;
    let lhs = this.binary(0, false);
    while (this.tok.kind === 'punct' && ['==', '!=', '<', '<=', '>', '>='].includes(this.tok.text)) {
      const op = this.tok.text;
      this.pos++;
      const rhs = this.binary(0, false);
      lhs = this.mkCall(INFIX[op]!, [lhs, rhs], start);
    }
    return lhs;
  }

  /** Levels: 0 `|`, 1 `&`, 2 `+ -`, 3 `* / %`. `noOr` stops at `|` (the first term of a comprehension). */
  private binary(level: number, noOr: boolean): Term {
    if (level > 3) return this.unary();
    const ops = [['|'], ['&'], ['+', '-'], ['*', '/', '%']][level]!;
    const start = this.tok;
    let lhs = this.binary(level + 1, noOr);
    while (this.tok.kind === 'punct' && ops.includes(this.tok.text) && !(noOr && this.tok.text === '|')) {
      const op = this.tok.text;
      this.pos++;
      const rhs = this.binary(level + 1, noOr);
      lhs = this.mkCall(INFIX[op]!, [lhs, rhs], start);
    }
    return lhs;
  }

  private unary(): Term {
    if (this.isP('-')) {
      const t = this.tok;
      const next = this.peek();
      if (next.kind === 'number' && !next.wsBefore) {
        this.pos += 2;
        return this.termPostfix({ type: 'scalar', value: num(`-${next.text}`), loc: this.loc(t) });
      }
      this.pos++;
      const operand = this.unary();
      return this.mkCall('minus', [{ type: 'scalar', value: num(0), loc: this.loc(t) }, operand], t);
    }
    return this.termPostfix(this.primary());
  }

  private mkCall(name: string, args: Term[], at: Token): CallTerm {
    const loc = this.loc(at);
    return { type: 'call', name, fn: { type: 'var', name, loc }, args, loc };
  }

  /** A term without infix operators; refs, calls and brackets come from termPostfix. */
  private primary(): Term {
    const t = this.tok;
    const loc = this.loc(t);
    switch (t.kind) {
      case 'number':
        this.pos++;
        try {
          return { type: 'scalar', value: num(t.text), loc };
        } catch {
          return this.fail(`invalid number ${t.text}`, t);
        }
      case 'string':
      case 'rawstring':
        this.pos++;
        return { type: 'scalar', value: t.text, loc };
      case 'template':
        this.pos++;
        return this.templateString(t);
      case 'ident': {
        if (t.text === 'true' || t.text === 'false') {
          this.pos++;
          return { type: 'scalar', value: t.text === 'true', loc };
        }
        if (t.text === 'null') {
          this.pos++;
          return { type: 'scalar', value: null, loc };
        }
        // `contains` is also a builtin function: `contains(s, "x")`.
        if (KEYWORDS.has(t.text) && !(t.text === 'contains' && this.isP('(', this.peek()) && !this.peek().wsBefore)) this.unexpected('expected term');
        this.pos++;
        if (t.text === 'set' && this.isP('(') && !this.tok.wsBefore && this.isP(')', this.peek())) {
          this.pos += 2;
          return { type: 'set', items: [], loc };
        }
        if (t.text === '_') return { type: 'var', name: `$_${this.wildcards++}`, loc };
        return { type: 'var', name: t.text, loc };
      }
      case 'punct':
        if (t.text === '(') {
          this.pos++;
          // `(k, v in xs)`: a membership expression is a term once parenthesised.
          const inner = this.termIn(true);
          this.expectP(')');
          return inner;
        }
        if (t.text === '[') return this.arrayTerm();
        if (t.text === '{') return this.braceTerm();
        break;
      default:
        break;
    }
    return this.unexpected('expected term');
  }

  private termPostfix(term: Term): Term {
    let cur = term;
    for (;;) {
      const t = this.tok;
      if (this.isP('.') && !t.wsBefore) {
        this.pos++;
        const nt = this.tok;
        if (nt.kind !== 'ident' || nt.wsBefore) this.unexpected('expected name after .');
        this.pos++;
        cur = appendRef(cur, { type: 'scalar', value: nt.text, loc: this.loc(nt) });
      } else if (this.isP('[') && !t.wsBefore) {
        this.pos++;
        const key = this.termIn(false);
        this.expectP(']');
        cur = appendRef(cur, key);
      } else if (this.isP('(') && !t.wsBefore && (cur.type === 'var' || cur.type === 'ref')) {
        const name = refParts(cur);
        if (name === undefined) this.fail('invalid function name', t);
        this.pos++;
        const args: Term[] = [];
        if (!this.isP(')')) {
          for (;;) {
            args.push(this.termIn(false));
            if (this.isP(',')) {
              this.pos++;
              if (this.isP(')')) break; // a trailing comma, as OPA accepts
              continue;
            }
            break;
          }
        }
        this.expectP(')');
        cur = { type: 'call', name: name.join('.'), fn: cur, args, loc: cur.loc };
      } else break;
    }
    return cur;
  }

  private arrayTerm(): Term {
    const loc = this.loc();
    this.pos++;
    if (this.isP(']')) {
      this.pos++;
      return { type: 'array', items: [], loc };
    }
    const first = this.termInNoOr();
    if (this.isP('|')) {
      this.pos++;
      const body = this.bodyUntil(']');
      if (body.length === 0) this.fail('found empty body');
      this.expectP(']');
      return { type: 'arraycomp', term: first, body, loc };
    }
    const items = [first];
    while (this.isP(',')) {
      this.pos++;
      if (this.isP(']')) break;
      items.push(this.termIn(false));
    }
    this.expectP(']');
    return { type: 'array', items, loc };
  }

  private braceTerm(): Term {
    const loc = this.loc();
    this.pos++;
    if (this.isP('}')) {
      this.pos++;
      return { type: 'object', items: [], loc };
    }
    const first = this.termInNoOr();
    if (this.isP(':')) {
      this.pos++;
      const firstVal = this.termInNoOr();
      if (this.isP('|')) {
        this.pos++;
        const body = this.bodyUntil('}');
        if (body.length === 0) this.fail('found empty body');
        this.expectP('}');
        return { type: 'objectcomp', key: first, value: firstVal, body, loc };
      }
      const items: Array<[Term, Term]> = [[first, firstVal]];
      while (this.isP(',')) {
        this.pos++;
        if (this.isP('}')) break;
        const k = this.termIn(false);
        this.expectP(':');
        items.push([k, this.termIn(false)]);
      }
      this.expectP('}');
      return { type: 'object', items, loc };
    }
    if (this.isP('|')) {
      this.pos++;
      const body = this.bodyUntil('}');
      if (body.length === 0) this.fail('found empty body');
      this.expectP('}');
      return { type: 'setcomp', term: first, body, loc };
    }
    const items = [first];
    while (this.isP(',')) {
      this.pos++;
      if (this.isP('}')) break;
      items.push(this.termIn(false));
    }
    this.expectP('}');
    return { type: 'set', items, loc };
  }

  /**
   * `$"a {x} b"` as OPA's compiler lowers it: `internal.template_string(["a ", {v | v = x}, " b"])`.
   * Each expression becomes the set of its values, so an undefined one renders `<undefined>`.
   */
  private templateString(t: Token): Term {
    const loc = this.loc(t);
    const items: Term[] = [];
    for (const part of t.parts ?? []) {
      if (typeof part === 'string') {
        items.push({ type: 'scalar', value: part, loc });
        continue;
      }
      // Parse the expression where it stands in the file, so locations stay right.
      const sub = new Parser(`${'\n'.repeat(part.line - 1)}${' '.repeat(part.col - 1)}${part.src}`, this.file);
      sub.wildcards = this.wildcards;
      if (sub.atEnd()) this.fail('template expression must not be empty', t);
      const expr = sub.termRelation();
      if (!sub.atEnd()) sub.unexpected('expected } after template expression');
      this.wildcards = sub.wildcards;
      const v: Term = { type: 'var', name: `$tpl${this.templates++}`, loc: expr.loc };
      items.push({ type: 'setcomp', term: v, body: [{ kind: 'unify', lhs: v, rhs: expr, negated: false, with: [], loc: expr.loc }], loc: expr.loc });
    }
    return { type: 'call', name: 'internal.template_string', fn: { type: 'var', name: 'internal.template_string', loc }, args: [{ type: 'array', items, loc }], loc };
  }

  /** The first term in brackets: everything but `|` (a following `|` starts a comprehension body). */
  private termInNoOr(): Term {
    const start = this.tok;
    let lhs = this.binary(0, true);
    while (this.tok.kind === 'punct' && ['==', '!=', '<', '<=', '>', '>='].includes(this.tok.text)) {
      const op = this.tok.text;
      this.pos++;
      lhs = this.mkCall(INFIX[op]!, [lhs, this.binary(0, true)], start);
    }
    while (this.isKw('in')) {
      this.pos++;
      lhs = this.mkCall('internal.member_2', [lhs, this.binary(0, true)], start);
    }
    return lhs;
  }

}

function appendRef(cur: Term, key: Term): Term {
  if (cur.type === 'ref') return { type: 'ref', head: cur.head, path: [...cur.path, key], loc: cur.loc };
  return { type: 'ref', head: cur, path: [key], loc: cur.loc };
}

/** `a.b.c` as ['a','b','c'] when every element after the head is a plain string; else undefined. */
export function refParts(t: Term): string[] | undefined {
  if (t.type === 'var') return [t.name];
  if (t.type !== 'ref' || t.head.type !== 'var') return undefined;
  const out = [t.head.name];
  for (const p of t.path) {
    if (p.type !== 'scalar' || typeof p.value !== 'string') return undefined;
    out.push(p.value);
  }
  return out;
}
