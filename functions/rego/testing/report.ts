/**
 * Formats test results as `opa test` prints them: failing (or, verbose, all) tests grouped
 * under their file, print() output indented under its test, then the PASS/FAIL/ERROR/SKIPPED
 * counts.
 */
import type { TestResult, TestStatus } from './runner.js';

const LABEL: Record<TestStatus, string> = { pass: 'PASS', fail: 'FAIL', error: 'ERROR', skip: 'SKIPPED' };
const RULE = '-'.repeat(80);

export function formatTestReport(results: readonly TestResult[], opts: { verbose: boolean }): string {
  const shown = opts.verbose ? results : results.filter((r) => r.status === 'fail' || r.status === 'error');
  const lines: string[] = [];
  let file: string | undefined;
  for (const r of shown) {
    if (r.file !== file) {
      if (file !== undefined) lines.push('');
      file = r.file;
      lines.push(`${file}:`);
    }
    lines.push(r.status === 'skip' ? `${r.name}: ${LABEL[r.status]}` : `${r.name}: ${LABEL[r.status]} (${formatDuration(r.durationMs)})`);
    if (r.error !== undefined) lines.push(`  ${r.error}`);
    if (r.output.length > 0) lines.push('', ...r.output.map((l) => `  ${l}`), '');
  }
  if (shown.length > 0) lines.push(RULE);
  const total = results.length;
  const count = (s: TestStatus): number => results.filter((r) => r.status === s).length;
  for (const s of ['pass', 'fail', 'error', 'skip'] as const) {
    const n = count(s);
    if (n > 0 || s === 'pass') lines.push(`${LABEL[s]}: ${n}/${total}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Go-style short durations, as opa test prints them: 412.5µs, 1.2ms, 2.01s. */
export function formatDuration(ms: number): string {
  if (ms < 1) return `${trim(ms * 1000)}µs`;
  if (ms < 1000) return `${trim(ms)}ms`;
  return `${trim(ms / 1000)}s`;
}

function trim(x: number): string {
  return String(Number(x.toFixed(x < 10 ? 3 : x < 100 ? 2 : 1)));
}

/** 0 when every test passed or was skipped (and there was at least one), 1 otherwise. */
export function exitCodeFor(results: readonly TestResult[]): 0 | 1 {
  if (results.length === 0) return 1;
  return results.every((r) => r.status === 'pass' || r.status === 'skip') ? 0 : 1;
}
