import type { Value } from '../value.js';

/**
 * What a builtin may use from the evaluation that calls it. The evaluator builds one per
 * evaluation; nothing here performs I/O.
 */
export interface BuiltinContext {
  /** time.now_ns(): fixed for one evaluation (injected clock). */
  readonly nowNs: bigint;
  /**
   * Receives each line print() writes. As OPA's compiler does, the evaluator rewrites
   * `print(a, b, …)` into the builtin `internal.print` called with ONE argument: an array
   * holding, per operand, the RSet of all values that operand has (the empty set when it
   * is undefined). internal.print writes the cross product of those sets, one line per
   * combination, strings bare and other values in Rego term syntax, joined by spaces, and
   * `<undefined>` for an empty set; it always returns true. The registry also holds `print`
   * itself (variadic, so its `args` is empty) for name resolution.
   */
  print(line: string): void;
  /** Throws the evaluator's budget error when past the deadline; builtins call it in long loops. */
  checkDeadline(): void;
  /** Per-evaluation scratch (uuid.rfc4122 results, …), keyed by builtin name and arguments. */
  readonly memo: Map<string, unknown>;
}

/** 'any' | 'number' | 'string' | 'boolean' | 'null' | 'array' | 'set' | 'object', unions with '|', e.g. 'array|set'. */
export type TypeSpec = string;

export interface BuiltinDef {
  /** OPA's name: 'count', 'strings.replace_n', 'plus' (operators map to OPA's builtin names). */
  readonly name: string;
  /** Argument types; arity = args.length. */
  readonly args: readonly TypeSpec[];
  readonly result: TypeSpec;
  /** Called with fully evaluated arguments; undefined means the call is undefined. */
  fn(args: readonly Value[], ctx: BuiltinContext): Value | undefined;
  /** True when results may differ between evaluations (time.now_ns, uuid.rfc4122, …). */
  readonly nondeterministic?: boolean;
  /**
   * Set for relations (OPA's walk): fn returns an array of ALL outputs and the call has
   * one result per element (none when the array is empty), like iterating a collection.
   */
  readonly relation?: boolean;
}

export type BuiltinErrorCode = 'eval_type_error' | 'eval_builtin_error';

/**
 * Thrown by builtins. 'eval_type_error' for operand type errors (OPA's ErrOperand),
 * 'eval_builtin_error' for other failures. In OPA both make the call undefined unless
 * strict builtin errors are on (the conformance cases' strict_error), in which case they
 * end evaluation with that code. The message is OPA's complete text including the builtin
 * name prefix, e.g. "div: divide by zero"; the evaluator adds location and code.
 */
export class BuiltinError extends Error {
  constructor(
    message: string,
    readonly code: BuiltinErrorCode,
  ) {
    super(message);
    this.name = 'BuiltinError';
  }
}
