/**
 * The wasm path against modules built by a real `opa build -t wasm` (vendored in
 * opa-built/, see SOURCE.md there). The expected answers are OPA's, read from the Rego
 * beside each module and from OPA's semantics, not produced by our engine; the Rego
 * engine must agree with them too, so both paths give the same answers on the same policy.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compile } from '../../../functions/rego/index.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'opa-built');
const bytes = (name: string): Uint8Array => new Uint8Array(readFileSync(join(dir, name)));
const source = (name: string): string => readFileSync(join(dir, name), 'utf8');
// Both modules are written in Rego v0 (no `if`); our engine reads v1, so the Rego twins add it.
const asV1 = (text: string): string => text.replace(/^(\s*(?:default\s+)?\w+)\s*\{/gm, '$1 if {');

describe('test-p.wasm (opa build of test-p.rego, entrypoint test/p)', () => {
  const wasm = compile(bytes('test-p.wasm'));
  const rego = compile(asV1(source('test-p.rego')));

  it('is an OPA module declaring the entrypoint it was built with', () => {
    expect(wasm.format).toBe('wasm');
    expect(wasm.entrypoints).toEqual(['test/p']);
  });

  it('is true for {"fragment":"moo"} and undefined otherwise, on both paths', () => {
    const cases: Array<[unknown, unknown]> = [
      [{ fragment: 'moo' }, true],
      [{ fragment: 'moo!' }, undefined],
      [{ fragment: 'MOO' }, undefined],
      [{}, undefined],
      [{ fragment: ['moo'] }, undefined],
      ['moo', undefined],
      [undefined, undefined],
    ];
    for (const [input, want] of cases) {
      expect(wasm.evaluate(input, { entrypoint: 'test/p' }).result, JSON.stringify(input)).toBe(want);
      expect(rego.evaluate(input, { entrypoint: 'test/p' }).result, JSON.stringify(input)).toBe(want);
    }
  });

  it('keeps answering after many evaluations (memory is reset between them)', () => {
    for (let i = 0; i < 2000; i++) expect(wasm.evaluate({ fragment: i % 2 === 0 ? 'moo' : `x${'y'.repeat(i)}` }, { entrypoint: 'test/p' }).result).toBe(i % 2 === 0 ? true : undefined);
  });
});

describe('example-allow.wasm (opa build of example-allow.rego, entrypoint example/allow)', () => {
  const wasm = compile(bytes('example-allow.wasm'));
  const rego = compile(asV1(source('example-allow.rego')));
  const data = {
    user_roles: { userA: ['editor'], userB: ['viewer'], userC: ['viewer', 'editor'] },
    role_permissions: {
      editor: [{ action: 'edit', object: 'article' }, { action: 'read', object: 'article' }],
      viewer: [{ action: 'read', object: 'article' }],
    },
  };

  it('declares example/allow', () => {
    expect(wasm.entrypoints).toEqual(['example/allow']);
  });

  it('allows what a role grants and is false (the default) for anything else, on both paths', () => {
    const cases: Array<[unknown, boolean]> = [
      [{ user: 'userA', action: 'edit', object: 'article' }, true],
      [{ user: 'userA', action: 'read', object: 'article' }, true],
      [{ user: 'userA', action: 'delete', object: 'article' }, false],
      [{ user: 'userA', action: 'edit', object: 'comment' }, false],
      [{ user: 'userB', action: 'edit', object: 'article' }, false],
      [{ user: 'userB', action: 'read', object: 'article' }, true],
      [{ user: 'userC', action: 'edit', object: 'article' }, true],
      [{ user: 'nobody', action: 'read', object: 'article' }, false],
      [{ user: 'userA', action: 'edit', object: 'article', extra: 1 }, true],
      [{}, false],
    ];
    for (const [input, want] of cases) {
      expect(wasm.evaluate(input, { entrypoint: 'example/allow', data }).result, JSON.stringify(input)).toBe(want);
      expect(rego.evaluate(input, { entrypoint: 'example/allow', data }).result, JSON.stringify(input)).toBe(want);
    }
  });

  it('is false without the data documents it reads', () => {
    expect(wasm.evaluate({ user: 'userA', action: 'edit', object: 'article' }, { entrypoint: 'example/allow' }).result).toBe(false);
  });

  it('follows the data it is given when the caller swaps it', () => {
    const revoked = { ...data, role_permissions: { ...data.role_permissions, editor: [] } };
    const input = { user: 'userA', action: 'edit', object: 'article' };
    expect(wasm.evaluate(input, { entrypoint: 'example/allow', data }).result).toBe(true);
    expect(wasm.evaluate(input, { entrypoint: 'example/allow', data: revoked }).result).toBe(false);
    expect(wasm.evaluate(input, { entrypoint: 'example/allow', data }).result).toBe(true);
  });
});
