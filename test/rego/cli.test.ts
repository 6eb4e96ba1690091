import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPoliciesCommand } from '../../bin/commands/policies.js';

let dir: string;

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runPoliciesCommand(argv, { stdout: (s) => (out += s), stderr: (s) => (err += s) });
  return { code, out, err };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-policies-'));
  writeFileSync(
    join(dir, 'policy.rego'),
    'package sluice.policy\n\ndeny contains msg if {\n\tsome t in input.tools\n\tt in data.blocked\n\tmsg := sprintf("tool %s is blocked", [t])\n}\n\nallow if count(deny) == 0\n',
  );
  writeFileSync(join(dir, 'data.json'), '{"blocked": ["shell"], "big": 12345678901234567890}');
  writeFileSync(join(dir, 'input.json'), JSON.stringify({ tools: ['shell', 'search'] }));
  writeFileSync(join(dir, 'bad.rego'), 'package bad\n\nallow if {\n\tx > 1\n}\n');
  writeFileSync(join(dir, 'syntax.rego'), 'package bad\n\nallow {\n\ttrue\n}\n');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sluice policies eval', () => {
  it('prints the result like opa eval --format json', async () => {
    const r = await run(['eval', '-d', join(dir, 'policy.rego'), '-d', join(dir, 'data.json'), '-i', join(dir, 'input.json'), 'data.sluice.policy']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({
      result: [{ expressions: [{ value: { deny: ['tool shell is blocked'] }, text: 'data.sluice.policy', location: { row: 1, col: 1 } }] }],
    });
  });

  it('prints bindings and one expression per query expression', async () => {
    const r = await run(['eval', '-d', join(dir, 'policy.rego'), 'x := data.sluice.policy.allow; y := 2']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({
      result: [
        {
          expressions: [
            { value: true, text: 'x := data.sluice.policy.allow', location: { row: 1, col: 1 } },
            { value: true, text: 'y := 2', location: { row: 1, col: 32 } },
          ],
          bindings: { x: true, y: 2 },
        },
      ],
    });
  });

  it('keeps big integers from data exact', async () => {
    const r = await run(['eval', '-d', join(dir, 'data.json'), 'data.big']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('"value": 12345678901234567890');
  });

  it('prints {} for an undefined query', async () => {
    const r = await run(['eval', '-d', join(dir, 'policy.rego'), 'data.sluice.policy.nothing']);
    expect([r.code, r.out.trim()]).toEqual([0, '{}']);
  });

  it('fails with the error position on a compile error', async () => {
    const r = await run(['eval', '-d', join(dir, 'bad.rego'), 'data.bad']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${join(dir, 'bad.rego')}:4:2: rego_unsafe_var_error: var x is unsafe`);
  });

  it('raises builtin errors with --strict-builtin-errors', async () => {
    const lax = await run(['eval', '1 / 0']);
    expect([lax.code, lax.out.trim()]).toEqual([0, '{}']);
    const strict = await run(['eval', '--strict-builtin-errors', '1 / 0']);
    expect(strict.code).toBe(1);
    expect(strict.err).toContain('eval_builtin_error: div: divide by zero');
  });

  it('rejects a missing query with usage', async () => {
    const r = await run(['eval', '-d', join(dir, 'policy.rego')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('usage');
  });
});

describe('sluice policies check', () => {
  it('accepts a valid policy', async () => {
    const r = await run(['check', join(dir, 'policy.rego')]);
    expect([r.code, r.out.trim()]).toEqual([0, '1 module OK']);
  });

  it('reports parse errors with file:line:col and exits 1', async () => {
    const r = await run(['check', join(dir, 'syntax.rego')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${join(dir, 'syntax.rego')}:3:7: rego_parse_error: \`if\` keyword is required before rule body`);
  });

  it('reports compile errors with file:line:col and exits 1', async () => {
    const r = await run(['check', join(dir, 'bad.rego')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('bad.rego:4:2: rego_unsafe_var_error: var x is unsafe');
  });
});
