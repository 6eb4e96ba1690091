/**
 * Rego values with OPA's semantics: numbers (exact big integers and decimals), strings,
 * booleans, null, arrays (plain JS arrays, never mutated once built), sets and objects
 * keyed by a canonical key so that any value can be a set member or an object key.
 */

export type Value = null | boolean | string | RNumber | Value[] | RSet | RObject;

export type TypeName = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object' | 'set';

/** Raised for numbers whose exact representation would be unreasonably large (e.g. 1e100000000 + 1). */
export class NumberRangeError extends Error {}

// Integers whose trailing-zero exponent stays under this are stored expanded (exp = 0).
const MAX_EXPANDED_EXP = 1000;
// Guard against exact arithmetic that would build numbers with millions of digits.
const MAX_ALIGN_DIGITS = 100_000;
// Significant digits kept for non-integer results: OPA computes them with 64-bit-mantissa
// big.Float (~19.3 decimal digits); we keep 20 for quotients and 34 for sums and products.
const DIV_DIGITS = 20;
const FLOAT_DIGITS = 34;

const NUMBER_RE = /^(-)?(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * An OPA number: the exact value coef × 10^exp. Canonical form: an integer with a small
 * exponent is expanded (exp = 0); any other value has no trailing zeros in coef (exp < 0
 * for non-integers, exp > MAX_EXPANDED_EXP for huge integers). Equal values therefore have
 * equal (coef, exp). `text` keeps the source spelling (JSON or Rego literal) for output.
 */
export class RNumber {
  readonly coef: bigint;
  readonly exp: number;
  readonly text: string | undefined;

  private constructor(coef: bigint, exp: number, text?: string) {
    this.coef = coef;
    this.exp = exp;
    this.text = text;
  }

  /** Builds the canonical form of coef × 10^exp. */
  static of(coef: bigint, exp: number, text?: string): RNumber {
    if (coef === 0n) return new RNumber(0n, 0, text);
    if (exp > 0 && exp <= MAX_EXPANDED_EXP) return new RNumber(coef * 10n ** BigInt(exp), 0, text);
    if (exp === 0 && text === undefined) return new RNumber(coef, 0);
    // Strip trailing zeros; for integers fold them back when the exponent is small.
    let c = coef;
    let e = exp;
    if (c % 10n === 0n) {
      const s = (c < 0n ? -c : c).toString();
      let z = 0;
      while (s.charCodeAt(s.length - 1 - z) === 48) z++;
      c = c / 10n ** BigInt(z);
      e += z;
    }
    if (e >= 0 && e <= MAX_EXPANDED_EXP) return new RNumber(e === 0 ? c : c * 10n ** BigInt(e), 0, text);
    return new RNumber(c, e, text);
  }

  static fromInt(i: bigint | number): RNumber {
    return new RNumber(typeof i === 'bigint' ? i : BigInt(i), 0);
  }

  /** Parses a JSON/Rego number literal; undefined when the text is not a number. */
  static parse(text: string): RNumber | undefined {
    const m = NUMBER_RE.exec(text);
    if (!m) return undefined;
    const intPart = m[2] ?? '0';
    const frac = m[3] ?? '';
    const expPart = m[4] === undefined ? 0 : Number(m[4]);
    if (!Number.isFinite(expPart) || Math.abs(expPart) > 1e9) return undefined;
    let coef = BigInt(intPart + frac);
    if (m[1]) coef = -coef;
    return RNumber.of(coef, expPart - frac.length, text);
  }

  static fromJS(x: number): RNumber {
    if (Number.isSafeInteger(x)) return new RNumber(BigInt(x), 0);
    if (!Number.isFinite(x)) throw new NumberRangeError(`cannot represent ${x} as a number`);
    // String(x) is the shortest decimal that round-trips the double.
    const n = RNumber.parse(String(x).replace('e+', 'e'));
    if (n === undefined) throw new NumberRangeError(`cannot represent ${x} as a number`);
    return RNumber.of(n.coef, n.exp);
  }

  isInteger(): boolean {
    return this.exp >= 0;
  }

  sign(): number {
    return this.coef === 0n ? 0 : this.coef < 0n ? -1 : 1;
  }

  /** Exact integer value, undefined for non-integers. */
  toBigInt(): bigint | undefined {
    if (this.exp < 0) return undefined;
    if (this.exp === 0) return this.coef;
    if (this.exp > MAX_ALIGN_DIGITS) throw new NumberRangeError('number too large');
    return this.coef * 10n ** BigInt(this.exp);
  }

  /** The integer as a JS number when it is an integer in the safe range. */
  toSafeInt(): number | undefined {
    if (this.exp !== 0) return undefined;
    const c = this.coef;
    if (c > 9007199254740991n || c < -9007199254740991n) return undefined;
    return Number(c);
  }

  /** Nearest double. */
  toNumber(): number {
    if (this.exp === 0) return Number(this.coef);
    return Number(`${this.coef}e${this.exp}`);
  }

  /** Number of decimal digits left of the point minus one (the scientific exponent), for magnitude comparison. */
  adjustedExp(): number {
    const digits = (this.coef < 0n ? -this.coef : this.coef).toString().length;
    return digits - 1 + this.exp;
  }

  /** Exact comparison by the numbers denoted (OPA orders decimals exactly, beyond float64 precision). */
  compare(other: RNumber): number {
    if (this.exp === 0 && other.exp === 0) {
      return this.coef === other.coef ? 0 : this.coef < other.coef ? -1 : 1;
    }
    return compareExact(this, other);
  }

  equals(other: RNumber): boolean {
    return this.compare(other) === 0;
  }

  neg(): RNumber {
    return new RNumber(-this.coef, this.exp);
  }

  /** The same value without its source spelling (results of arithmetic are spelled canonically). */
  plain(): RNumber {
    return this.text === undefined ? this : new RNumber(this.coef, this.exp);
  }

  abs(): RNumber {
    return this.coef < 0n ? this.neg() : this.plain();
  }

  add(other: RNumber): RNumber {
    if (this.exp === 0 && other.exp === 0) return new RNumber(this.coef + other.coef, 0);
    const [a, b, e] = align(this, other);
    return roundResult(a + b, e, FLOAT_DIGITS);
  }

  sub(other: RNumber): RNumber {
    if (this.exp === 0 && other.exp === 0) return new RNumber(this.coef - other.coef, 0);
    const [a, b, e] = align(this, other);
    return roundResult(a - b, e, FLOAT_DIGITS);
  }

  mul(other: RNumber): RNumber {
    if (this.exp === 0 && other.exp === 0) return new RNumber(this.coef * other.coef, 0);
    return roundResult(this.coef * other.coef, this.exp + other.exp, FLOAT_DIGITS);
  }

  /** Quotient; exact when it terminates within DIV_DIGITS significant digits. Caller checks for zero. */
  div(other: RNumber): RNumber {
    if (other.coef === 0n) throw new RangeError('divide by zero');
    if (this.exp === 0 && other.exp === 0 && this.coef % other.coef === 0n) {
      return new RNumber(this.coef / other.coef, 0);
    }
    // Scale the dividend so the integer quotient carries DIV_DIGITS + 1 significant digits.
    const da = digitCount(this.coef);
    const db = digitCount(other.coef);
    const scale = Math.max(0, DIV_DIGITS + 1 - (da - db));
    if (scale > MAX_ALIGN_DIGITS) throw new NumberRangeError('number too large');
    const num = this.coef * 10n ** BigInt(scale);
    let q = num / other.coef;
    const exact = num % other.coef === 0n;
    const e = this.exp - other.exp - scale;
    if (!exact) {
      // A sticky digit keeps half-way detection honest when rounding below.
      q = q * 10n + (q < 0n || (q === 0n && (this.coef < 0n) !== (other.coef < 0n)) ? -1n : 1n);
      return roundResult(q, e - 1, DIV_DIGITS);
    }
    return roundResult(q, e, DIV_DIGITS);
  }

  /** Integer remainder (truncated, sign of the dividend), both operands integers. */
  rem(other: RNumber): RNumber {
    const a = this.toBigInt();
    const b = other.toBigInt();
    if (a === undefined || b === undefined) throw new RangeError('modulo on floating-point number');
    if (b === 0n) throw new RangeError('modulo by zero');
    return RNumber.of(a % b, 0);
  }

  /** Largest integer ≤ this. */
  floor(): RNumber {
    if (this.exp >= 0) return this.plain();
    const d = 10n ** BigInt(-this.exp);
    let q = this.coef / d;
    if (this.coef < 0n && q * d !== this.coef) q -= 1n;
    return RNumber.of(q, 0);
  }

  ceil(): RNumber {
    if (this.exp >= 0) return this.plain();
    const d = 10n ** BigInt(-this.exp);
    let q = this.coef / d;
    if (this.coef > 0n && q * d !== this.coef) q += 1n;
    return RNumber.of(q, 0);
  }

  /** Rounds half away from zero, as OPA's round. */
  round(): RNumber {
    if (this.exp >= 0) return this.plain();
    const d = 10n ** BigInt(-this.exp);
    const abs = this.coef < 0n ? -this.coef : this.coef;
    const q = (abs * 2n + d) / (2n * d);
    return RNumber.of(this.coef < 0n ? -q : q, 0);
  }

  /** OPA's spelling: the source text if any, integers in full, other values like Go's big.Float %g. */
  toString(): string {
    if (this.text !== undefined) return this.text;
    return formatCanonical(this);
  }

  /** Canonical spelling, ignoring the source text. */
  canonicalString(): string {
    return formatCanonical(this);
  }
}

function digitCount(c: bigint): number {
  return (c < 0n ? -c : c).toString().length;
}

function align(a: RNumber, b: RNumber): [bigint, bigint, number] {
  const e = Math.min(a.exp, b.exp);
  const da = a.exp - e;
  const db = b.exp - e;
  if (da > MAX_ALIGN_DIGITS || db > MAX_ALIGN_DIGITS) throw new NumberRangeError('number too large');
  return [da === 0 ? a.coef : a.coef * 10n ** BigInt(da), db === 0 ? b.coef : b.coef * 10n ** BigInt(db), e];
}

function compareExact(a: RNumber, b: RNumber): number {
  const sa = a.sign();
  const sb = b.sign();
  if (sa !== sb) return sa < sb ? -1 : 1;
  if (sa === 0) return 0;
  // Same sign: compare magnitudes by scientific exponent first (no expansion needed).
  const ea = a.adjustedExp();
  const eb = b.adjustedExp();
  if (ea !== eb) return (ea < eb ? -1 : 1) * sa;
  const [x, y] = align(a, b);
  return x === y ? 0 : x < y ? -1 : 1;
}

/** Rounds coef × 10^exp to `digits` significant digits (half to even) when it is not an integer. */
function roundResult(coef: bigint, exp: number, digits: number): RNumber {
  if (exp >= 0 || coef === 0n) return RNumber.of(coef, exp);
  const n = digitCount(coef);
  if (n <= digits) return RNumber.of(coef, exp);
  const drop = n - digits;
  // Do not round away integer digits: keep at least the integer part exact.
  const maxDrop = -exp;
  const k = Math.min(drop, maxDrop);
  const d = 10n ** BigInt(k);
  const neg = coef < 0n;
  const abs = neg ? -coef : coef;
  let q = abs / d;
  const r = abs % d;
  const twice = r * 2n;
  if (twice > d || (twice === d && q % 2n === 1n)) q += 1n;
  return RNumber.of(neg ? -q : q, exp + k);
}

function formatCanonical(n: RNumber): string {
  if (n.exp === 0) return n.coef.toString();
  if (n.exp > 0) return `${n.coef}e+${n.exp}`;
  const neg = n.coef < 0n;
  const digits = (neg ? -n.coef : n.coef).toString();
  const nd = digits.length;
  const dp = nd + n.exp; // position of the decimal point relative to the digits
  const x = dp - 1;
  let out: string;
  if (x < -4 || x >= 6) {
    const mant = nd > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const ax = Math.abs(x);
    out = `${mant}e${x < 0 ? '-' : '+'}${ax < 10 ? '0' : ''}${ax}`;
  } else if (dp <= 0) {
    out = `0.${'0'.repeat(-dp)}${digits}`;
  } else {
    out = `${digits.slice(0, dp)}.${digits.slice(dp)}`;
  }
  return neg ? `-${out}` : out;
}

const SMALL_INTS: RNumber[] = [];
for (let i = -16; i <= 256; i++) SMALL_INTS.push(RNumber.fromInt(i));

/** Makes a number from a JS number, a bigint or a number literal. Throws on malformed text. */
export function num(x: number | bigint | string): RNumber {
  if (typeof x === 'number') {
    if (Number.isInteger(x) && x >= -16 && x <= 256) return SMALL_INTS[x + 16]!;
    return RNumber.fromJS(x);
  }
  if (typeof x === 'bigint') return RNumber.fromInt(x);
  const n = RNumber.parse(x);
  if (n === undefined) throw new SyntaxError(`invalid number literal: ${x}`);
  return n;
}

/** Map key of a value inside RSet/RObject: strings as themselves (the common case), others tagged. */
export function mapKey(v: Value): string {
  if (typeof v === 'string') return v.charCodeAt(0) === 1 ? `\u0001s${v}` : v;
  return `\u0001${valueKey(v)}`;
}

/** Canonical key: equal values (by valuesEqual) have the same key, distinct values distinct keys. */
export function valueKey(v: Value): string {
  if (v === null) return 'n';
  if (v === true) return 't';
  if (v === false) return 'f';
  if (typeof v === 'string') return `s${v.length}:${v}`;
  if (v instanceof RNumber) {
    // Canonical (coef, exp): equal numbers have equal keys.
    return `#${v.coef}e${v.exp}`;
  }
  if (Array.isArray(v)) {
    let s = '[';
    for (const e of v) s += `${valueKey(e)},`;
    return `${s}]`;
  }
  return v.canonicalKey();
}

/** An immutable-once-built set of values, iterated in insertion order or sorted order. */
export class RSet implements Iterable<Value> {
  private readonly members = new Map<string, Value>();
  private sortedCache: Value[] | undefined;
  private keyCache: string | undefined;

  constructor(values?: Iterable<Value>) {
    if (values) for (const v of values) this.add(v);
  }

  add(v: Value): this {
    const k = mapKey(v);
    if (!this.members.has(k)) {
      this.members.set(k, v);
      this.sortedCache = undefined;
      this.keyCache = undefined;
    }
    return this;
  }

  has(v: Value): boolean {
    return this.members.has(mapKey(v));
  }

  /** The stored member equal to v (e.g. 1.0 for a lookup of 1), if any. */
  get(v: Value): Value | undefined {
    return this.members.get(mapKey(v));
  }

  get size(): number {
    return this.members.size;
  }

  [Symbol.iterator](): Iterator<Value> {
    return this.members.values();
  }

  values(): IterableIterator<Value> {
    return this.members.values();
  }

  /** Members in OPA's order (compareValues). */
  sorted(): readonly Value[] {
    if (!this.sortedCache) this.sortedCache = [...this.members.values()].sort(compareValues);
    return this.sortedCache;
  }

  canonicalKey(): string {
    if (this.keyCache === undefined) {
      const keys = [...this.members.values()].map(valueKey).sort();
      this.keyCache = `<${keys.join(',')}>`;
    }
    return this.keyCache;
  }
}

/** An object whose keys may be any value; iterated in insertion order or sorted key order. */
export class RObject {
  private readonly entries_ = new Map<string, [Value, Value]>();
  private sortedCache: Array<[Value, Value]> | undefined;
  private keyCache: string | undefined;

  constructor(entries?: Iterable<readonly [Value, Value]>) {
    if (entries) for (const [k, v] of entries) this.set(k, v);
  }

  /** Builds an object from a plain record of already-converted values. */
  static fromRecord(rec: Record<string, Value>): RObject {
    const o = new RObject();
    for (const k of Object.keys(rec)) o.set(k, rec[k]!);
    return o;
  }

  set(k: Value, v: Value): this {
    this.entries_.set(mapKey(k), [k, v]);
    this.sortedCache = undefined;
    this.keyCache = undefined;
    return this;
  }

  get(k: Value): Value | undefined {
    const e = this.entries_.get(mapKey(k));
    return e === undefined ? undefined : e[1];
  }

  has(k: Value): boolean {
    return this.entries_.has(mapKey(k));
  }

  get size(): number {
    return this.entries_.size;
  }

  /** Entries in insertion order. */
  entries(): IterableIterator<[Value, Value]> {
    return this.entries_.values();
  }

  [Symbol.iterator](): Iterator<[Value, Value]> {
    return this.entries_.values();
  }

  *keys(): IterableIterator<Value> {
    for (const e of this.entries_.values()) yield e[0];
  }

  *values(): IterableIterator<Value> {
    for (const e of this.entries_.values()) yield e[1];
  }

  /** Entries sorted by key in OPA's order. */
  sortedEntries(): ReadonlyArray<readonly [Value, Value]> {
    if (!this.sortedCache) this.sortedCache = [...this.entries_.values()].sort((a, b) => compareValues(a[0], b[0]));
    return this.sortedCache;
  }

  canonicalKey(): string {
    if (this.keyCache === undefined) {
      const parts = [...this.entries_.values()].map(([k, v]) => `${valueKey(k)}:${valueKey(v)}`).sort();
      this.keyCache = `{${parts.join(',')}}`;
    }
    return this.keyCache;
  }
}

export function typeName(v: Value): TypeName {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return 'boolean';
    case 'string':
      return 'string';
    default:
      if (v instanceof RNumber) return 'number';
      if (Array.isArray(v)) return 'array';
      if (v instanceof RSet) return 'set';
      return 'object';
  }
}

