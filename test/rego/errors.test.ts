import { describe, expect, it } from 'vitest';
import { compilePolicy, RegoCompileError, RegoError, RegoParseError } from '../../functions/rego/index.js';
import { tokenize } from '../../functions/rego/lexer.js';

function compileError(src: string): RegoError {
  try {
    compilePolicy(src);
  } catch (err) {
    if (err instanceof RegoError) return err;
    throw err;
  }
  throw new Error('expected a RegoError');
}

describe('lexer', () => {
  it('tokenizes with line and column and decodes escapes', () => {
    const toks = tokenize('package a\n\tp := "x\\n" # c\n', 'f.rego');
    const str = toks.find((t) => t.kind === 'string')!;
    expect(str.text).toBe('x\n');
    expect([str.line, str.col]).toEqual([2, 7]);
    expect(toks.find((t) => t.text === ':=')!.nlBefore).toBe(false);
    expect(toks.find((t) => t.text === 'p')!.nlBefore).toBe(true);
  });

  it('reports an unterminated string at its start', () => {
    const err = compileError('package a\n\np := "abc\n');
    expect(err).toBeInstanceOf(RegoParseError);
    expect([err.code, err.line, err.col]).toEqual(['rego_parse_error', 3, 6]);
  });

  it('reports an illegal character', () => {
    const err = compileError('package a\np := 1 ^ 2\n');
    expect([err.code, err.line, err.col]).toEqual(['rego_parse_error', 2, 8]);
  });
});

describe('parser', () => {
  it('requires if before a rule body (Rego v1)', () => {
    const err = compileError('package a\n\nallow {\n\ttrue\n}\n');
    expect(err.code).toBe('rego_parse_error');
    expect(err.detail).toContain('`if` keyword is required');
    expect([err.line, err.col]).toEqual([3, 7]);
    expect(err.message).toBe('policy.rego:3: rego_parse_error: `if` keyword is required before rule body');
  });

  it('requires a package', () => {
    const err = compileError('p := 1\n');
    expect([err.code, err.line, err.col]).toEqual(['rego_parse_error', 1, 1]);
  });

  it('rejects an empty body and reports where', () => {
    const err = compileError('package a\np if {\n}\n');
    expect([err.code, err.detail, err.line, err.col]).toEqual(['rego_parse_error', 'found empty body', 2, 6]);
  });

  it('rejects two expressions on one line without a separator', () => {
    const err = compileError('package a\np if { x := 1 y := 2 }\n');
    expect([err.code, err.line, err.col]).toEqual(['rego_parse_error', 2, 15]);
  });

  it('names the module file in the message', () => {
    try {
      compilePolicy({ modules: [{ name: 'ok.rego', source: 'package a\n' }, { name: 'bad.rego', source: 'package b\nq := [1,\n' }] });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(RegoParseError);
      expect((err as RegoError).file).toBe('bad.rego');
      expect((err as RegoError).message).toMatch(/^bad\.rego:\d+: rego_parse_error: /);
    }
  });
});

describe('compiler', () => {
  it('reports an unsafe var with its position', () => {
    const err = compileError('package a\n\np if {\n\tx > 1\n}\n');
    expect(err).toBeInstanceOf(RegoCompileError);
    expect([err.code, err.detail, err.line, err.col]).toEqual(['rego_unsafe_var_error', 'var x is unsafe', 4, 2]);
  });

  it('reports recursion naming the cycle', () => {
    const err = compileError('package a\n\np if q\n\nq if p\n');
    expect(err.code).toBe('rego_recursion_error');
    expect(err.detail).toMatch(/rule data\.a\.(p|q) is recursive: data\.a\.(p|q) -> data\.a\.(p|q) -> data\.a\.(p|q)/);
    expect(err.line).toBeGreaterThan(0);
  });

  it('reports an arity mismatch on a builtin at the call', () => {
    const err = compileError('package a\n\np := count(1, 2, 3)\n');
    expect([err.code, err.line, err.col]).toEqual(['rego_type_error', 3, 6]);
    expect(err.detail).toContain('count: arity mismatch');
  });

  it('reports a literal argument of the wrong type', () => {
    const err = compileError('package a\n\np := lower(1)\n');
    expect(err.code).toBe('rego_type_error');
    expect(err.detail).toContain('lower: invalid argument(s)');
  });

  it('reports an undefined function', () => {
    const err = compileError('package a\n\np := nope(1)\n');
    expect([err.code, err.detail]).toEqual(['rego_type_error', 'undefined function nope']);
  });

  it('refuses builtins refused by design by name at compile time', () => {
    const err = compileError('package a\n\np := rego.parse_module("x.rego", "package x")\n');
    expect(err.code).toBe('rego_type_error');
    expect(err.detail).toContain('rego.parse_module');
    expect(err.detail).toContain('refused');
  });

  it('reports conflicting rule kinds', () => {
    const err = compileError('package a\n\np := 1\n\np contains 2\n');
    expect(err.code).toBe('rego_type_error');
    expect(err.detail).toContain('conflicting rules data.a.p found');
  });

  it('reports a second default rule', () => {
    const err = compileError('package a\n\ndefault p := 1\n\ndefault p := 2\n');
    expect([err.code, err.line]).toEqual(['rego_type_error', 5]);
  });

  it('reports a repeated assignment', () => {
    const err = compileError('package a\n\np if {\n\tx := 1\n\tx := 2\n}\n');
    expect([err.code, err.detail, err.line]).toEqual(['rego_compile_error', 'var x assigned above', 5]);
  });
});
