/** Type tests (is_*, type_name), to_number and the deprecated cast_* builtins. */
import { RNumber, RObject, RSet, num, typeName, type Value } from '../value.js';
import { builtinError, def, typeError } from './operands.js';
import type { BuiltinDef } from './types.js';

// strconv.ParseFloat's decimal syntax (hex floats and underscores are not accepted here).
const GO_FLOAT_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

function toNumber(s: string): RNumber {
  const lower = s.replace(/^[+-]+/, '').toLowerCase();
  if (lower === 'inf' || lower === 'infinity' || lower === 'nan') throw typeError('to_number', 1, s, 'valid number string');
  if (!GO_FLOAT_RE.test(s)) throw builtinError('to_number', `strconv.ParseFloat: parsing ${JSON.stringify(s)}: invalid syntax`);
  if (!Number.isFinite(Number(s))) throw builtinError('to_number', `strconv.ParseFloat: parsing ${JSON.stringify(s)}: value out of range`);
  // Normalize to JSON number syntax: no '+', digits on both sides of the point.
  let t = s.startsWith('+') ? s.slice(1) : s;
  t = t.replace(/^(-?)\./, '$10.').replace(/\.(?=[eE]|$)/, '');
  return num(t);
}

function is(name: string, test: (v: Value) => boolean): BuiltinDef {
  return def(name, ['any'], 'boolean', (args) => test(args[0]!));
}

function cast(name: string, ok: (v: Value) => Value | undefined, expected: string): BuiltinDef {
  return def(name, ['any'], 'any', (args) => {
    const r = ok(args[0]!);
    if (r === undefined) throw typeError(name, 1, args[0]!, expected);
    return r;
  });
}

export const typeBuiltins: readonly BuiltinDef[] = [
  is('is_number', (v) => v instanceof RNumber),
  is('is_string', (v) => typeof v === 'string'),
  is('is_boolean', (v) => typeof v === 'boolean'),
  is('is_array', (v) => Array.isArray(v)),
  is('is_set', (v) => v instanceof RSet),
  is('is_object', (v) => v instanceof RObject),
  is('is_null', (v) => v === null),
  def('type_name', ['any'], 'string', (args) => typeName(args[0]!)),
  def('to_number', ['null|boolean|number|string'], 'number', (args) => {
    const v = args[0]!;
    if (v === null) return num(0);
    if (typeof v === 'boolean') return num(v ? 1 : 0);
    if (v instanceof RNumber) return v;
    if (typeof v === 'string') return toNumber(v);
    throw typeError('to_number', 1, v, 'null', 'boolean', 'number', 'string');
  }),
  cast('cast_array', (v) => (Array.isArray(v) ? v : v instanceof RSet ? [...v] : undefined), 'array'),
  cast('cast_set', (v) => (v instanceof RSet ? v : Array.isArray(v) ? new RSet(v) : undefined), 'set'),
  cast('cast_string', (v) => (typeof v === 'string' ? v : undefined), 'string'),
  cast('cast_boolean', (v) => (typeof v === 'boolean' ? v : undefined), 'boolean'),
  cast('cast_null', (v) => (v === null ? null : undefined), 'null'),
  cast('cast_object', (v) => (v instanceof RObject ? v : undefined), 'object'),
];