// OPA's sort order of types: null < boolean < number < string < array < object < set.
function typeRank(v: Value): number {
  if (v === null) return 0;
  if (typeof v === 'boolean') return 1;
  if (v instanceof RNumber) return 2;
  if (typeof v === 'string') return 3;
  if (Array.isArray(v)) return 6;
  if (v instanceof RObject) return 7;
  return 8;
}

/** Compares strings by code point, which is Go's byte-wise UTF-8 order. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let ca = a.charCodeAt(i);
    let cb = b.charCodeAt(i);
    if (ca !== cb) {
      // UTF-16 puts surrogates (U+10000 and up) below U+E000–U+FFFF; code point order does not.
      if (ca >= 0xd800 && cb >= 0xd800) {
        ca = ca >= 0xe000 ? ca - 0x800 : ca + 0x2000;
        cb = cb >= 0xe000 ? cb - 0x800 : cb + 0x2000;
      }
      return ca < cb ? -1 : 1;
    }
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/** OPA's total order over values. */
export function compareValues(a: Value, b: Value): number {
  if (a === b) return 0;
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 0:
      return 0;
    case 1:
      return a === b ? 0 : a === false ? -1 : 1;
    case 2:
      return (a as RNumber).compare(b as RNumber);
    case 3:
      return compareStrings(a as string, b as string);
    case 6: {
      const x = a as Value[];
      const y = b as Value[];
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = compareValues(x[i]!, y[i]!);
        if (c !== 0) return c;
      }
      return x.length < y.length ? -1 : x.length > y.length ? 1 : 0;
    }
    case 7: {
      const x = (a as RObject).sortedEntries();
      const y = (b as RObject).sortedEntries();
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const kc = compareValues(x[i]![0], y[i]![0]);
        if (kc !== 0) return kc;
        const vc = compareValues(x[i]![1], y[i]![1]);
        if (vc !== 0) return vc;
      }
      return x.length < y.length ? -1 : x.length > y.length ? 1 : 0;
    }
    default: {
      const x = (a as RSet).sorted();
      const y = (b as RSet).sorted();
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = compareValues(x[i]!, y[i]!);
        if (c !== 0) return c;
      }
      return x.length < y.length ? -1 : x.length > y.length ? 1 : 0;
    }
  }
}

