/** Where something is in Rego source: 1-based line and column, and the file name ('' for a query). */
export interface Location {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

/**
 * Every error the engine raises. `code` is OPA's error code (rego_parse_error,
 * rego_compile_error, rego_type_error, rego_unsafe_var_error, rego_recursion_error,
 * eval_conflict_error, eval_type_error, eval_builtin_error, eval_cancel_error), and
 * `message` the bare message; `toString()`/`.message` of the Error reads like OPA's
 * `file:line: code: message`.
 */
export class RegoError extends Error {
  readonly line: number;
  readonly col: number;
  readonly file: string;
  constructor(
    readonly code: string,
    readonly detail: string,
    loc?: Location,
  ) {
    super(formatError(code, detail, loc));
    this.name = 'RegoError';
    this.line = loc?.line ?? 0;
    this.col = loc?.col ?? 0;
    this.file = loc?.file ?? '';
  }
}

function formatError(code: string, detail: string, loc?: Location): string {
  const msg = `${code}: ${detail}`;
  if (loc === undefined || loc.line === 0) return msg;
  return loc.file !== '' ? `${loc.file}:${loc.line}: ${msg}` : `${loc.line}:${loc.col}: ${msg}`;
}

/** Raised by the lexer and the parser (code rego_parse_error). */
export class RegoParseError extends RegoError {
  constructor(detail: string, loc: Location) {
    super('rego_parse_error', detail, loc);
    this.name = 'RegoParseError';
  }
}

/** Raised by the compiler: rego_compile_error, rego_type_error, rego_unsafe_var_error, rego_recursion_error. */
export class RegoCompileError extends RegoError {
  constructor(code: string, detail: string, loc?: Location) {
    super(code, detail, loc);
    this.name = 'RegoCompileError';
  }
}

/** Raised while evaluating: eval_conflict_error, eval_type_error, eval_builtin_error, eval_cancel_error. */
export class RegoEvalError extends RegoError {
  constructor(code: string, detail: string, loc?: Location) {
    super(code, detail, loc);
    this.name = 'RegoEvalError';
  }
}
