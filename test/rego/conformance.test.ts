import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatSummary, passRate, runSuite } from '../../functions/rego/conformance/runner.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const opaSample = join(repoRoot, 'test', 'rego', 'opa-conformance');
const ownCases = join(repoRoot, 'test', 'rego', 'cases');
const builtinCases = join(repoRoot, 'test', 'rego', 'builtins', 'cases');

describe('Rego conformance (OPA YAML cases)', () => {
  it("passes OPA's vendored sample (test/rego/opa-conformance), skipping only cases that need part-2 builtins", () => {
    expect(existsSync(opaSample), `expected OPA's sample at ${opaSample}`).toBe(true);
    const s = runSuite([opaSample]);
    expect(s.failed, formatSummary(s)).toBe(0);
    expect(s.passed).toBeGreaterThanOrEqual(100);
    for (const o of s.outcomes.filter((x) => x.status === 'skip')) expect(o.detail).toMatch(/needs builtin [\w.]+/);
  });

  it('passes our own cases covering every language construct', () => {
    const s = runSuite([ownCases]);
    expect(s.failed, formatSummary(s)).toBe(0);
    expect(s.skipped).toBe(0);
    expect(s.passed).toBeGreaterThanOrEqual(90);
  });

  it('passes every OPA-format case file the project holds, and prints the pass rate', () => {
    const s = runSuite([opaSample, ownCases, builtinCases]);
    process.stdout.write(`Rego conformance over every OPA case file (test/rego/opa-conformance, test/rego/cases, test/rego/builtins/cases): ${passRate(s)}\n`);
    expect(s.failed, formatSummary(s)).toBe(0);
    expect(s.passed + s.skipped).toBeGreaterThanOrEqual(500);
  });
});
