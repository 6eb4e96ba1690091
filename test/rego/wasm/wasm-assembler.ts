/**
 * A tiny WebAssembly binary assembler for tests: functions as lists of instructions
 * (`['i32.const', 8]`, `['call', 'strlen']`), encoded to the binary format by hand so the
 * tests need no WAT toolchain. It covers only the instructions the test modules use.
 */

export type ValType = 'i32';
export type Instr = readonly [string, ...Array<number | string>];

export interface FuncDef {
  readonly name: string;
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
  readonly locals?: readonly ValType[];
  readonly body: readonly Instr[];
  readonly exported?: boolean;
}

export interface ImportFunc {
  readonly module: string;
  readonly name: string;
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

export interface GlobalDef {
  readonly name: string;
  readonly mutable: boolean;
  readonly init: number;
  readonly exported?: boolean;
}

export interface ModuleDef {
  /** Imported memory `env.memory` (OPA policies import their memory from the host). */
  readonly memoryMinPages: number;
  readonly imports: readonly ImportFunc[];
  readonly globals: readonly GlobalDef[];
  readonly funcs: readonly FuncDef[];
  readonly data: ReadonlyArray<{ offset: number; bytes: Uint8Array }>;
}

const VALTYPE: Record<ValType, number> = { i32: 0x7f };

/** Opcode, and how its immediates are encoded. */
const OPS: Record<string, { code: number[]; imm: Array<'u32' | 's32' | 'func' | 'global' | 'block' | 'mem'>; align?: number }> = {
  unreachable: { code: [0x00], imm: [] },
  block: { code: [0x02], imm: ['block'] },
  loop: { code: [0x03], imm: ['block'] },
  if: { code: [0x04], imm: ['block'] },
  else: { code: [0x05], imm: [] },
  end: { code: [0x0b], imm: [] },
  br: { code: [0x0c], imm: ['u32'] },
  br_if: { code: [0x0d], imm: ['u32'] },
  return: { code: [0x0f], imm: [] },
  call: { code: [0x10], imm: ['func'] },
  drop: { code: [0x1a], imm: [] },
  'local.get': { code: [0x20], imm: ['u32'] },
  'local.set': { code: [0x21], imm: ['u32'] },
  'local.tee': { code: [0x22], imm: ['u32'] },
  'global.get': { code: [0x23], imm: ['global'] },
  'global.set': { code: [0x24], imm: ['global'] },
  'i32.load': { code: [0x28], imm: ['mem'], align: 2 },
  'i32.load8_u': { code: [0x2d], imm: ['mem'], align: 0 },
  'i32.store': { code: [0x36], imm: ['mem'], align: 2 },
  'i32.store8': { code: [0x3a], imm: ['mem'], align: 0 },
  'memory.size': { code: [0x3f, 0x00], imm: [] },
  'memory.grow': { code: [0x40, 0x00], imm: [] },
  'i32.const': { code: [0x41], imm: ['s32'] },
  'i32.eqz': { code: [0x45], imm: [] },
  'i32.eq': { code: [0x46], imm: [] },
  'i32.ne': { code: [0x47], imm: [] },
  'i32.lt_u': { code: [0x49], imm: [] },
  'i32.gt_u': { code: [0x4b], imm: [] },
  'i32.add': { code: [0x6a], imm: [] },
  'i32.sub': { code: [0x6b], imm: [] },
  'i32.shr_u': { code: [0x76], imm: [] },
  'memory.copy': { code: [0xfc, 0x0a, 0x00, 0x00], imm: [] },
};

function u32(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function s32(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function name(s: string): number[] {
  const b = [...new TextEncoder().encode(s)];
  return [...u32(b.length), ...b];
}

function vec(items: number[][]): number[] {
  return [...u32(items.length), ...items.flat()];
}

function section(id: number, body: number[]): number[] {
  return [id, ...u32(body.length), ...body];
}

export function assemble(def: ModuleDef): Uint8Array {
  const funcIndex = new Map<string, number>();
  def.imports.forEach((f, i) => funcIndex.set(f.name, i));
  def.funcs.forEach((f, i) => funcIndex.set(f.name, def.imports.length + i));
  const globalIndex = new Map(def.globals.map((g, i) => [g.name, i] as const));

  const types: number[][] = [];
  const typeKeys: string[] = [];
  const typeOf = (params: readonly ValType[], results: readonly ValType[]): number => {
    const key = `${params.join(',')}->${results.join(',')}`;
    let i = typeKeys.indexOf(key);
    if (i < 0) {
      i = typeKeys.push(key) - 1;
      types.push([0x60, ...vec(params.map((p) => [VALTYPE[p]])), ...vec(results.map((r) => [VALTYPE[r]]))]);
    }
    return i;
  };

  const imports: number[][] = [[...name('env'), ...name('memory'), 0x02, 0x00, ...u32(def.memoryMinPages)]];
  for (const f of def.imports) imports.push([...name(f.module), ...name(f.name), 0x00, ...u32(typeOf(f.params, f.results))]);
  const funcTypes = def.funcs.map((f) => u32(typeOf(f.params, f.results)));

  const globals = def.globals.map((g) => [VALTYPE.i32, g.mutable ? 1 : 0, 0x41, ...s32(g.init), 0x0b]);
  const exports: number[][] = [];
  def.globals.forEach((g, i) => g.exported && exports.push([...name(g.name), 0x03, ...u32(i)]));
  def.funcs.forEach((f, i) => f.exported && exports.push([...name(f.name), 0x00, ...u32(def.imports.length + i)]));

  const codes = def.funcs.map((f) => {
    const locals = f.locals ?? [];
    const body: number[] = [...vec(locals.map((l) => [1, VALTYPE[l]]))];
    for (const [op, ...args] of f.body) {
      const spec = OPS[op];
      if (spec === undefined) throw new Error(`assembler: unknown instruction ${op} in ${f.name}`);
      body.push(...spec.code);
      spec.imm.forEach((kind, i) => {
        const a = args[i];
        if (kind === 'block') body.push(a === 'i32' ? VALTYPE.i32 : 0x40);
        else if (kind === 'mem') body.push(spec.align ?? 0, ...u32(Number(a ?? 0)));
        else if (kind === 'func' || kind === 'global') {
          const idx = (kind === 'func' ? funcIndex : globalIndex).get(String(a));
          if (idx === undefined) throw new Error(`assembler: unknown ${kind} ${String(a)} in ${f.name}`);
          body.push(...u32(idx));
        } else body.push(...(kind === 'u32' ? u32(Number(a)) : s32(Number(a))));
      });
    }
    body.push(0x0b);
    return [...u32(body.length), ...body];
  });

  const data = def.data.map((d) => [0x00, 0x41, ...s32(d.offset), 0x0b, ...u32(d.bytes.length), ...d.bytes]);

  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, vec(imports)),
    ...section(3, vec(funcTypes)),
    ...section(6, vec(globals)),
    ...section(7, vec(exports)),
    ...section(10, vec(codes)),
    ...section(11, vec(data)),
  ]);
}
