/**
 * Runs Rego unit tests like `opa test`: every rule named `test_…` (no arguments) in the
 * loaded modules is a test, passing when it evaluates to true; `todo_test_…` rules are
 * reported as skipped. Pure apart from the clock, which is injected.
 */
import type { Module } from '../ast.js';
import { RegoError } from '../errors.js';
import { compilePolicy } from '../policy.js';
import type { CompiledPolicy } from '../policy.js';
import type { Value } from '../value.js';

export type TestStatus = 'pass' | 'fail' | 'error' | 'skip';

export interface TestResult {
  /** `data.<package>.<rule>`, as opa test names it. */
  readonly name: string;
  /** The file that defines the rule (its first definition). */
  readonly file: string;
  readonly status: TestStatus;
  readonly durationMs: number;
  /** Lines the test's print() calls wrote. */
  readonly output: readonly string[];
  /** For status 'error': `file:line: code: message`. */
  readonly error?: string;
}

export interface TestRunOptions {
  /** Budget for each test (default 5000 ms, opa test's default timeout). */
  budgetMs?: number;
  /** Milliseconds clock for durations (default performance.now). */
  clock?: () => number;
  /** time.now_ns() for every test (default: the wall clock at each test's start). */
  nowNs?: () => bigint;
}

export interface TestModules {
  readonly modules: ReadonlyArray<{ name: string; source: string }>;
  readonly data: Value;
}

export const DEFAULT_TEST_BUDGET_MS = 5000;

interface TestRule {
  readonly name: string;
  readonly query: string;
  readonly file: string;
  readonly skip: boolean;
}

/** Compiles the modules (throws RegoError on a compile error) and runs every test rule in them. */
export function runTests(input: TestModules, opts: TestRunOptions = {}): TestResult[] {
  const policy = compilePolicy({ modules: input.modules });
  return runCompiledTests(policy, input.data, opts);
}

export function runCompiledTests(policy: CompiledPolicy, data: Value, opts: TestRunOptions = {}): TestResult[] {
  const clock = opts.clock ?? (() => performance.now());
  const budgetMs = opts.budgetMs ?? DEFAULT_TEST_BUDGET_MS;
  const results: TestResult[] = [];
  for (const t of findTestRules(policy.modules)) {
    if (t.skip) {
      results.push({ name: t.name, file: t.file, status: 'skip', durationMs: 0, output: [] });
      continue;
    }
    const output: string[] = [];
    const start = clock();
    let status: TestStatus;
    let error: string | undefined;
    try {
      const rs = policy.queryValues(t.query, { data, budgetMs, print: (line) => output.push(line), nowNs: opts.nowNs?.() }, 1);
      status = rs[0]?.expressions[0] === true ? 'pass' : 'fail';
    } catch (err) {
      if (!(err instanceof RegoError)) throw err;
      status = 'error';
      error = err.message;
    }
    const durationMs = clock() - start;
    results.push(error === undefined ? { name: t.name, file: t.file, status, durationMs, output } : { name: t.name, file: t.file, status, durationMs, output, error });
  }
  return results;
}

/** Test rules in module order; a rule defined in several bodies or files is one test, placed at its first definition. */
function findTestRules(modules: readonly Module[]): TestRule[] {
  const seen = new Map<string, TestRule>();
  for (const m of modules) {
    for (const r of m.rules) {
      const head = r.ref[0];
      if (r.kind === 'func' || r.ref.length !== 1 || head?.type !== 'scalar' || typeof head.value !== 'string') continue;
      const rule = head.value;
      const skip = rule.startsWith('todo_test_');
      if (!skip && !rule.startsWith('test_')) continue;
      const path = [...m.pkg, rule];
      const name = `data.${path.join('.')}`;
      if (seen.has(name)) continue;
      seen.set(name, { name, query: refQuery(path), file: m.file, skip });
    }
  }
  return [...seen.values()];
}

function refQuery(path: readonly string[]): string {
  return `data${path.map((p) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`)).join('')}`;
}
