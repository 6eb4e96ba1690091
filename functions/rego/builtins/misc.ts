/** uuid, crypto hashes/HMACs, walk, print, trace and rand.intn. */
import { createHash, createHmac, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import { RNumber, RObject, RSet, formatValue, num, type Value } from '../value.js';
import { RegoEvalError } from '../errors.js';
import { def, int, str, typeError } from './operands.js';
import type { BuiltinDef } from './types.js';

function hash(name: string, algo: string): BuiltinDef {
  return def(name, ['string'], 'string', (args) => createHash(algo).update(str(name, args, 0), 'utf8').digest('hex'));
}

function hmac(name: string, algo: string): BuiltinDef {
  return def(name, ['string', 'string'], 'string', (args) =>
    createHmac(algo, Buffer.from(str(name, args, 1), 'utf8')).update(str(name, args, 0), 'utf8').digest('hex'),
  );
}

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** google/uuid.Parse: plain, {braced}, urn:uuid: prefixed or 32 hex digits; undefined if invalid. */
function parseUUID(s: string): Uint8Array | undefined {
  let t = s;
  if (t.length === 45) {
    if (t.slice(0, 9).toLowerCase() !== 'urn:uuid:') return undefined;
    t = t.slice(9);
  } else if (t.length === 38) {
    if (t[0] !== '{' || t[37] !== '}') return undefined;
    t = t.slice(1, 37);
  } else if (t.length === 32) {
    if (!/^[0-9a-fA-F]{32}$/.test(t)) return undefined;
    return Uint8Array.from(Buffer.from(t, 'hex'));
  }
  if (t.length !== 36 || !UUID_RE.test(t)) return undefined;
  return Uint8Array.from(Buffer.from(t.replaceAll('-', ''), 'hex'));
}

function variantName(b: number): string {
  if ((b & 0xc0) === 0x80) return 'RFC4122';
  if ((b & 0xe0) === 0xc0) return 'Microsoft';
  if ((b & 0xe0) === 0xe0) return 'Future';
  return 'Reserved';
}

// 100-ns intervals between 1582-10-15 and 1970-01-01.
const GREGORIAN_OFFSET = 0x01b21dd213814000n;

function describeUUID(u: Uint8Array): RObject {
  const version = u[6]! >> 4;
  const out = new RObject();
  out.set('version', num(version));
  out.set('variant', variantName(u[8]!));
  if (version === 1 || version === 2) {
    const timeLow = BigInt((u[0]! << 24) >>> 0 | (u[1]! << 16) | (u[2]! << 8) | u[3]!);
    const timeMid = BigInt((u[4]! << 8) | u[5]!);
    const timeHi = BigInt(((u[6]! << 8) | u[7]!) & 0xfff);
    const t = timeLow | (timeMid << 32n) | (timeHi << 48n);
    out.set('time', RNumber.of((t - GREGORIAN_OFFSET) * 100n, 0));
    const node = u.slice(10);
    out.set('nodeid', [...node].map((b) => b.toString(16).padStart(2, '0')).join('-'));
    out.set('macvariables', `${node[0]! & 2 ? 'local' : 'global'}:${node[0]! & 1 ? 'multicast' : 'unicast'}`);
    out.set('clocksequence', num(((u[8]! << 8) | u[9]!) & 0x3fff));
    if (version === 2) {
      out.set('id', RNumber.of(timeLow, 0));
      const domains = ['Person', 'Group', 'Org'];
      out.set('domain', domains[u[9]!] ?? `Domain${u[9]}`);
    }
  }
  return out;
}

/** Every [path, value] pair of x, root first, as OPA's walk relation. */
function walk(x: Value, path: Value[], out: Value[], tick: () => void): void {
  tick();
  out.push([path, x]);
  if (Array.isArray(x)) x.forEach((e, i) => walk(e, [...path, num(i)], out, tick));
  else if (x instanceof RObject) for (const [k, v] of x.sortedEntries()) walk(v, [...path, k], out, tick);
  else if (x instanceof RSet) for (const m of x.sorted()) walk(m, [...path, m], out, tick);
}

/** print's rendering of one operand value: strings bare, everything else in Rego syntax. */
function printed(v: Value): string {
  return typeof v === 'string' ? v : formatValue(v);
}

export const miscBuiltins: readonly BuiltinDef[] = [
  hash('crypto.sha256', 'sha256'),
  hash('crypto.sha1', 'sha1'),
  hash('crypto.md5', 'md5'),
  hmac('crypto.hmac.sha256', 'sha256'),
  hmac('crypto.hmac.sha1', 'sha1'),
  hmac('crypto.hmac.md5', 'md5'),
  hmac('crypto.hmac.sha512', 'sha512'),
  def('crypto.hmac.equal', ['string', 'string'], 'boolean', (args) => {
    const a = Buffer.from(str('crypto.hmac.equal', args, 0), 'utf8');
    const b = Buffer.from(str('crypto.hmac.equal', args, 1), 'utf8');
    return a.length === b.length && timingSafeEqual(a, b);
  }),
  def(
    'uuid.rfc4122',
    ['string'],
    'string',
    (args, ctx) => {
      // The same key yields the same UUID within one evaluation, as in OPA.
      const key = `uuid.rfc4122\u0000${str('uuid.rfc4122', args, 0)}`;
      let id = ctx.memo.get(key) as string | undefined;
      if (id === undefined) {
        id = randomUUID();
        ctx.memo.set(key, id);
      }
      return id;
    },
    { nondeterministic: true },
  ),
  def('uuid.parse', ['string'], 'object', (args) => {
    const u = parseUUID(str('uuid.parse', args, 0));
    return u === undefined ? undefined : describeUUID(u);
  }),
  def(
    'rand.intn',
    ['string', 'number'],
    'number',
    (args, ctx) => {
      const s = str('rand.intn', args, 0);
      const n = Math.abs(int('rand.intn', args, 1));
      const key = `rand.intn\u0000${s}\u0000${n}`;
      let r = ctx.memo.get(key) as number | undefined;
      if (r === undefined) {
        r = n === 0 ? 0 : randomInt(Math.min(n, 2 ** 48 - 1));
        ctx.memo.set(key, r);
      }
      return num(r);
    },
    { nondeterministic: true },
  ),
  def(
    'walk',
    ['any'],
    'array',
    (args, ctx) => {
      const out: Value[] = [];
      let n = 0;
      walk(args[0]!, [], out, () => {
        if ((++n & 0xfff) === 0) ctx.checkDeadline();
      });
      return out;
    },
    { relation: true },
  ),
  def('internal.print', ['array'], 'boolean', (args, ctx) => {
    const operands = args[0]!;
    if (!Array.isArray(operands)) throw typeError('internal.print', 1, operands, 'array');
    const columns = operands.map((o) => (o instanceof RSet ? [...o.sorted()] : [o]));
    // One line per combination of operand values; an undefined operand prints <undefined>.
    const emit = (i: number, acc: string[]): void => {
      if (i === columns.length) {
        ctx.print(acc.join(' '));
        return;
      }
      const col = columns[i]!;
      if (col.length === 0) emit(i + 1, [...acc, '<undefined>']);
      else for (const v of col) emit(i + 1, [...acc, printed(v)]);
    };
    emit(0, []);
    return true;
  }),
  // Template strings (`$"a {x}"`) compile to this (parser.ts): literal strings, and each expression as the set of its values.
  def('internal.template_string', ['array'], 'string', (args) => {
    const parts = args[0]!;
    if (!Array.isArray(parts)) throw typeError('internal.template_string', 1, parts, 'array');
    let out = '';
    for (const p of parts) {
      if (!(p instanceof RSet)) out += typeof p === 'string' ? p : printed(p);
      else if (p.size === 0) out += '<undefined>';
      else if (p.size > 1) throw new RegoEvalError('eval_conflict_error', 'template-strings must not produce multiple outputs');
      else out += printed(p.sorted()[0]!);
    }
    return out;
  }),
  // Variadic: `args` is empty and the evaluator rewrites print(a, b, …) into internal.print (see types.ts).
  // Called directly, each argument is one defined value.
  def('print', [], 'boolean', (args, ctx) => {
    ctx.print(args.map(printed).join(' '));
    return true;
  }),
  // No tracer is attached to evaluations, so trace is the no-op OPA performs when tracing is off.
  def('trace', ['string'], 'boolean', (args) => {
    str('trace', args, 0);
    return true;
  }),
];
