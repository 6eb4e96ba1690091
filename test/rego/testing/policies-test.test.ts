/** `sluice policies test`: the example folder in docs/, a failing tree, exit codes, and the real CLI. */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runTestCommand } from '../../../functions/rego/testing/command.js';
import { formatDuration } from '../../../functions/rego/testing/report.js';
import type { TestRunOptions } from '../../../functions/rego/testing/runner.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const EXAMPLE = join(ROOT, 'docs/policies/example');
const root = mkdtempSync(join(tmpdir(), 'sluice-policies-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;

function tree(files: Record<string, string>): string {
  const dir = join(root, `t${counter++}`);
  for (const [path, body] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), body);
  }
  return dir;
}

/** Runs the command with collected output; the clock advances 0.25 ms per reading so durations are fixed. */
function run(args: string[], opts: TestRunOptions = {}): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  let t = 0;
  const code = runTestCommand(args, { stdout: (s) => (out += s), stderr: (s) => (err += s) }, { clock: () => (t += 0.25), ...opts });
  return { code, out, err };
}

const POLICY = `package gw

blocked := {"shell_exec"}

deny contains msg if {
	some t in input.tools
	t in blocked
	msg := sprintf("tool %s", [t])
}

conflict := 1 if input.x
conflict := 2 if input.x
`;

const FAILING_TESTS = `package gw_test

import data.gw

test_blocks_shell if {
	gw.deny == {"tool shell_exec"} with input as {"tools": ["shell_exec"]}
}

test_blocks_browser if {
	print("deny is", gw.deny)
	gw.deny == {"tool browser"} with input as {"tools": ["browser"]}
}

test_conflict if {
	gw.conflict == 1 with input as {"x": true}
}

todo_test_later if false
`;

describe('sluice policies test', () => {
  it('passes on the example folder shipped in docs/policies/example', () => {
    const r = run([EXAMPLE]);
    expect(r).toEqual({ code: 0, out: 'PASS: 8/8\n', err: '' });
  });

  it('lists every test and its print() output with --verbose', () => {
    const r = run([EXAMPLE, '--verbose']);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe(`${join(EXAMPLE, 'gateway_test.rego')}:`);
    expect(lines.filter((l) => l.endsWith(': PASS (250µs)'))).toHaveLength(8);
    expect(lines).toContain('data.sluice.policy_test.test_blocked_tool_is_denied: PASS (250µs)');
    expect(lines).toContain('  reasons: {"tool \\"file_delete\\" is not allowed", "tool \\"send_email\\" is not allowed"}');
    expect(lines.slice(-3)).toEqual(['-'.repeat(80), 'PASS: 8/8', '']);
  });

  it('reports FAIL, ERROR and SKIPPED like opa test and exits 1', () => {
    const dir = tree({ 'gw.rego': POLICY, 'gw_test.rego': FAILING_TESTS });
    const r = run([dir]);
    expect(r.code).toBe(1);
    expect(r.out).toBe(
      [
        `${join(dir, 'gw_test.rego')}:`,
        'data.gw_test.test_blocks_browser: FAIL (250µs)',
        '',
        '  deny is set()',
        '',
        'data.gw_test.test_conflict: ERROR (250µs)',
        `  ${join(dir, 'gw.rego')}:12: eval_conflict_error: complete rules must not produce multiple outputs (rule data.gw.conflict produced conflicting values)`,
        '-'.repeat(80),
        'PASS: 1/4',
        'FAIL: 1/4',
        'ERROR: 1/4',
        'SKIPPED: 1/4',
        '',
      ].join('\n'),
    );
  });

  it('shows passing and skipped tests too with --verbose', () => {
    const dir = tree({ 'gw.rego': POLICY, 'gw_test.rego': FAILING_TESTS });
    const r = run(['-v', dir]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('data.gw_test.test_blocks_shell: PASS (250µs)\n');
    expect(r.out).toContain('data.gw_test.todo_test_later: SKIPPED\n');
  });

  it('loads data files of the tree at the root of data, and finds tests in nested folders', () => {
    const dir = tree({
      'policy/gw.rego': 'package gw\n\nallowed if input.model in data.models\n',
      'data/models.json': '{"models": ["gpt-4o"]}',
      'tests/gw_test.rego': 'package gw_test\n\nimport data.gw\n\ntest_allowed if gw.allowed with input as {"model": "gpt-4o"}\n\ntest_other if not gw.allowed with input as {"model": "x"}\n',
    });
    expect(run([dir])).toEqual({ code: 0, out: 'PASS: 2/2\n', err: '' });
  });

  it('counts a test defined in several bodies once', () => {
    const dir = tree({ 'a_test.rego': 'package a_test\n\ntest_x if false\n\ntest_x if true\n' });
    expect(run([dir]).out).toBe('PASS: 1/1\n');
  });

  it('stops a test at its budget with an ERROR', () => {
    const dir = tree({ 'slow_test.rego': 'package slow_test\n\ntest_slow if count([x | some i in numbers.range(1, 3000); some j in numbers.range(1, 3000); x := i * j]) > 0\n' });
    const r = run([dir], { budgetMs: 50 });
    expect(r.code).toBe(1);
    expect(r.out).toContain('eval_cancel_error');
  });

  it('exits 1 with the location when a module does not compile', () => {
    const dir = tree({ 'bad_test.rego': 'package bad_test\n\ntest_x if {\n\tunknown_fn(1)\n}\n' });
    const r = run([dir]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^.*bad_test\.rego:4:\d+: rego_type_error: /);
  });

  it('exits 1 when there is nothing to run', () => {
    expect(run([tree({ 'p.rego': 'package p\n\nallow := true\n' })])).toMatchObject({ code: 1, err: 'error: no test_ rules found\n' });
    expect(run([tree({ 'd.json': '{}' })])).toMatchObject({ code: 1 });
  });

  it('exits 2 on usage errors', () => {
    expect(run([]).code).toBe(2);
    expect(run([EXAMPLE, '--bogus'])).toMatchObject({ code: 2 });
    const missing = run([join(root, 'missing')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('no such file or directory');
  });

  it('formats durations as opa test does', () => {
    expect([formatDuration(0.4125), formatDuration(1.2), formatDuration(15.678), formatDuration(2010)]).toEqual(['412.5µs', '1.2ms', '15.68ms', '2.01s']);
  });
});

describe('sluice policies test (child process)', () => {
  function cli(args: string[]): Promise<{ code: number; out: string }> {
    return new Promise((done) => {
      execFile(process.execPath, ['bin/sluice.js', 'policies', 'test', ...args], { cwd: ROOT }, (error, stdout) => {
        done({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, out: stdout });
      });
    });
  }

  it('exits 0 on the example folder and 1 on a failing tree', async () => {
    expect(await cli(['docs/policies/example'])).toEqual({ code: 0, out: 'PASS: 8/8\n' });
    const failing = await cli([tree({ 'gw.rego': POLICY, 'gw_test.rego': FAILING_TESTS })]);
    expect(failing.code).toBe(1);
    expect(failing.out).toContain('FAIL: 1/4');
  }, 60_000);
});
