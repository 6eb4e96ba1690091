/**
 * One entry for every form a policy is uploaded in: Rego source, an OPA bundle (tar.gz with
 * policy.wasm and/or .rego files, data.json, .manifest) or a bare policy.wasm. Each compiles
 * to a Policy evaluated by rule path, so callers do not care which engine runs it.
 */
import { RegoCompileError } from '../errors.js';
import { compilePolicy, DEFAULT_EVAL_BUDGET_MS } from '../policy.js';
import type { CompiledPolicy, CompileOptions, PolicySource } from '../policy.js';
import { BundleError, isGzip, overlayData, readBundle } from './bundle.js';
import { TarFormatError } from './ustar.js';
import type { TarLimits } from './ustar.js';
import { isWasm, WasmPolicy } from './wasm-policy.js';

export interface PolicyEvalOptions {
  /** The rule to evaluate, as a path: `sluice/policy/deny` (`sluice.policy.deny` and a leading `data.` are accepted too). */
  entrypoint: string;
  data?: unknown;
  /** The time time.now_ns() reports: a Date, or nanoseconds since the epoch (default: the wall clock). */
  now?: Date | bigint;
  /** Evaluation budget in ms (default 200); past it evaluation fails with eval_cancel_error. */
  budgetMs?: number;
  /** Receives print() output (Rego source only; see docs/rego-wasm.md for wasm). */
  print?: (line: string) => void;
}

export interface Policy {
  readonly format: 'rego' | 'wasm';
  /** Rule paths that can be evaluated, e.g. `sluice/policy/deny`. */
  readonly entrypoints: readonly string[];
  /** The rule's value as JSON, `result: undefined` when the rule is undefined or absent. Throws RegoError. */
  evaluate(input: unknown, opts: PolicyEvalOptions): { result: unknown };
}

export type PolicyUpload = string | PolicySource | Uint8Array;

export interface PolicyCompileOptions extends CompileOptions, TarLimits {
  /** Upper bound of a wasm policy's memory in 64 KiB pages (default 512 = 32 MiB). */
  maxMemoryPages?: number;
}

/** Compiles Rego source, an OPA bundle (tar.gz) or a bare policy.wasm into a Policy. Throws RegoError. */
export function compile(upload: PolicyUpload, opts: PolicyCompileOptions = {}): Policy {
  if (!(upload instanceof Uint8Array)) return new RegoPolicy(compilePolicy(upload, opts), {});
  if (isWasm(upload)) return new WasmBackedPolicy(new WasmPolicy(upload, { maxMemoryPages: opts.maxMemoryPages }));
  if (!isGzip(upload)) throw new RegoCompileError('bundle_error', 'not a policy: expected Rego source, a tar.gz bundle or a wasm module');
  let bundle;
  try {
    bundle = readBundle(upload, opts);
  } catch (err) {
    if (err instanceof BundleError || err instanceof TarFormatError) throw new RegoCompileError('bundle_error', err.message);
    throw err;
  }
  if (bundle.wasm !== undefined) {
    return new WasmBackedPolicy(new WasmPolicy(bundle.wasm, { bundleData: bundle.data, maxMemoryPages: opts.maxMemoryPages }));
  }
  if (bundle.modules.length === 0) throw new RegoCompileError('bundle_error', 'the bundle holds neither policy.wasm nor .rego files');
  return new RegoPolicy(compilePolicy({ modules: bundle.modules }, opts), bundle.data);
}

/** `data.a.b`, `a.b` and `a/b` all name the rule path ['a', 'b']. */
export function entrypointPath(entrypoint: string): string[] {
  const bare = entrypoint.replace(/^data([./]|$)/, '');
  const parts = bare.includes('/') ? bare.split('/') : bare.split('.');
  return parts.filter((p) => p !== '');
}

function nowNs(now: Date | bigint | undefined): bigint {
  if (now === undefined) return BigInt(Date.now()) * 1_000_000n;
  return typeof now === 'bigint' ? now : BigInt(now.getTime()) * 1_000_000n;
}

class RegoPolicy implements Policy {
  readonly format = 'rego';
  readonly entrypoints: readonly string[];
  private lastData: { given: unknown; merged: unknown } | undefined;

  constructor(
    private readonly compiled: CompiledPolicy,
    private readonly bundleData: Record<string, unknown>,
  ) {
    const paths = new Set<string>();
    for (const m of compiled.modules) {
      for (const r of m.rules) {
        const head = r.ref[0];
        if (r.kind === 'func' || head === undefined || head.type !== 'scalar' || typeof head.value !== 'string') continue;
        paths.add([...m.pkg, head.value].join('/'));
      }
    }
    this.entrypoints = [...paths].sort();
  }

  evaluate(input: unknown, opts: PolicyEvalOptions): { result: unknown } {
    const path = entrypointPath(opts.entrypoint);
    const query = `data${path.map((p) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`)).join('')}`;
    return this.compiled.evaluate(query, {
      input,
      data: this.data(opts.data),
      nowNs: nowNs(opts.now),
      budgetMs: opts.budgetMs ?? DEFAULT_EVAL_BUDGET_MS,
      print: opts.print,
    });
  }

  /** Caller data over bundle data, merged once per caller data object (the engine caches by identity). */
  private data(given: unknown): unknown {
    if (Object.keys(this.bundleData).length === 0) return given;
    const last = this.lastData;
    if (last !== undefined && last.given === given) return last.merged;
    const merged = overlayData(this.bundleData, given ?? {});
    this.lastData = { given, merged };
    return merged;
  }
}

class WasmBackedPolicy implements Policy {
  readonly format = 'wasm';
  readonly entrypoints: readonly string[];

  constructor(private readonly wasm: WasmPolicy) {
    this.entrypoints = wasm.entrypoints;
  }

  evaluate(input: unknown, opts: PolicyEvalOptions): { result: unknown } {
    const entrypoint = entrypointPath(opts.entrypoint).join('/');
    const result = this.wasm.evaluate(entrypoint, input, { data: opts.data, nowNs: nowNs(opts.now), budgetMs: opts.budgetMs ?? DEFAULT_EVAL_BUDGET_MS });
    return { result };
  }
}
