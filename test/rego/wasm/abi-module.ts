/**
 * A WebAssembly module that implements OPA's policy ABI as @open-policy-agent/opa-wasm
 * calls it (exports opa_malloc, opa_json_parse, opa_json_dump, opa_heap_ptr_get/set,
 * builtins, entrypoints, opa_eval for ABI 1.2 or the eval-context calls for 1.0/1.1;
 * imports env.memory, opa_abort, opa_builtin0/1). It is NOT a policy compiled by OPA:
 * values live in memory as NUL-terminated JSON text, and each entry point does one
 * thing the loader must carry faithfully (echo input, echo data, call a host builtin,
 * be undefined, abort, spin).
 */
import { assemble } from './wasm-assembler.js';
import type { FuncDef, Instr } from './wasm-assembler.js';

export const ENTRYPOINTS = [
  'sluice/policy/echo', // [{"result": input}], [] without input
  'sluice/policy/data', // [{"result": data}]
  'sluice/policy/now', // [{"result": time.now_ns()}] through opa_builtin0
  'sluice/policy/undefined', // []
  'sluice/policy/abort', // opa_abort("policy aborted on purpose")
  'sluice/policy/digest', // [{"result": crypto.sha256(input)}] through opa_builtin1, [] when undefined
  'sluice/policy/spin', // a long loop that never calls the host, then []
  'sluice/policy/spin_calls', // an endless loop calling time.now_ns()
] as const;

export interface AbiModuleOptions {
  /** opa_wasm_abi_minor_version: 2 makes opa-wasm call opa_eval, 1 the eval-context functions. */
  minorVersion: 1 | 2;
  /** Exports to leave out (to test the loader's ABI check). */
  omit?: readonly string[];
  /** Iterations of the `spin` entry point. */
  spinIterations?: number;
}

const enc = new TextEncoder();
const STATIC_BASE = 1024;
const HEAP_BASE = 16384;

