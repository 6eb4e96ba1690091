import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatSummary, runSuite } from '../../functions/rego/conformance/runner.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const sharedSample = join(repoRoot, '..', 'shared', 'rego-conformance');
const ownCases = join(repoRoot, 'test', 'rego', 'cases');

describe('Rego conformance (OPA YAML cases)', () => {
  it("passes OPA's shared sample, skipping only cases that need part-2 builtins", () => {
    expect(existsSync(sharedSample), `expected OPA's sample at ${sharedSample}`).toBe(true);
    const s = runSuite([sharedSample]);
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
});
