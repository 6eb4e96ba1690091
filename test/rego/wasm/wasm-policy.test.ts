/**
 * The wasm path of compile(): a module implementing OPA's WebAssembly ABI (abi-module.ts,
 * assembled here) loaded through @open-policy-agent/opa-wasm. This checks our reading of
 * the ABI and of opa-wasm, not the output of a real `opa build -t wasm`.
 */
import { describe, expect, it } from 'vitest';
import { compile, RegoError } from '../../../functions/rego/index.js';
import { buildAbiModule, ENTRYPOINTS } from './abi-module.js';

function errorOf(fn: () => unknown): RegoError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RegoError) return err;
    throw err;
  }
  throw new Error('expected a RegoError');
}

describe.each([1, 2] as const)('wasm policy, ABI 1.%i', (minorVersion) => {
  const policy = compile(buildAbiModule({ minorVersion, spinIterations: 10_000_000 }));

  it('lists the entry points the module declares', () => {
    expect(policy.format).toBe('wasm');
    expect(policy.entrypoints).toEqual([...ENTRYPOINTS].sort());
  });

  it('passes input in and reads the result set out, falsy inputs included', () => {
    const input = { model: 'gpt-4o', tools: ['shell'], n: 1.5, s: 'é ✓' };
    expect(policy.evaluate(input, { entrypoint: 'sluice/policy/echo' })).toEqual({ result: input });
    expect(policy.evaluate(false, { entrypoint: 'sluice/policy/echo' })).toEqual({ result: false });
    expect(policy.evaluate(0, { entrypoint: 'sluice/policy/echo' })).toEqual({ result: 0 });
    expect(policy.evaluate(undefined, { entrypoint: 'sluice/policy/echo' })).toEqual({ result: undefined });
  });

  it('accepts the entry point as a slash path, a dotted path or a data ref', () => {
    for (const entrypoint of ['sluice/policy/echo', 'sluice.policy.echo', 'data.sluice.policy.echo']) {
      expect(policy.evaluate('x', { entrypoint }).result).toBe('x');
    }
  });

  it('loads caller data, and reloads it when the caller passes another object', () => {
    const first = { allow: ['gpt-4o'] };
    expect(policy.evaluate({}, { entrypoint: 'sluice/policy/data', data: first }).result).toEqual(first);
    expect(policy.evaluate({}, { entrypoint: 'sluice/policy/data', data: first }).result).toEqual(first);
    const second = { allow: ['claude'] };
    expect(policy.evaluate({}, { entrypoint: 'sluice/policy/data', data: second }).result).toEqual(second);
    expect(policy.evaluate({}, { entrypoint: 'sluice/policy/data' }).result).toEqual({});
  });

  it('answers time.now_ns() with the evaluation clock', () => {
    // 1.7e18 is exact as a double: opa-wasm reads results with JSON.parse.
    expect(policy.evaluate({}, { entrypoint: 'sluice/policy/now', now: 1_700_000_000_000_000_000n }).result).toBe(1.7e18);
    expect(policy.evaluate({}, { entrypoint: 'sluice/policy/now', now: new Date(1_000) }).result).toBe(1e9);
  });

  it('serves builtins the module calls out for from the Rego builtins, errors making the call undefined', () => {
    expect(policy.evaluate('abc', { entrypoint: 'sluice/policy/digest' }).result).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(policy.evaluate(42, { entrypoint: 'sluice/policy/digest' }).result).toBeUndefined();
  });

  it('is undefined for an undefined rule and for an entry point the module lacks', () => {
    expect(policy.evaluate({}, { entrypoint: 'sluice/policy/undefined' })).toEqual({ result: undefined });
    expect(policy.evaluate({}, { entrypoint: 'sluice/policy/hold' })).toEqual({ result: undefined });
  });

  it('turns opa_abort into eval_internal_error and keeps working afterwards', () => {
    const err = errorOf(() => policy.evaluate({}, { entrypoint: 'sluice/policy/abort' }));
    expect(err.code).toBe('eval_internal_error');
    expect(err.message).toContain('policy aborted on purpose');
    expect(policy.evaluate({ after: true }, { entrypoint: 'sluice/policy/echo' }).result).toEqual({ after: true });
  });

  it('stops a module that keeps calling the host at the budget', () => {
    const start = performance.now();
    const err = errorOf(() => policy.evaluate({}, { entrypoint: 'sluice/policy/spin_calls', budgetMs: 20 }));
    expect(err.code).toBe('eval_cancel_error');
    expect(performance.now() - start).toBeLessThan(1000);
  });

  it('refuses the answer of a module that ran past its budget without calling the host', () => {
    const err = errorOf(() => policy.evaluate({}, { entrypoint: 'sluice/policy/spin', budgetMs: 1 }));
    expect(err.code).toBe('eval_cancel_error');
    expect(policy.evaluate({}, { entrypoint: 'sluice/policy/spin', budgetMs: 10_000 })).toEqual({ result: undefined });
  });

  it('grows memory for a large input', () => {
    const input = { prompt: 'x'.repeat(2_000_000) };
    // A generous budget: this checks memory growth, not speed (the default 200 ms trips on a loaded machine).
    expect(policy.evaluate(input, { entrypoint: 'sluice/policy/echo', budgetMs: 10_000 }).result).toEqual(input);
  });
});

describe('wasm policy limits and load errors', () => {
  it('fails an evaluation that needs more memory than maxMemoryPages, then recovers', () => {
    const policy = compile(buildAbiModule({ minorVersion: 2 }), { maxMemoryPages: 16 });
    const err = errorOf(() => policy.evaluate({ prompt: 'x'.repeat(2_000_000) }, { entrypoint: 'sluice/policy/echo' }));
    expect(err.code).toBe('eval_internal_error');
    expect(policy.evaluate({ small: 1 }, { entrypoint: 'sluice/policy/echo' }).result).toEqual({ small: 1 });
  });

  it('refuses a module missing ABI exports', () => {
    const err = errorOf(() => compile(buildAbiModule({ minorVersion: 2, omit: ['opa_json_dump'] })));
    expect(err.code).toBe('wasm_load_error');
    expect(err.message).toContain('opa_json_dump');
  });

  it('refuses an ABI 1.1 module without the eval-context exports', () => {
    const err = errorOf(() => compile(buildAbiModule({ minorVersion: 1, omit: ['opa_eval_ctx_new'] })));
    expect(err.message).toContain('opa_eval_ctx_new');
  });

  it('refuses a module without the ABI version globals', () => {
    const err = errorOf(() => compile(buildAbiModule({ minorVersion: 2, omit: ['opa_wasm_abi_version'] })));
    expect(err.message).toContain('opa_wasm_abi_version');
  });

  it('refuses bytes that are not a valid module', () => {
    const err = errorOf(() => compile(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x99])));
    expect(err.code).toBe('wasm_load_error');
  });

  it('refuses bytes that are neither wasm nor a gzip bundle', () => {
    expect(errorOf(() => compile(new TextEncoder().encode('package x'))).code).toBe('bundle_error');
  });
});
