/** compile() on Rego source: the same Policy interface the wasm path has. */
import { describe, expect, it } from 'vitest';
import { compile, entrypointPath, RegoError } from '../../../functions/rego/index.js';

const SOURCE = `package sluice.policy

deny contains msg if {
	some t in input.tools
	t in data.blocked
	msg := sprintf("tool %s is not allowed", [t])
}

hold if input.max_tokens > 32000

stamp := time.now_ns()

double(x) := 2 * x

slow if count([x | some i in numbers.range(1, 3000); some j in numbers.range(1, 3000); x := i + j]) > 0
`;

describe('compile(Rego source)', () => {
  const policy = compile(SOURCE);

  it('lists the rules of the package as entry points, functions left out', () => {
    expect(policy.format).toBe('rego');
    expect(policy.entrypoints).toEqual(['sluice/policy/deny', 'sluice/policy/hold', 'sluice/policy/slow', 'sluice/policy/stamp']);
  });

  it('evaluates a rule by path with input, data and the clock', () => {
    const opts = { data: { blocked: ['shell'] } };
    expect(policy.evaluate({ tools: ['shell', 'search'] }, { entrypoint: 'sluice/policy/deny', ...opts }).result).toEqual(['tool shell is not allowed']);
    expect(policy.evaluate({ tools: ['search'] }, { entrypoint: 'data.sluice.policy.deny', ...opts }).result).toEqual([]);
    expect(policy.evaluate({}, { entrypoint: 'sluice.policy.stamp', now: 1_000_000_007n }).result).toBe(1_000_000_007);
  });

  it('is undefined for an undefined or absent rule', () => {
    expect(policy.evaluate({ max_tokens: 10 }, { entrypoint: 'sluice/policy/hold' }).result).toBeUndefined();
    expect(policy.evaluate({}, { entrypoint: 'sluice/policy/redact' }).result).toBeUndefined();
  });

  it('applies the evaluation budget', () => {
    try {
      policy.evaluate({}, { entrypoint: 'sluice/policy/slow', budgetMs: 5 });
      expect.unreachable('the budget should have stopped evaluation');
    } catch (err) {
      expect((err as RegoError).code).toBe('eval_cancel_error');
    }
  });

  it('reads entry points as slash paths, dotted paths and data refs', () => {
    expect(entrypointPath('sluice/policy/deny')).toEqual(['sluice', 'policy', 'deny']);
    expect(entrypointPath('sluice.policy.deny')).toEqual(['sluice', 'policy', 'deny']);
    expect(entrypointPath('data.sluice.policy.deny')).toEqual(['sluice', 'policy', 'deny']);
    expect(entrypointPath('database/x')).toEqual(['database', 'x']);
  });
});
