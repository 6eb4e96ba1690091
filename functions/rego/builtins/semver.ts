/** semver.is_valid and semver.compare (Semantic Versioning 2.0.0, no "v" prefix). */
import { RE2JS } from 're2js';
import { num } from '../value.js';
import { goQuote } from './gofmt.js';
import { builtinError, def, str } from './operands.js';
import type { BuiltinDef } from './types.js';

// semver.org's grammar, matched by RE2 (linear time: versions come from policy input).
const SEMVER_RE = RE2JS.compile(
  '^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(?:-((?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?$',
);

interface Version {
  core: [bigint, bigint, bigint];
  pre: string[];
}

function parse(s: string): Version | undefined {
  const m = SEMVER_RE.matcher(s);
  if (!m.matches()) return undefined;
  const pre = m.group(4);
  return { core: [BigInt(m.group(1)!), BigInt(m.group(2)!), BigInt(m.group(3)!)], pre: pre ? pre.split('.') : [] };
}

function cmpBig(a: bigint, b: bigint): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

function compare(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) {
    const c = cmpBig(a.core[i]!, b.core[i]!);
    if (c !== 0) return c;
  }
  if (a.pre.length === 0 || b.pre.length === 0) return a.pre.length === b.pre.length ? 0 : a.pre.length === 0 ? 1 : -1;
  for (let i = 0; i < Math.min(a.pre.length, b.pre.length); i++) {
    const x = a.pre[i]!;
    const y = b.pre[i]!;
    const xn = /^\d+$/.test(x);
    const yn = /^\d+$/.test(y);
    let c: number;
    if (xn && yn) c = cmpBig(BigInt(x), BigInt(y));
    else if (xn) c = -1;
    else if (yn) c = 1;
    else c = x < y ? -1 : x > y ? 1 : 0;
    if (c !== 0) return c;
  }
  return a.pre.length === b.pre.length ? 0 : a.pre.length < b.pre.length ? -1 : 1;
}

export const semverBuiltins: readonly BuiltinDef[] = [
  def('semver.is_valid', ['any'], 'boolean', (args) => {
    const v = args[0]!;
    return typeof v === 'string' && parse(v) !== undefined;
  }),
  // OPA formats the operand as an ast.String, whose %s is Go-quoted: `string "v1.0.0" is not …`.
  def('semver.compare', ['string', 'string'], 'number', (args) => {
    const a = str('semver.compare', args, 0);
    const b = str('semver.compare', args, 1);
    const va = parse(a);
    if (!va) throw builtinError('semver.compare', `operand 1: string ${goQuote(a)} is not a valid SemVer`);
    const vb = parse(b);
    if (!vb) throw builtinError('semver.compare', `operand 2: string ${goQuote(b)} is not a valid SemVer`);
    return num(compare(va, vb));
  }),
];
