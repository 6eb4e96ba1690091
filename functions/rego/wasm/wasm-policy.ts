/**
 * A policy compiled by `opa build -t wasm`, evaluated through @open-policy-agent/opa-wasm.
 * Experimental: tested against two small modules built by a real `opa build` and a module
 * that implements OPA's WebAssembly ABI as we read it (test/rego/wasm, docs/rego-wasm.md).
 */
import type { LoadedPolicy } from '@open-policy-agent/opa-wasm';
import { builtins as regoBuiltins, BuiltinError } from '../builtins/index.js';
import type { BuiltinContext } from '../builtins/index.js';
import { RegoCompileError, RegoEvalError } from '../errors.js';
import { fromJSON, toJSONText } from '../value.js';
import { opaWasmModule } from '../lazy/load.js';
import { overlayData } from './bundle.js';

export interface WasmLoadOptions {
  /** Data shipped with the policy (a bundle's data.json files); caller data is laid over it. */
  bundleData?: Record<string, unknown>;
  /** Upper bound of the policy's linear memory, in 64 KiB pages (default 512 = 32 MiB). */
  maxMemoryPages?: number;
}

export interface WasmEvalOptions {
  data?: unknown;
  nowNs: bigint;
  budgetMs: number;
}

/** Exports opa-wasm calls on every module; it uses opa_eval (ABI 1.2) or the eval-context calls (ABI 1.0/1.1). */
const REQUIRED_EXPORTS = ['opa_malloc', 'opa_json_parse', 'opa_json_dump', 'opa_heap_ptr_get', 'opa_heap_ptr_set', 'entrypoints', 'builtins'];
const CONTEXT_EXPORTS = ['opa_eval_ctx_new', 'opa_eval_ctx_set_input', 'opa_eval_ctx_set_data', 'opa_eval_ctx_set_entrypoint', 'opa_eval_ctx_get_result', 'eval'];
/** Host functions opa-wasm provides; a module importing anything else cannot be instantiated. */
const PROVIDED_IMPORTS = new Set(['memory', 'opa_abort', 'opa_println', 'opa_builtin0', 'opa_builtin1', 'opa_builtin2', 'opa_builtin3', 'opa_builtin4']);

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** The WebAssembly global as Node provides it (TypeScript's ES lib declares only its types). */
interface ModuleDescriptor {
  readonly module?: string;
  readonly name: string;
}
interface WebAssemblyHost {
  Module: {
    new (bytes: Uint8Array): WebAssembly.Module;
    exports(mod: WebAssembly.Module): ModuleDescriptor[];
    imports(mod: WebAssembly.Module): Array<Required<ModuleDescriptor>>;
  };
}
const wasmHost = (globalThis as unknown as { WebAssembly: WebAssemblyHost }).WebAssembly;

export function isWasm(bytes: Uint8Array): boolean {
  return WASM_MAGIC.every((b, i) => bytes[i] === b);
}

/** Per-evaluation state the host builtins read (opa-wasm binds builtins once, at load). */
interface EvalScope {
  nowNs: bigint;
  deadline: number;
  budgetMs: number;
  memo: Map<string, unknown>;
}

export class WasmPolicy {
  readonly entrypoints: readonly string[];
  private readonly loaded: LoadedPolicy;
  private readonly bundleData: Record<string, unknown>;
  private scope: EvalScope | undefined;
  /** The caller data object last loaded into wasm memory; reloading costs a JSON round trip. */
  private loadedData: unknown = Symbol('none');

  constructor(bytes: Uint8Array, opts: WasmLoadOptions = {}) {
    let mod: WebAssembly.Module;
    try {
      mod = new wasmHost.Module(bytes);
    } catch (err) {
      throw new RegoCompileError('wasm_load_error', `not a valid WebAssembly module: ${(err as Error).message}`);
    }
    checkABI(mod);
    this.bundleData = opts.bundleData ?? {};
    const memory = { initial: 5, maximum: opts.maxMemoryPages ?? 512 };
    try {
      this.loaded = opaWasmModule().loadPolicySync(mod, memory, this.hostBuiltins());
    } catch (err) {
      throw new RegoCompileError('wasm_load_error', describe(err));
    }
    const eps: unknown = this.loaded.entrypoints;
    this.entrypoints = eps !== null && typeof eps === 'object' ? Object.keys(eps).sort() : [];
  }

  /** The entry point's value, or undefined when the rule is undefined or the module has no such entry point. */
  evaluate(entrypoint: string, input: unknown, opts: WasmEvalOptions): unknown {
    if (!this.entrypoints.includes(entrypoint)) return undefined;
    const start = performance.now();
    this.scope = { nowNs: opts.nowNs, deadline: start + opts.budgetMs, budgetMs: opts.budgetMs, memo: new Map() };
    let rs: unknown;
    try {
      if (opts.data !== this.loadedData) {
        this.loaded.setData(overlayData(this.bundleData, opts.data ?? {}) as object);
        this.loadedData = opts.data;
      }
      // As JSON text: opa-wasm's ABI 1.2 path drops falsy inputs (false, 0, "") otherwise.
      rs = this.loaded.evaluate(input === undefined ? undefined : jsonBuffer(JSON.stringify(input)), entrypoint);
    } catch (err) {
      // A trap can leave data half-written: load it again next time.
      this.loadedData = Symbol('none');
      if (err instanceof RegoEvalError) throw err;
      throw new RegoEvalError('eval_internal_error', `wasm: ${describe(err)}`);
    } finally {
      this.scope = undefined;
    }
    // A module that runs without calling back into the host cannot be stopped mid-way in
    // this thread, so the budget is also checked when it returns: a late answer is refused.
    const elapsed = performance.now() - start;
    if (elapsed > opts.budgetMs) throw new RegoEvalError('eval_cancel_error', `evaluation exceeded its budget of ${opts.budgetMs} ms`);
    if (!Array.isArray(rs) || rs.length === 0) return undefined;
    const first: unknown = rs[0];
    return first !== null && typeof first === 'object' && 'result' in first ? first.result : undefined;
  }

  /**
   * Builtins the module calls back into the host for. opa-wasm's own JavaScript builtins take
   * precedence; these fill the rest from our Rego builtins, with time.now_ns fixed per
   * evaluation and the time budget checked on every call.
   */
  private hostBuiltins(): Record<string, (...args: unknown[]) => ArrayBuffer | undefined> {
    const out: Record<string, (...args: unknown[]) => ArrayBuffer | undefined> = {};
    const scopeOf = (): EvalScope => {
      const s = this.scope;
      if (s === undefined) throw new RegoEvalError('eval_internal_error', 'wasm builtin called outside an evaluation');
      if (performance.now() > s.deadline) throw new RegoEvalError('eval_cancel_error', `evaluation exceeded its budget of ${s.budgetMs} ms`);
      return s;
    };
    out['time.now_ns'] = () => jsonBuffer(scopeOf().nowNs.toString());
    for (const [name, def] of regoBuiltins) {
      if (name === 'time.now_ns' || name === 'print' || name === 'internal.print') continue;
      out[name] = (...args: unknown[]) => {
        const s = scopeOf();
        const ctx: BuiltinContext = {
          nowNs: s.nowNs,
          print: () => undefined,
          checkDeadline: () => void scopeOf(),
          memo: s.memo,
        };
        try {
          const v = def.fn(args.map(fromJSON), ctx);
          // Returning nothing makes opa-wasm hand the module address 0: the call is undefined.
          return v === undefined ? undefined : jsonBuffer(toJSONText(v));
        } catch (err) {
          // OPA's default: a builtin error makes the call undefined.
          if (err instanceof BuiltinError) return undefined;
          throw err;
        }
      };
    }
    return out;
  }
}

/** opa-wasm reads an ArrayBuffer result as JSON text; text keeps big integers (nanoseconds) exact. */
function jsonBuffer(text: string): ArrayBuffer {
  return new TextEncoder().encode(text).buffer as ArrayBuffer;
}

function checkABI(mod: WebAssembly.Module): void {
  const exports = new Set(wasmHost.Module.exports(mod).map((e) => e.name));
  const missing = REQUIRED_EXPORTS.filter((e) => !exports.has(e));
  if (!exports.has('opa_eval')) missing.push(...CONTEXT_EXPORTS.filter((e) => !exports.has(e)));
  if (missing.length > 0) throw new RegoCompileError('wasm_load_error', `not an OPA policy module: missing exports ${missing.join(', ')}`);
  for (const g of ['opa_wasm_abi_version', 'opa_wasm_abi_minor_version']) {
    if (!exports.has(g)) throw new RegoCompileError('wasm_load_error', `not an OPA policy module: missing global ${g}`);
  }
  for (const imp of wasmHost.Module.imports(mod)) {
    if (imp.module !== 'env' || !PROVIDED_IMPORTS.has(imp.name)) {
      throw new RegoCompileError('wasm_load_error', `the module imports ${imp.module}.${imp.name}, which the OPA host does not provide`);
    }
  }
}

/** opa-wasm throws strings (opa_abort messages, bad entry points) as well as Errors. */
function describe(err: unknown): string {
  if (typeof err === 'string') return err;
  if (err instanceof Error) return err.message;
  if (err !== null && typeof err === 'object' && 'message' in err) return String(err.message);
  return String(err);
}
