import { describe, expect, it } from 'vitest';
import { compilePolicy, RegoError } from '../../functions/rego/index.js';

describe('budgets', () => {
  it('stops a runaway evaluation with eval_cancel_error at the budget', () => {
    const policy = compilePolicy('package a\n\nn := numbers.range(1, 100000)\n\np := count([x | some x in n; some y in n; x == y])\n');
    const start = performance.now();
    let caught: unknown;
    try {
      policy.evaluate('data.a.p', { budgetMs: 50 });
    } catch (err) {
      caught = err;
    }
    const elapsed = performance.now() - start;
    expect(caught).toBeInstanceOf(RegoError);
    expect((caught as RegoError).code).toBe('eval_cancel_error');
    expect((caught as RegoError).message).toContain('budget of 50 ms');
    expect(elapsed).toBeLessThan(2000);
  });

  it('stops nested iteration inside rule bodies too', () => {
    const policy = compilePolicy('package a\n\nn := numbers.range(1, 2000)\n\np contains [x, y] if {\n\tsome x in n\n\tsome y in n\n\tx == y + 1999\n}\n');
    expect(() => policy.evaluate('data.a.p', { budgetMs: 20 })).toThrow(/eval_cancel_error/);
  });

  it('uses a 200 ms evaluation budget by default', () => {
    const policy = compilePolicy('package a\n\nn := numbers.range(1, 3000)\n\np := count([1 | some x in n; some y in n; x == y])\n');
    const start = performance.now();
    expect(() => policy.evaluate('data.a.p')).toThrow(/budget of 200 ms/);
    expect(performance.now() - start).toBeLessThan(1500);
  });

  it('evaluates normally within the budget', () => {
    const policy = compilePolicy('package a\n\np := count([x | some x in numbers.range(1, 1000)])\n');
    expect(policy.evaluate('data.a.p').result).toBe(1000);
  });

  it('enforces the compile budget', () => {
    const rules = Array.from({ length: 1000 }, (_, i) => `r${i} if {\n\tinput.a[${i}] == ${i}\n\tcount(input.b) > ${i}\n}\n`).join('\n');
    expect(() => compilePolicy(`package big\n\n${rules}`, { compileBudgetMs: 1 })).toThrow(/rego_compile_error: compilation exceeded its budget of 1 ms/);
    expect(() => compilePolicy(`package big\n\n${rules}`)).not.toThrow();
  });
});