export function valuesEqual(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (a instanceof RNumber) return b instanceof RNumber && a.compare(b) === 0;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!valuesEqual(a[i]!, b[i]!)) return false;
    return true;
  }
  if (a instanceof RSet) {
    if (!(b instanceof RSet) || a.size !== b.size) return false;
    for (const m of a) if (!b.has(m)) return false;
    return true;
  }
  if (!(b instanceof RObject) || a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined || !valuesEqual(v, w)) return false;
  }
  return true;
}

/** Converts parsed JSON (or any plain JS data: numbers, bigints, arrays, records, Sets, Maps) into a Value. */
export function fromJSON(x: unknown): Value {
  if (x === null || x === undefined) return null;
  switch (typeof x) {
    case 'boolean':
    case 'string':
      return x;
    case 'number':
      return num(x);
    case 'bigint':
      return RNumber.fromInt(x);
    case 'object':
      if (x instanceof RNumber || x instanceof RSet || x instanceof RObject) return x;
      if (Array.isArray(x)) return x.map(fromJSON);
      if (x instanceof Set) return new RSet([...x].map(fromJSON));
      if (x instanceof Map) return new RObject([...x].map(([k, v]) => [fromJSON(k), fromJSON(v)] as const));
      {
        const o = new RObject();
        for (const k of Object.keys(x)) o.set(k, fromJSON((x as Record<string, unknown>)[k]));
        return o;
      }
    default:
      throw new TypeError(`cannot convert ${typeof x} to a Rego value`);
  }
}

