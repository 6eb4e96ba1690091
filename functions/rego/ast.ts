import type { Location } from './errors.js';
import type { Value } from './value.js';
import type { BuiltinDef } from './builtins/types.js';
import type { CompiledWith } from './compiler.js';

/** A Rego term. Refs keep their head term and the path after it (`.x` is the string term "x"). */
export type Term =
  | { readonly type: 'scalar'; readonly value: Value; readonly loc: Location }
  | { type: 'var'; name: string; readonly loc: Location }
  | { type: 'ref'; head: Term; path: Term[]; readonly loc: Location }
  | { type: 'array'; items: Term[]; readonly loc: Location }
  | { type: 'set'; items: Term[]; readonly loc: Location }
  | { type: 'object'; items: Array<[Term, Term]>; readonly loc: Location }
  | { type: 'arraycomp'; term: Term; body: Body; readonly loc: Location }
  | { type: 'setcomp'; term: Term; body: Body; readonly loc: Location }
  | { type: 'objectcomp'; key: Term; value: Term; body: Body; readonly loc: Location }
  | CallTerm;

/** A call: `name` is the operator as written (`count`, `data.lib.f`, `plus`); the compiler sets `target`. */
export interface CallTerm {
  readonly type: 'call';
  name: string;
  /** The function as written, a var or ref term (for user functions and `with` replacement). */
  fn: Term;
  args: Term[];
  target?: CallTarget;
  readonly loc: Location;
}

export type CallTarget = { readonly kind: 'builtin'; readonly def: BuiltinDef } | { readonly kind: 'user'; readonly path: readonly string[] };

export interface WithModifier {
  target: Term;
  value: Term;
  readonly loc: Location;
  /** Set by the compiler: what the modifier replaces. */
  compiled?: CompiledWith;
}

export type Expr =
  | { kind: 'term'; term: Term; negated: boolean; with: WithModifier[]; readonly loc: Location }
  | { kind: 'call'; call: CallTerm; negated: boolean; with: WithModifier[]; readonly loc: Location }
  | { kind: 'unify'; lhs: Term; rhs: Term; negated: boolean; with: WithModifier[]; readonly loc: Location }
  | { kind: 'assign'; lhs: Term; rhs: Term; negated: boolean; with: WithModifier[]; readonly loc: Location }
  | { kind: 'some'; vars: Term[]; negated: boolean; with: WithModifier[]; readonly loc: Location }
  | { kind: 'somein'; key: Term | undefined; value: Term; coll: Term; negated: boolean; with: WithModifier[]; readonly loc: Location }
  | { kind: 'every'; key: Term | undefined; value: Term; domain: Term; body: Body; negated: boolean; with: WithModifier[]; readonly loc: Location };

export type Body = Expr[];

export type RuleKind = 'single' | 'multi' | 'func';

export interface ElseClause {
  value: Term | undefined;
  body: Body;
  readonly loc: Location;
}

export interface Rule {
  readonly loc: Location;
  readonly isDefault: boolean;
  /** Head ref after the package: first the rule name (a string scalar), then any terms. */
  ref: Term[];
  readonly kind: RuleKind;
  args: Term[] | undefined;
  /** `contains` term of a multi-value rule. */
  key: Term | undefined;
  /** Value term; undefined means `true`. */
  value: Term | undefined;
  body: Body;
  elses: ElseClause[];
}

export interface Import {
  /** `data.x.y` or `input.x` as a ref term; `rego.v1` / `future.keywords…` are kept out. */
  readonly path: Term;
  readonly alias: string | undefined;
  readonly loc: Location;
}

export interface Module {
  readonly file: string;
  readonly pkg: string[];
  readonly pkgLoc: Location;
  readonly imports: Import[];
  readonly rules: Rule[];
}
