import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse as parseYAML } from 'yaml';
import { laterBuiltins, refusedBuiltins } from '../builtins/index.js';
import { RegoError } from '../errors.js';
import { compilePolicy } from '../policy.js';
import type { QueryResult } from '../policy.js';
import { compareValues, fromJSON, parseJSON, toJSONText, valueKey } from '../value.js';
import type { Value } from '../value.js';

/** One test case in OPA's YAML format (v1/test/cases/testdata). */
export interface ConformanceCase {
  note: string;
  query: string;
  modules?: string[];
  data?: unknown;
  input?: unknown;
  input_term?: string;
  want_result?: Array<Record<string, unknown>>;
  want_error?: string;
  want_error_code?: string;
  want_defined?: boolean;
  ignore_generated_vars?: boolean;
  sort_bindings?: boolean;
  strict_error?: boolean;
  skip?: boolean | string;
}

export interface CaseOutcome {
  readonly file: string;
  readonly note: string;
  readonly status: 'pass' | 'fail' | 'skip';
  /** Why it failed (with a want/got diff) or why it was skipped. */
  readonly detail: string;
}

/** Runs one case; never throws. */
export function runCase(c: ConformanceCase, file = ''): CaseOutcome {
  const out = (status: CaseOutcome['status'], detail = ''): CaseOutcome => ({ file, note: c.note, status, detail });
  if (c.skip !== undefined && c.skip !== false) return out('skip', typeof c.skip === 'string' ? c.skip : 'marked skip');
  const wantsError = c.want_error !== undefined || c.want_error_code !== undefined;
  let results: QueryResult[];
  try {
    const policy = compilePolicy({ modules: (c.modules ?? []).map((source, i) => ({ name: `test-${i}.rego`, source })) }, { compileBudgetMs: 10_000 });
    const input = c.input_term !== undefined ? termValue(c.input_term) : c.input !== undefined ? fromJSON(c.input) : undefined;
    const data = c.data !== undefined ? fromJSON(c.data ?? {}) : undefined;
    results = policy.queryValues(c.query, { input, data, strictBuiltinErrors: c.strict_error === true, budgetMs: 10_000, nowNs: BigInt(Date.now()) * 1_000_000n });
  } catch (err) {
    if (!(err instanceof RegoError)) return out('fail', `unexpected exception: ${(err as Error).stack ?? String(err)}`);
    const missing = /unsupported builtin ([\w.]+)/.exec(err.detail)?.[1];
    if (!wantsError && missing !== undefined && (laterBuiltins.has(missing) || refusedBuiltins.has(missing))) {
      return out('skip', `needs builtin ${missing} (${refusedBuiltins.has(missing) ? 'refused by design' : 'not in part 1'})`);
    }
    if (!wantsError) return out('fail', `unexpected error: ${err.message}`);
    const problems: string[] = [];
    if (c.want_error_code !== undefined && err.code !== c.want_error_code) problems.push(`want error code ${c.want_error_code}, got ${err.code}`);
    if (c.want_error !== undefined && !err.message.includes(c.want_error)) problems.push(`want error containing:\n    ${c.want_error}\n  got:\n    ${err.message}`);
    return problems.length === 0 ? out('pass') : out('fail', problems.join('\n  '));
  }
  if (wantsError) return out('fail', `want error ${c.want_error_code ?? ''} ${c.want_error ?? ''}\n  got result: ${formatRows(results.map((r) => normalizeBindings(r.bindings, false)))}`);
  if (c.want_result === undefined && c.want_defined !== undefined) {
    return (results.length > 0) === c.want_defined ? out('pass') : out('fail', `want ${c.want_defined ? 'defined' : 'undefined'}, got ${results.length} result(s)`);
  }
  const got = results.map((r) => {
    const b = normalizeBindings(r.bindings, c.sort_bindings === true);
    if (c.ignore_generated_vars === true) for (const k of [...b.keys()]) if (k.startsWith('__localq')) b.delete(k);
    return b;
  });
  const want = (c.want_result ?? []).map((row) => {
    const m = new Map<string, Value>();
    for (const [k, v] of Object.entries(row)) m.set(k, normalize(fromJSON(v), c.sort_bindings === true));
    return m;
  });
  const key = (m: Map<string, Value>): string => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${valueKey(v)}`).join(';');
  // Result rows compare as sets (OPA's runner puts both sides in an ast.Set).
  const gk = [...new Set(got.map(key))].sort();
  const wk = [...new Set(want.map(key))].sort();
  if (gk.length === wk.length && gk.every((x, i) => x === wk[i])) return out('pass');
  return out('fail', `want: ${formatRows(want)}\n  got:  ${formatRows(got)}`);
}

/** A Rego term given as text (`input_term`), evaluated with no modules. */
function termValue(text: string): Value {
  const r = compilePolicy({ modules: [] }).queryValues(text, {}, 1)[0];
  if (r === undefined || r.expressions[0] === undefined) throw new Error(`input_term is undefined: ${text}`);
  return r.expressions[0];
}

/** Results compare as JSON (sets become arrays, non-string keys strings), as OPA's runner does. */
function normalize(v: Value, sortArrays: boolean): Value {
  const j = parseJSON(toJSONText(v));
  if (sortArrays && Array.isArray(j)) return [...j].sort(compareValues);
  return j;
}

function normalizeBindings(b: ReadonlyMap<string, Value>, sortArrays: boolean): Map<string, Value> {
  const m = new Map<string, Value>();
  for (const [k, v] of b) m.set(k, normalize(v, sortArrays));
  return m;
}

function formatRows(rows: Array<Map<string, Value>>): string {
  return `[${rows.map((m) => `{${[...m.entries()].map(([k, v]) => `${k}: ${toJSONText(v)}`).join(', ')}}`).join(', ')}]`;
}

/** Every YAML case file under dir, sorted. */
export function caseFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

export function loadCases(file: string): ConformanceCase[] {
  const doc = parseYAML(readFileSync(file, 'utf8'), { intAsBigInt: true }) as { cases?: ConformanceCase[] } | null;
  return doc?.cases ?? [];
}

export interface SuiteSummary {
  readonly outcomes: CaseOutcome[];
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
}

/** Runs every case under each directory. */
export function runSuite(dirs: readonly string[]): SuiteSummary {
  const outcomes: CaseOutcome[] = [];
  for (const dir of dirs) {
    for (const file of caseFiles(dir)) {
      const rel = relative(dir, file);
      let cases: ConformanceCase[];
      try {
        cases = loadCases(file);
      } catch (err) {
        outcomes.push({ file: rel, note: '(file)', status: 'fail', detail: `cannot read cases: ${(err as Error).message}` });
        continue;
      }
      for (const c of cases) outcomes.push(runCase(c, rel));
    }
  }
  const count = (s: CaseOutcome['status']): number => outcomes.filter((o) => o.status === s).length;
  return { outcomes, passed: count('pass'), failed: count('fail'), skipped: count('skip') };
}

/** "pass rate 99.1 % (434 of 438 cases)": skipped cases count as not passed. */
export function passRate(s: SuiteSummary): string {
  const total = s.passed + s.failed + s.skipped;
  const pct = total === 0 ? 0 : (100 * s.passed) / total;
  return `pass rate ${pct.toFixed(1)} % (${s.passed} of ${total} cases)`;
}

/** The report the CLI prints: each failure with its note and diff, skips naming the builtin, then the counts. */
export function formatSummary(s: SuiteSummary): string {
  const lines: string[] = [];
  for (const o of s.outcomes) {
    if (o.status === 'fail') lines.push(`FAIL ${o.file}: ${o.note}\n  ${o.detail}`);
    else if (o.status === 'skip') lines.push(`SKIP ${o.file}: ${o.note}: ${o.detail}`);
  }
  lines.push(`${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped; ${passRate(s)}`);
  return lines.join('\n');
}
