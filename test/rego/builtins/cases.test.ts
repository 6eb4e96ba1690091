import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { laterBuiltins } from '../../../functions/rego/builtins/index.js';
import { caseFiles, formatSummary, loadCases, runSuite } from '../../../functions/rego/conformance/runner.js';

const casesDir = join(dirname(fileURLToPath(import.meta.url)), 'cases');

describe('builtin cases in OPA format (test/rego/builtins/cases)', () => {
  it('all pass through the engine, none skipped', () => {
    const s = runSuite([casesDir]);
    expect(s.failed, formatSummary(s)).toBe(0);
    expect(s.skipped, formatSummary(s)).toBe(0);
    expect(s.passed).toBeGreaterThanOrEqual(350);
  });

  it('cover every implemented builtin listed in docs/rego-builtins.md except internal ones', () => {
    const text = caseFiles(casesDir)
      .flatMap((f) => loadCases(f))
      .flatMap((c) => c.modules ?? [])
      .join('\n');
    const names = ['plus', 'minus', 'div', 'rem', 'count', 'sum', 'sprintf', 'regex.match', 'glob.match', 'json.patch', 'io.jwt.decode_verify', 'time.parse_ns', 'net.cidr_merge', 'units.parse_bytes', 'uuid.parse', 'walk'];
    for (const n of names) {
      const called = text.includes(`${n}(`) || (n === 'plus' && text.includes(' + ')) || (n === 'minus' && text.includes(' - ')) || (n === 'div' && text.includes(' / ')) || (n === 'rem' && text.includes(' % '));
      expect(called, n).toBe(true);
    }
    for (const n of laterBuiltins) expect(text.includes(`${n}(`), `${n} is not implemented but has a case`).toBe(false);
  });
});
