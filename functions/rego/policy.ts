import type { Body, Module } from './ast.js';
import { Compiler } from './compiler.js';
import { collectExprVars } from './vars.js';
import type { CompiledModules } from './compiler.js';
import { RegoCompileError, RegoEvalError } from './errors.js';
import { Evaluator } from './evaluator.js';
import { parseModule, parseQuery } from './parser.js';
import { fromJSON, RObject, toJSON } from './value.js';
import type { Value } from './value.js';

export const DEFAULT_COMPILE_BUDGET_MS = 2000;
export const DEFAULT_EVAL_BUDGET_MS = 200;

export type PolicySource = string | { modules: ReadonlyArray<{ name: string; source: string }> };

export interface CompileOptions {
  /** Compile budget (default 2000 ms); past it compilation stops with rego_compile_error. */
  compileBudgetMs?: number;
}

export interface EvalOptions {
  input?: unknown;
  /**
   * The base documents under `data`. Converted to Rego values once per object identity and
   * reused: pass a new object when the data changes, do not mutate one already passed.
   */
  data?: unknown;
  /** time.now_ns() for this evaluation (default: the wall clock at the start of the call). */
  nowNs?: bigint;
  /** Evaluation budget (default 200 ms); past it evaluation stops with eval_cancel_error. */
  budgetMs?: number;
  print?: (line: string) => void;
  /** Builtin errors raise instead of making the call undefined (OPA's strict-builtin-errors). */
  strictBuiltinErrors?: boolean;
}

/** Like EvalOptions but with documents already as Rego values (the conformance runner, `input_term`). */
export interface ValueEvalOptions extends Omit<EvalOptions, 'input' | 'data'> {
  input?: Value;
  data?: Value;
}

export interface QueryResult {
  /** Bindings of the query's named vars, by the names written in the query. */
  readonly bindings: ReadonlyMap<string, Value>;
  /** The value of each expression of the query, in source order (true for non-term expressions). */
  readonly expressions: readonly Value[];
}

interface PreparedQuery {
  readonly body: Body;
  readonly vars: ReadonlyArray<readonly [string, string]>;
  readonly order: readonly number[];
  readonly texts: readonly string[];
}

/** Parsed and compiled Rego modules, reused across evaluations (queries are compiled once and cached). */
export class CompiledPolicy {
  readonly packagePath: string[];
  private readonly queries = new Map<string, PreparedQuery>();
  private readonly dataCache = new WeakMap<object, Value>();

  constructor(
    private readonly compiler: Compiler,
    private readonly compiled: CompiledModules,
  ) {
    this.packagePath = [...(compiled.modules[0]?.pkg ?? [])];
  }

  get modules(): readonly Module[] {
    return this.compiled.modules;
  }

  /** Evaluates `query` and returns the value of its first expression in the first result, JSON-converted. */
  evaluate(query: string, opts: EvalOptions = {}): { result: unknown } {
    const { input, data, ...rest } = opts;
    const results = this.queryValues(query, { ...rest, input: input === undefined ? undefined : fromJSON(input), data: this.dataValue(data) }, 1);
    const first = results[0];
    if (first === undefined) return { result: undefined };
    const v = first.expressions[0];
    return { result: v === undefined ? undefined : toJSON(v) };
  }

  /** All results of a query, with Rego values (the lower-level API). `limit` stops after that many. */
  queryValues(query: string, opts: ValueEvalOptions = {}, limit = Infinity): QueryResult[] {
    const q = this.prepare(query);
    const budgetMs = opts.budgetMs ?? DEFAULT_EVAL_BUDGET_MS;
    const ev = new Evaluator(this.compiled.root, {
      input: opts.input,
      data: opts.data ?? new RObject(),
      nowNs: opts.nowNs ?? BigInt(Date.now()) * 1_000_000n,
      deadline: performance.now() + budgetMs,
      budgetMs,
      print: opts.print ?? (() => undefined),
      strictBuiltinErrors: opts.strictBuiltinErrors ?? false,
    });
    const out: QueryResult[] = [];
    try {
      ev.runQuery(q.body, q.vars, q.order, (s) => {
        out.push({ bindings: s.bindings, expressions: s.values });
        return out.length >= limit;
      });
    } catch (err) {
      // A pathological policy can nest deeper than the JS stack; report it like other evaluation errors.
      if (err instanceof RangeError) throw new RegoEvalError('eval_internal_error', `evaluation nested too deeply: ${err.message}`);
      throw err;
    }
    return out;
  }

  /** The source text of each expression of a compiled query, in source order (for `opa eval`-style output). */
  queryTexts(query: string): readonly string[] {
    return this.prepare(query).texts;
  }

  private dataValue(data: unknown): Value {
    if (data === undefined) return new RObject();
    if (data !== null && typeof data === 'object') {
      let v = this.dataCache.get(data);
      if (v === undefined) {
        v = fromJSON(data);
        this.dataCache.set(data, v);
      }
      return v;
    }
    return fromJSON(data);
  }

  private prepare(query: string): PreparedQuery {
    let q = this.queries.get(query);
    if (q === undefined) {
      const parsed = parseQuery(query);
      const body = this.compiler.compileQuery(parsed);
      const vs = new Set<string>();
      for (const e of body) collectExprVars(e, vs);
      const vars: Array<[string, string]> = [];
      for (const v of vs) {
        if (v.startsWith('$')) continue;
        const i = v.indexOf('$');
        vars.push([v, i > 0 ? v.slice(0, i) : v]);
      }
      const idx = body.map((e, i) => ({ i, line: e.loc.line, col: e.loc.col }));
      idx.sort((a, b) => a.line - b.line || a.col - b.col);
      const order = idx.map((x) => x.i);
      const texts = exprTexts(query, idx.map((x) => ({ line: x.line, col: x.col })));
      q = { body, vars, order, texts };
      this.queries.set(query, q);
    }
    return q;
  }
}

/** Cuts the query source into the text of each expression (from one start to the next). */
function exprTexts(src: string, starts: Array<{ line: number; col: number }>): string[] {
  const lines = src.split('\n');
  const offset = (p: { line: number; col: number }): number => {
    let o = 0;
    for (let l = 1; l < p.line; l++) o += lines[l - 1]!.length + 1;
    return o + p.col - 1;
  };
  const offs = starts.map(offset);
  return offs.map((o, i) => src.slice(o, offs[i + 1] ?? src.length).replace(/[\s;]+$/, ''));
}

/** Parses and compiles Rego v1 source (one module, or several named modules). Throws RegoError. */
export function compilePolicy(source: PolicySource, opts: CompileOptions = {}): CompiledPolicy {
  const budgetMs = opts.compileBudgetMs ?? DEFAULT_COMPILE_BUDGET_MS;
  const start = performance.now();
  const files = typeof source === 'string' ? [{ name: 'policy.rego', source }] : source.modules;
  const modules = files.map((f) => parseModule(f.source, f.name));
  if (performance.now() - start > budgetMs) throw new RegoCompileError('rego_compile_error', `compilation exceeded its budget of ${budgetMs} ms`);
  const compiler = new Compiler(modules, Math.max(0, budgetMs - (performance.now() - start)));
  const compiled = compiler.compile();
  return new CompiledPolicy(compiler, compiled);
}
