/** Operand checks that throw OPA's exact error texts. */
import { RNumber, RObject, RSet, typeName, type Value } from '../value.js';
import { BuiltinError, type BuiltinContext, type BuiltinDef, type TypeSpec } from './types.js';

export function typeError(name: string, pos: number, got: Value, ...expected: string[]): BuiltinError {
  const want = expected.length === 1 ? expected[0]! : `one of {${expected.join(', ')}}`;
  return new BuiltinError(`${name}: operand ${pos} must be ${want} but got ${typeName(got)}`, 'eval_type_error');
}

/** OPA's NewOperandElementErr: "must be array of strings but got array containing number". */
export function elementError(name: string, pos: number, composite: Value, got: Value, ...expected: string[]): BuiltinError {
  const t = typeName(composite);
  const want = expected.length === 1 ? `${t} of ${expected[0]}s` : `${t} of (any of) {${expected.join(', ')}}`;
  return new BuiltinError(`${name}: operand ${pos} must be ${want} but got ${t} containing ${typeName(got)}`, 'eval_type_error');
}

/** A free-form operand error ("operand N <text>"), a type error in OPA. */
export function operandError(name: string, pos: number, text: string): BuiltinError {
  return new BuiltinError(`${name}: operand ${pos} ${text}`, 'eval_type_error');
}

export function builtinError(name: string, message: string): BuiltinError {
  return new BuiltinError(`${name}: ${message}`, 'eval_builtin_error');
}

export function str(name: string, args: readonly Value[], i: number): string {
  const v = args[i]!;
  if (typeof v !== 'string') throw typeError(name, i + 1, v, 'string');
  return v;
}

export function number(name: string, args: readonly Value[], i: number): RNumber {
  const v = args[i]!;
  if (!(v instanceof RNumber)) throw typeError(name, i + 1, v, 'number');
  return v;
}

/** An integer operand as a JS number (OPA's IntOperand). */
export function int(name: string, args: readonly Value[], i: number): number {
  const n = number(name, args, i);
  const b = n.toBigInt();
  if (b === undefined) throw operandError(name, i + 1, 'must be integer number but got floating-point number');
  if (b > BigInt(Number.MAX_SAFE_INTEGER) || b < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw operandError(name, i + 1, 'must be integer number but got floating-point number');
  }
  return Number(b);
}

export function bool(name: string, args: readonly Value[], i: number): boolean {
  const v = args[i]!;
  if (typeof v !== 'boolean') throw typeError(name, i + 1, v, 'boolean');
  return v;
}

export function array(name: string, args: readonly Value[], i: number): Value[] {
  const v = args[i]!;
  if (!Array.isArray(v)) throw typeError(name, i + 1, v, 'array');
  return v;
}

export function set(name: string, args: readonly Value[], i: number): RSet {
  const v = args[i]!;
  if (!(v instanceof RSet)) throw typeError(name, i + 1, v, 'set');
  return v;
}

export function object(name: string, args: readonly Value[], i: number): RObject {
  const v = args[i]!;
  if (!(v instanceof RObject)) throw typeError(name, i + 1, v, 'object');
  return v;
}

/** Strings of an array or set operand (OPA's StringSliceOperand). */
export function stringSlice(name: string, args: readonly Value[], i: number): string[] {
  const v = args[i]!;
  if (!Array.isArray(v) && !(v instanceof RSet)) throw typeError(name, i + 1, v, 'array', 'set');
  const out: string[] = [];
  for (const e of v) {
    if (typeof e !== 'string') throw elementError(name, i + 1, v, e, 'string');
    out.push(e);
  }
  return out;
}

type Fn = (args: readonly Value[], ctx: BuiltinContext) => Value | undefined;

export function def(
  name: string,
  args: readonly TypeSpec[],
  result: TypeSpec,
  fn: Fn,
  extra?: { nondeterministic?: boolean; relation?: boolean },
): BuiltinDef {
  return { name, args, result, fn, ...extra };
}
