import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../functions/rego/index.js';

const policies = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'policies');
const load = (name: string): string => readFileSync(join(policies, name), 'utf8');

describe('compilePolicy / CompiledPolicy.evaluate', () => {
  it("exposes the module's own package and evaluates it as JSON", () => {
    const p = compilePolicy('package sluice.policy\n\nallow if input.user == "ann"\n\ndeny contains "no" if not allow\n');
    expect(p.packagePath).toEqual(['sluice', 'policy']);
    expect(p.evaluate('data.sluice.policy', { input: { user: 'ann' } }).result).toEqual({ allow: true, deny: [] });
    expect(p.evaluate('data.sluice.policy', { input: { user: 'bo' } }).result).toEqual({ deny: ['no'] });
  });

  it('captures the value of a single-expression query, false included, as opa eval does', () => {
    const p = compilePolicy('package a\n\ndefault allow := false\n\nallow if input.ok\n');
    expect(p.evaluate('data.a.allow', { input: {} }).result).toBe(false);
    expect(p.evaluate('count([1, 2, 3])').result).toBe(3);
    expect(p.evaluate('3 < 1').result).toBe(false);
    expect(p.queryValues('3 < 1; true')).toHaveLength(0);
  });

  it('returns undefined for an undefined query', () => {
    const p = compilePolicy('package a\n\np if input.x\n');
    expect(p.evaluate('data.a.p', { input: {} }).result).toBeUndefined();
  });

  it('accepts several named modules and reports errors by module name', () => {
    const p = compilePolicy({ modules: [{ name: 'lib.rego', source: 'package lib\n\nf(x) := x * 2\n' }, { name: 'main.rego', source: 'package main\n\nimport data.lib\n\np := lib.f(4)\n' }] });
    expect(p.packagePath).toEqual(['lib']);
    expect(p.evaluate('data.main.p').result).toBe(8);
  });

  it('injects time.now_ns and sends print lines to the callback', () => {
    const lines: string[] = [];
    const p = compilePolicy('package a\n\np := t if {\n\tt := time.now_ns()\n\tprint("now", t)\n}\n');
    expect(p.evaluate('data.a.p', { nowNs: 42n, print: (l) => lines.push(l) }).result).toBe(42);
    expect(lines).toEqual(['now 42']);
  });

  it('raises builtin errors only with strictBuiltinErrors', () => {
    const p = compilePolicy('package a\n\np := 1 / input.d\n');
    expect(p.evaluate('data.a.p', { input: { d: 0 } }).result).toBeUndefined();
    expect(() => p.evaluate('data.a.p', { input: { d: 0 }, strictBuiltinErrors: true })).toThrow(/eval_builtin_error: div: divide by zero/);
  });

  it('reuses compiled queries and gives the same answers across evaluations', () => {
    const p = compilePolicy(load('model-allow.rego'));
    for (let i = 0; i < 50; i++) {
      const model = i % 2 === 0 ? 'gpt-4.1' : 'gpt-3';
      const r = p.evaluate('data.sluice.models.allow', { input: { model: { requested: model, resolved: model } } }).result;
      expect(r).toBe(i % 2 === 0);
    }
  });
});

describe('reference gateway policies (docs/policies)', () => {
  it('tool-deny denies blocked tools only', () => {
    const p = compilePolicy(load('tool-deny.rego'));
    // The gateway's input document lists tool names across endpoints in input.tool_names.
    const tools = (...names: string[]) => ({ tool_names: names, tools: names.map((name) => ({ name })) });
    expect(p.evaluate('data.sluice.tools.deny', { input: tools('web_search', 'shell_exec') }).result).toEqual(['tool "shell_exec" is not allowed']);
    expect(p.evaluate('data.sluice.tools.deny', { input: tools('web_search') }).result).toEqual([]);
  });

  it('secret-regex finds credentials in long content', () => {
    const p = compilePolicy(load('secret-regex.rego'));
    const input = (text: string) => ({ messages: [{ role: 'user', text }] });
    expect(p.evaluate('data.sluice.content.deny', { input: input(`${'x'.repeat(8000)} AKIAABCDEFGHIJKLMNOP`) }).result).toEqual(['message content looks like a aws access key']);
    expect(p.evaluate('data.sluice.content.deny', { input: input('nothing to see') }).result).toEqual([]);
  });

  it('user-budget compares spend plus estimate with the budget from data', () => {
    const p = compilePolicy(load('user-budget.rego'));
    const data = { budgets: { default_usd: 10, users: { ann: 50 } }, spend: { ann: 48, bo: 1 } };
    expect(p.evaluate('data.sluice.budget.deny', { input: { user: 'ann', request: { estimated_tokens: 250_000 } }, data }).result).toEqual([
      'user ann would exceed the monthly budget of 50 USD',
    ]);
    expect(p.evaluate('data.sluice.budget.deny', { input: { user: 'bo', request: { estimated_tokens: 250_000 } }, data }).result).toEqual([]);
  });

  it('business-hours follows the injected clock', () => {
    const p = compilePolicy(load('business-hours.rego'));
    const mondayNoon = 1_763_985_600_000_000_000n;
    const sundayNoon = mondayNoon - 86_400_000_000_000n;
    const mondayNight = mondayNoon + 10n * 3_600_000_000_000n;
    expect(p.evaluate('data.sluice.hours.deny', { nowNs: mondayNoon }).result).toEqual([]);
    expect(p.evaluate('data.sluice.hours.deny', { nowNs: sundayNoon }).result).toHaveLength(1);
    expect(p.evaluate('data.sluice.hours.deny', { nowNs: mondayNight }).result).toHaveLength(1);
  });
});
