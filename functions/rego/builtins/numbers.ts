/** Arithmetic, comparison, bitwise and range builtins with OPA's number semantics. */
import { NumberRangeError, RNumber, RSet, compareValues, valuesEqual, type Value } from '../value.js';
import { builtinError, def, number, operandError, typeError } from './operands.js';
import type { BuiltinContext, BuiltinDef } from './types.js';

function arith(name: string, op: (a: RNumber, b: RNumber) => RNumber): BuiltinDef {
  return def(name, ['number', 'number'], 'number', (args) => {
    const a = number(name, args, 0);
    const b = number(name, args, 1);
    return guarded(name, () => op(a, b));
  });
}

/** Maps RNumber's RangeErrors ("divide by zero", …) to OPA's builtin errors. */
function guarded(name: string, f: () => RNumber): RNumber {
  try {
    return f();
  } catch (e) {
    if (e instanceof RangeError || e instanceof NumberRangeError) throw builtinError(name, e.message);
    throw e;
  }
}

function unary(name: string, op: (a: RNumber) => RNumber): BuiltinDef {
  return def(name, ['number'], 'number', (args) => op(number(name, args, 0)));
}

function comparison(name: string, test: (c: number) => boolean): BuiltinDef {
  return def(name, ['any', 'any'], 'boolean', (args) => test(compareValues(args[0]!, args[1]!)));
}

/** OPA's BigIntOperand. */
function bigIntOperand(name: string, args: readonly Value[], i: number): bigint {
  const v = args[i]!;
  if (!(v instanceof RNumber)) throw typeError(name, i + 1, v, 'integer');
  const b = guardedBig(name, () => v.toBigInt());
  if (b === undefined) throw operandError(name, i + 1, 'must be integer number but got floating-point number');
  return b;
}

function guardedBig(name: string, f: () => bigint | undefined): bigint | undefined {
  try {
    return f();
  } catch (e) {
    if (e instanceof NumberRangeError) throw builtinError(name, e.message);
    throw e;
  }
}

function bits(name: string, op: (a: bigint, b: bigint) => bigint): BuiltinDef {
  return def(name, ['number', 'number'], 'number', (args) => RNumber.of(op(bigIntOperand(name, args, 0), bigIntOperand(name, args, 1)), 0));
}

// Shifts beyond this would build absurdly large integers.
const MAX_SHIFT = 65_536n;

function shift(name: string, left: boolean): BuiltinDef {
  return def(name, ['number', 'number'], 'number', (args) => {
    const x = bigIntOperand(name, args, 0);
    const s = bigIntOperand(name, args, 1);
    if (s < 0n) throw operandError(name, 2, 'must be an unsigned integer number but got a negative integer');
    if (left && s > MAX_SHIFT) throw builtinError(name, 'shift too large');
    return RNumber.of(left ? x << s : x >> s, 0);
  });
}

// A range larger than this cannot be built within any evaluation budget.
const MAX_RANGE = 10_000_000n;

function range(name: string, a: bigint, b: bigint, step: bigint, ctx: BuiltinContext): Value[] {
  const n = (a <= b ? b - a : a - b) / step + 1n;
  if (n > MAX_RANGE) throw builtinError(name, `range too large (${n} elements)`);
  const out: Value[] = [];
  if (a <= b) {
    for (let i = a; i <= b; i += step) {
      if ((out.length & 0xffff) === 0) ctx.checkDeadline();
      out.push(RNumber.of(i, 0));
    }
  } else {
    for (let i = a; i >= b; i -= step) {
      if ((out.length & 0xffff) === 0) ctx.checkDeadline();
      out.push(RNumber.of(i, 0));
    }
  }
  return out;
}

export const numberBuiltins: readonly BuiltinDef[] = [
  arith('plus', (a, b) => a.add(b)),
  def('minus', ['number|set', 'number|set'], 'number|set', (args) => {
    const [x, y] = args as [Value, Value];
    if (x instanceof RNumber && y instanceof RNumber) return guarded('minus', () => x.sub(y));
    if (x instanceof RSet && y instanceof RSet) {
      const out = new RSet();
      for (const m of x) if (!y.has(m)) out.add(m);
      return out;
    }
    if (!(x instanceof RNumber) && !(x instanceof RSet)) throw typeError('minus', 1, x, 'number', 'set');
    if (y instanceof RNumber) throw typeError('minus', 2, y, 'set');
    throw typeError('minus', 2, y, 'number');
  }),
  arith('mul', (a, b) => a.mul(b)),
  arith('div', (a, b) => a.div(b)),
  arith('rem', (a, b) => a.rem(b)),
  unary('abs', (a) => a.abs()),
  unary('round', (a) => a.round()),
  unary('ceil', (a) => a.ceil()),
  unary('floor', (a) => a.floor()),
  def('equal', ['any', 'any'], 'boolean', (args) => valuesEqual(args[0]!, args[1]!)),
  def('neq', ['any', 'any'], 'boolean', (args) => !valuesEqual(args[0]!, args[1]!)),
  comparison('lt', (c) => c < 0),
  comparison('lte', (c) => c <= 0),
  comparison('gt', (c) => c > 0),
  comparison('gte', (c) => c >= 0),
  bits('bits.or', (a, b) => a | b),
  bits('bits.and', (a, b) => a & b),
  bits('bits.xor', (a, b) => a ^ b),
  def('bits.negate', ['number'], 'number', (args) => RNumber.of(~bigIntOperand('bits.negate', args, 0), 0)),
  shift('bits.lsh', true),
  shift('bits.rsh', false),
  def('numbers.range', ['number', 'number'], 'array', (args, ctx) => {
    const a = bigIntOperand('numbers.range', args, 0);
    const b = bigIntOperand('numbers.range', args, 1);
    return range('numbers.range', a, b, 1n, ctx);
  }),
  def('numbers.range_step', ['number', 'number', 'number'], 'array', (args, ctx) => {
    const a = bigIntOperand('numbers.range_step', args, 0);
    const b = bigIntOperand('numbers.range_step', args, 1);
    const step = bigIntOperand('numbers.range_step', args, 2);
    if (step <= 0n) throw builtinError('numbers.range_step', 'step must be a positive integer');
    return range('numbers.range_step', a, b, step, ctx);
  }),
];