/** Parses JSON text into a Value keeping numbers exact (big integers, decimal spelling). Throws SyntaxError. */
export function parseJSON(text: string): Value {
  return JSON.parse(text, function reviver(this: unknown, _key: string, value: unknown, context?: { source?: string }) {
    if (typeof value === 'number') {
      const src = context?.source;
      return src !== undefined ? num(src) : num(value);
    }
    if (Array.isArray(value)) return value as Value[];
    if (value !== null && typeof value === 'object' && !(value instanceof RNumber) && !(value instanceof RObject) && !(value instanceof RSet)) {
      const o = new RObject();
      for (const k of Object.keys(value)) o.set(k, (value as Record<string, Value>)[k]!);
      return o;
    }
    return value;
  } as (key: string, value: unknown) => unknown) as Value;
}

/** The string an object key takes in JSON: strings as-is, other keys JSON-encoded as OPA does. */
export function jsonKey(k: Value): string {
  return typeof k === 'string' ? k : toJSONText(k);
}

/**
 * Converts a Value into plain JS data: numbers become JS numbers (big integers lose
 * precision — use toJSONText for exact output), sets become arrays in sorted order,
 * objects plain objects with keys in sorted order.
 */
export function toJSON(v: Value): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (v instanceof RNumber) return v.toNumber();
  if (Array.isArray(v)) return v.map(toJSON);
  if (v instanceof RSet) return v.sorted().map(toJSON);
  const out: Record<string, unknown> = {};
  for (const k of sortedJSONKeys(v)) {
    Object.defineProperty(out, k.key, { value: toJSON(k.value), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function sortedJSONKeys(o: RObject): Array<{ key: string; value: Value }> {
  const list = [...o.entries()].map(([k, value]) => ({ key: jsonKey(k), value }));
  // Go's encoding/json sorts map keys byte-wise.
  return list.sort((a, b) => compareStrings(a.key, b.key));
}

/** Compact JSON text as Go's encoding/json writes it (sorted keys, exact numbers). */
export function toJSONText(v: Value, escapeHTML = false): string {
  if (v === null) return 'null';
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (typeof v === 'string') return quoteJSON(v, escapeHTML);
  if (v instanceof RNumber) return jsonNumberText(v);
  if (Array.isArray(v)) return `[${v.map((e) => toJSONText(e, escapeHTML)).join(',')}]`;
  if (v instanceof RSet) return `[${v.sorted().map((e) => toJSONText(e, escapeHTML)).join(',')}]`;
  return `{${sortedJSONKeys(v).map((e) => `${quoteJSON(e.key, escapeHTML)}:${toJSONText(e.value, escapeHTML)}`).join(',')}}`;
}

function jsonNumberText(n: RNumber): string {
  const t = n.toString();
  // Source spellings like "1e5" are valid JSON; anything else goes through the canonical form.
  return /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(t) ? t : n.canonicalString();
}

/** JSON string quoting as Go's encoding/json (optionally escaping <, >, & like json.Marshal does). */
export function quoteJSON(s: string, escapeHTML = false): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let rep: string | undefined;
    if (c < 0x20) {
      rep = c === 10 ? '\\n' : c === 13 ? '\\r' : c === 9 ? '\\t' : `\\u00${c.toString(16).padStart(2, '0')}`;
    } else if (c === 34) rep = '\\"';
    else if (c === 92) rep = '\\\\';
    else if (escapeHTML && (c === 60 || c === 62 || c === 38)) rep = `\\u00${c.toString(16)}`;
    else if (c === 0x2028 || c === 0x2029) rep = `\\u${c.toString(16)}`;
    else if (c >= 0xd800 && c <= 0xdfff) {
      // Lone surrogates are invalid UTF-8; Go writes U+FFFD for them.
      const hi = c <= 0xdbff && i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && hi >= 0xdc00 && hi <= 0xdfff) {
        i++;
        continue;
      }
      rep = '\ufffd';
    }
    if (rep !== undefined) {
      out += s.slice(start, i) + rep;
      start = i + 1;
    }
  }
  return `${out}${s.slice(start)}"`;
}

/**
 * OPA's term syntax for a value (ast.Value.String()): strings quoted, sets as {a, b},
 * the empty set as set(), objects as {"k": v}. Used by print, sprintf %v and error texts.
 */
export function formatValue(v: Value): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return quoteJSON(v);
  if (v instanceof RNumber) return v.toString();
  if (Array.isArray(v)) return `[${v.map(formatValue).join(', ')}]`;
  if (v instanceof RSet) {
    if (v.size === 0) return 'set()';
    return `{${v.sorted().map(formatValue).join(', ')}}`;
  }
  return `{${v.sortedEntries().map(([k, x]) => `${formatValue(k)}: ${formatValue(x)}`).join(', ')}}`;
}