export function buildAbiModule(opts: AbiModuleOptions): Uint8Array {
  const strings: Record<string, string> = {
    PRE: '[{"result":',
    POST: '}]',
    EMPTY: '[]',
    BUILTINS: '{"time.now_ns":0,"crypto.sha256":1}',
    ENTRYPOINTS: JSON.stringify(Object.fromEntries(ENTRYPOINTS.map((e, i) => [e, i]))),
    ABORT: 'policy aborted on purpose',
    OOM: 'out of memory',
    SCRATCH: '    ',
  };
  const at: Record<string, number> = {};
  const data: Array<{ offset: number; bytes: Uint8Array }> = [];
  let offset = STATIC_BASE;
  for (const [key, text] of Object.entries(strings)) {
    at[key] = offset;
    const bytes = enc.encode(`${text}\0`);
    data.push({ offset, bytes });
    offset += bytes.length + ((4 - (bytes.length % 4)) % 4);
  }
  const c = (key: string): Instr => ['i32.const', at[key]!];
  const ifEntry = (n: number, body: Instr[]): Instr[] => [['local.get', 0], ['i32.const', n], ['i32.eq'], ['if'], ...body, ['end']];
  const spin = opts.spinIterations ?? 50_000_000;

  const funcs: FuncDef[] = [
    {
      name: 'strlen',
      params: ['i32'],
      results: ['i32'],
      locals: ['i32'],
      body: [
        ['i32.const', 0], ['local.set', 1],
        ['block'], ['loop'],
        ['local.get', 0], ['local.get', 1], ['i32.add'], ['i32.load8_u'], ['i32.eqz'], ['br_if', 1],
        ['local.get', 1], ['i32.const', 1], ['i32.add'], ['local.set', 1], ['br', 0],
        ['end'], ['end'],
        ['local.get', 1],
      ],
    },
    {
      name: 'opa_malloc',
      exported: true,
      params: ['i32'],
      results: ['i32'],
      locals: ['i32'],
      body: [
        ['global.get', 'heap'], ['local.set', 1],
        ['global.get', 'heap'], ['local.get', 0], ['i32.add'], ['i32.const', 8], ['i32.add'], ['global.set', 'heap'],
        // Grow memory until the heap fits: heap >>> 16 must stay below memory.size pages.
        ['block'], ['loop'],
        ['global.get', 'heap'], ['i32.const', 16], ['i32.shr_u'], ['memory.size'], ['i32.lt_u'], ['br_if', 1],
        ['i32.const', 1], ['memory.grow'], ['i32.const', -1], ['i32.eq'], ['if'], c('OOM'), ['call', 'opa_abort'], ['unreachable'], ['end'],
        ['br', 0],
        ['end'], ['end'],
        ['local.get', 1],
      ],
    },
    { name: 'opa_free', exported: true, params: ['i32'], results: [], body: [] },
    { name: 'opa_heap_ptr_get', exported: true, params: [], results: ['i32'], body: [['global.get', 'heap']] },
    { name: 'opa_heap_ptr_set', exported: true, params: ['i32'], results: [], body: [['local.get', 0], ['global.set', 'heap']] },
    {
      name: 'opa_json_parse',
      exported: true,
      params: ['i32', 'i32'],
      results: ['i32'],
      locals: ['i32'],
      body: [
        ['local.get', 1], ['i32.const', 1], ['i32.add'], ['call', 'opa_malloc'], ['local.set', 2],
        ['local.get', 2], ['local.get', 0], ['local.get', 1], ['memory.copy'],
        ['local.get', 2], ['local.get', 1], ['i32.add'], ['i32.const', 0], ['i32.store8'],
        ['local.get', 2],
      ],
    },
    // A value already is its JSON text.
    { name: 'opa_json_dump', exported: true, params: ['i32'], results: ['i32'], body: [['local.get', 0]] },
    { name: 'opa_value_dump', exported: true, params: ['i32'], results: ['i32'], body: [['local.get', 0]] },
    { name: 'builtins', exported: true, params: [], results: ['i32'], body: [c('BUILTINS')] },
    { name: 'entrypoints', exported: true, params: [], results: ['i32'], body: [c('ENTRYPOINTS')] },
    {
      name: 'append',
      params: ['i32', 'i32'],
      results: ['i32'],
      locals: ['i32'],
      body: [
        ['local.get', 1], ['call', 'strlen'], ['local.set', 2],
        ['local.get', 0], ['local.get', 1], ['local.get', 2], ['memory.copy'],
        ['local.get', 0], ['local.get', 2], ['i32.add'],
      ],
    },
    {
      name: 'wrap',
      params: ['i32'],
      results: ['i32'],
      locals: ['i32', 'i32'],
      body: [
        c('PRE'), ['call', 'strlen'], ['local.get', 0], ['call', 'strlen'], ['i32.add'], c('POST'), ['call', 'strlen'], ['i32.add'],
        ['i32.const', 1], ['i32.add'], ['call', 'opa_malloc'], ['local.set', 1],
        ['local.get', 1], c('PRE'), ['call', 'append'], ['local.get', 0], ['call', 'append'], c('POST'), ['call', 'append'], ['local.set', 2],
        ['local.get', 2], ['i32.const', 0], ['i32.store8'],
        ['local.get', 1],
      ],
    },
    {
      // run(entrypoint, data, input) → address of the result set's JSON text
      name: 'run',
      params: ['i32', 'i32', 'i32'],
      results: ['i32'],
      locals: ['i32', 'i32', 'i32'],
      body: [
        ...ifEntry(0, [['local.get', 2], ['i32.eqz'], ['if'], c('EMPTY'), ['return'], ['end'], ['local.get', 2], ['call', 'wrap'], ['return']]),
        ...ifEntry(1, [['local.get', 1], ['call', 'wrap'], ['return']]),
        ...ifEntry(2, [['i32.const', 0], ['i32.const', 0], ['call', 'opa_builtin0'], ['call', 'wrap'], ['return']]),
        ...ifEntry(3, [c('EMPTY'), ['return']]),
        ...ifEntry(4, [c('ABORT'), ['call', 'opa_abort'], ['unreachable']]),
        ...ifEntry(5, [
          ['local.get', 2], ['i32.eqz'], ['if'], c('EMPTY'), ['return'], ['end'],
          ['i32.const', 1], ['i32.const', 0], ['local.get', 2], ['call', 'opa_builtin1'], ['local.tee', 4],
          ['i32.eqz'], ['if'], c('EMPTY'), ['return'], ['end'],
          ['local.get', 4], ['call', 'wrap'], ['return'],
        ]),
        ...ifEntry(6, [
          ['i32.const', 0], ['local.set', 3],
          ['block'], ['loop'],
          ['local.get', 3], ['i32.const', 1], ['i32.add'], ['local.tee', 3], ['i32.const', spin], ['i32.eq'], ['br_if', 1],
          c('SCRATCH'), ['local.get', 3], ['i32.store'], ['br', 0],
          ['end'], ['end'],
          c('EMPTY'), ['return'],
        ]),
        ...ifEntry(7, [
          ['global.get', 'heap'], ['local.set', 5],
          ['loop'], ['i32.const', 0], ['i32.const', 0], ['call', 'opa_builtin0'], ['drop'], ['local.get', 5], ['global.set', 'heap'], ['br', 0], ['end'],
          ['unreachable'],
        ]),
        c('EMPTY'),
      ],
    },
    {
      // ABI 1.2: opa_eval(reserved, entrypoint, data, input, input_len, heap_ptr, format)
      name: 'opa_eval',
      exported: opts.minorVersion >= 2,
      params: ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'],
      results: ['i32'],
      locals: ['i32'],
      body: [
        ['local.get', 5], ['global.set', 'heap'],
        ['i32.const', 0], ['local.set', 7],
        ['local.get', 4], ['if'], ['local.get', 3], ['local.get', 4], ['call', 'opa_json_parse'], ['local.set', 7], ['end'],
        ['local.get', 1], ['local.get', 2], ['local.get', 7], ['call', 'run'],
      ],
    },
    // ABI 1.0/1.1: a context of four words [input, data, entrypoint, result].
    {
      name: 'opa_eval_ctx_new',
      exported: true,
      params: [],
      results: ['i32'],
      locals: ['i32'],
      body: [
        ['i32.const', 16], ['call', 'opa_malloc'], ['local.set', 0],
        ...[0, 4, 8, 12].flatMap((o): Instr[] => [['local.get', 0], ['i32.const', 0], ['i32.store', o]]),
        ['local.get', 0],
      ],
    },
    { name: 'opa_eval_ctx_set_input', exported: true, params: ['i32', 'i32'], results: [], body: [['local.get', 0], ['local.get', 1], ['i32.store', 0]] },
    { name: 'opa_eval_ctx_set_data', exported: true, params: ['i32', 'i32'], results: [], body: [['local.get', 0], ['local.get', 1], ['i32.store', 4]] },
    { name: 'opa_eval_ctx_set_entrypoint', exported: true, params: ['i32', 'i32'], results: [], body: [['local.get', 0], ['local.get', 1], ['i32.store', 8]] },
    { name: 'opa_eval_ctx_get_result', exported: true, params: ['i32'], results: ['i32'], body: [['local.get', 0], ['i32.load', 12]] },
    {
      name: 'eval',
      exported: true,
      params: ['i32'],
      results: ['i32'],
      body: [
        ['local.get', 0],
        ['local.get', 0], ['i32.load', 8], ['local.get', 0], ['i32.load', 4], ['local.get', 0], ['i32.load', 0], ['call', 'run'],
        ['i32.store', 12],
        ['i32.const', 0],
      ],
    },
  ];

  const omit = new Set(opts.omit ?? []);
  return assemble({
    memoryMinPages: 2,
    imports: [
      { module: 'env', name: 'opa_abort', params: ['i32'], results: [] },
      { module: 'env', name: 'opa_builtin0', params: ['i32', 'i32'], results: ['i32'] },
      { module: 'env', name: 'opa_builtin1', params: ['i32', 'i32', 'i32'], results: ['i32'] },
    ],
    globals: [
      { name: 'heap', mutable: true, init: HEAP_BASE },
      { name: 'opa_wasm_abi_version', mutable: false, init: 1, exported: !omit.has('opa_wasm_abi_version') },
      { name: 'opa_wasm_abi_minor_version', mutable: false, init: opts.minorVersion, exported: !omit.has('opa_wasm_abi_minor_version') },
    ],
    funcs: funcs.map((f) => (omit.has(f.name) ? { ...f, exported: false } : f)),
    data,
  });
}
