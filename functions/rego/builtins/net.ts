/** net.cidr_* builtins with Go's net.ParseIP / ParseCIDR / IPNet rules. */
import { RObject, RSet, num, type Value } from '../value.js';
import { builtinError, def, str, typeError } from './operands.js';
import type { BuiltinContext, BuiltinDef } from './types.js';
import { ipString } from './ip-string.js';

/** 4 bytes for IPv4, 16 for IPv6 (Go's net.IP), undefined if not an address. */
export function parseIP(s: string): Uint8Array | undefined {
  if (s.includes('.') && !s.includes(':')) return parseIPv4(s);
  if (s.includes(':')) return parseIPv6(s);
  return undefined;
}

function parseIPv4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    // Go rejects empty fields, non-digits and leading zeros.
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === '0')) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseIPv6(s: string): Uint8Array | undefined {
  if (s.includes('%')) return undefined;
  let tail: Uint8Array | undefined;
  let text = s;
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    tail = parseIPv4(s.slice(lastColon + 1));
    if (!tail) return undefined;
    text = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const dbl = text.indexOf('::');
  if (dbl !== text.lastIndexOf('::')) return undefined;
  const parseGroups = (t: string): number[] | undefined => {
    if (t === '') return [];
    const gs = t.split(':');
    const out: number[] = [];
    for (const g of gs) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (dbl >= 0) {
    const head = parseGroups(text.slice(0, dbl));
    const rest = parseGroups(text.slice(dbl + 2));
    if (!head || !rest || head.length + rest.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  } else {
    const g = parseGroups(text);
    if (!g || g.length !== 8) return undefined;
    groups = g;
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  if (tail) out.set(tail, 12);
  return out;
}

/** Go's IP.To4: IPv4 and IPv4-mapped IPv6 addresses as 4 bytes. */
function to4(ip: Uint8Array): Uint8Array | undefined {
  if (ip.length === 4) return ip;
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return undefined;
  if (ip[10] !== 0xff || ip[11] !== 0xff) return undefined;
  return ip.slice(12);
}

interface IPNet {
  ip: Uint8Array; // network number, 4 or 16 bytes
  bits: number; // prefix length
}

export function parseCIDR(s: string): IPNet | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const addr = s.slice(0, slash);
  const len = s.slice(slash + 1);
  const ip = parseIP(addr);
  if (!ip || !/^\d{1,3}$/.test(len)) return undefined;
  if (len.length > 1 && len[0] === '0') return undefined;
  const bits = Number(len);
  // An IPv4 literal gives a 32-bit mask; anything with ':' a 128-bit one.
  const isV4 = !addr.includes(':');
  const max = isV4 ? 32 : 128;
  if (bits > max) return undefined;
  return { ip: mask(ip, bits), bits };
}

function mask(ip: Uint8Array, bits: number): Uint8Array {
  const out = new Uint8Array(ip.length);
  for (let i = 0; i < ip.length; i++) {
    const b = Math.max(0, Math.min(8, bits - i * 8));
    out[i] = ip[i]! & ((0xff << (8 - b)) & 0xff);
  }
  return out;
}

/** Go's IPNet.Contains. */
function contains(n: IPNet, ip: Uint8Array): boolean {
  let nn = n.ip;
  let bits = n.bits;
  const n4 = to4(nn);
  if (n4) {
    if (nn.length === 16) bits -= 96;
    nn = n4;
  }
  const x = to4(ip) ?? ip;
  if (x.length !== nn.length) return false;
  if (bits < 0) bits = 0;
  const m = mask(x, bits);
  for (let i = 0; i < nn.length; i++) if (m[i] !== nn[i]) return false;
  return true;
}

function lastIP(n: IPNet): Uint8Array {
  const out = new Uint8Array(n.ip);
  for (let i = 0; i < out.length; i++) {
    const b = Math.max(0, Math.min(8, n.bits - i * 8));
    out[i] = out[i]! | (0xff >> b);
  }
  return out;
}

function cidrOperand(name: string, s: string): IPNet {
  const n = parseCIDR(s);
  if (!n) throw builtinError(name, `invalid CIDR address: ${s}`);
  return n;
}

/** net.cidr_contains on strings; throws the builtin's errors. */
function cidrContains(name: string, cidr: string, other: string): boolean {
  const network = cidrOperand(name, cidr);
  const ip = parseIP(other);
  if (ip) return contains(network, ip);
  const sub = parseCIDR(other);
  if (!sub) throw builtinError(name, `not a valid textual representation of an IP address or CIDR: ${other}`);
  return contains(network, sub.ip) && contains(network, lastIP(sub));
}

function toBig(ip: Uint8Array): bigint {
  let n = 0n;
  for (const b of ip) n = (n << 8n) | BigInt(b);
  return n;
}

function fromBig(n: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

// A cap on expansion: a /8 alone is 16 million addresses.
const MAX_EXPAND = 1n << 20n;

function expand(s: string, ctx: BuiltinContext): RSet {
  const n = parseCIDR(s);
  if (!n) throw builtinError('net.cidr_expand', `invalid CIDR address: ${s}`);
  const len = n.ip.length;
  const hostBits = BigInt(len * 8 - n.bits);
  const count = 1n << hostBits;
  if (count > MAX_EXPAND) throw builtinError('net.cidr_expand', `too many addresses to expand (${count})`);
  const first = toBig(n.ip);
  const out = new RSet();
  for (let i = 0n; i < count; i++) {
    if ((i & 0xfffn) === 0xfffn) ctx.checkDeadline();
    out.add(ipString(fromBig(first + i, len)));
  }
  return out;
}

/** One input of net.cidr_merge: a CIDR, or an IPv4 address with its classful default mask (as OPA). */
function mergeInput(e: Value): { first: bigint; last: bigint; len: number; text: string | undefined } {
  if (typeof e !== 'string') throw builtinError('net.cidr_merge', 'element must be string');
  const ip = parseIP(e);
  if (ip) {
    const v4 = to4(ip);
    if (!v4) throw builtinError('net.cidr_merge', 'IPv6 invalid: needs prefix length');
    const bits = v4[0]! < 0x80 ? 8 : v4[0]! < 0xc0 ? 16 : 24;
    const host = (1n << BigInt(32 - bits)) - 1n;
    const v = toBig(v4);
    return { first: v & ~host, last: v | host, len: 4, text: `${ipString(v4)}/${bits}` };
  }
  const n = parseCIDR(e);
  if (!n) throw builtinError('net.cidr_merge', `invalid CIDR address: ${e}`);
  const first = toBig(n.ip);
  const host = (1n << BigInt(n.ip.length * 8 - n.bits)) - 1n;
  return { first, last: first | host, len: n.ip.length, text: `${ipString(n.ip)}/${n.bits}` };
}

/** The fewest CIDR blocks covering first..last. */
function rangeToCIDRs(first: bigint, last: bigint, len: number): string[] {
  const width = BigInt(len * 8);
  const out: string[] = [];
  let cur = first;
  while (cur <= last) {
    let size = 0n;
    while (size < width && (cur & ((1n << (size + 1n)) - 1n)) === 0n && cur + (1n << (size + 1n)) - 1n <= last) size++;
    out.push(`${ipString(fromBig(cur, len))}/${width - size}`);
    cur += 1n << size;
  }
  return out;
}

function merge(items: readonly Value[]): RSet {
  type R = { first: bigint; last: bigint; len: number; text: string | undefined };
  const ranges: R[] = items.map(mergeInput);
  // Sort by (family, last, first) as OPA sorts byte slices.
  ranges.sort((a, b) => a.len - b.len || (a.last < b.last ? -1 : a.last > b.last ? 1 : a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  for (let i = ranges.length - 1; i > 0; i--) {
    const cur = ranges[i]!;
    const prev = ranges[i - 1]!;
    if (cur.len === prev.len && cur.first - 1n <= prev.last) {
      ranges[i - 1] = { first: prev.first < cur.first ? prev.first : cur.first, last: cur.last, len: cur.len, text: undefined };
      ranges.splice(i, 1);
    }
  }
  const out = new RSet();
  for (const r of ranges) {
    if (r.text !== undefined) out.add(r.text);
    else for (const c of rangeToCIDRs(r.first, r.last, r.len)) out.add(c);
  }
  return out;
}

/** net.cidr_contains_matches operands: a string, or a collection of strings / [cidr, …] arrays, with their keys. */
function matchOperand(pos: number, v: Value): Array<[string, Value]> {
  const cidrOf = (e: Value): string => {
    if (typeof e === 'string') return e;
    if (Array.isArray(e) && e.length > 0 && typeof e[0] === 'string') return e[0];
    if (Array.isArray(e) && e.length > 0) throw typeError('net.cidr_contains_matches', pos, e[0]!, 'string');
    throw builtinError('net.cidr_contains_matches', `operand ${pos}: element must be string or non-empty array`);
  };
  if (typeof v === 'string') return [[v, v]];
  if (Array.isArray(v)) return v.map((e, i) => [cidrOf(e), num(i)]);
  if (v instanceof RSet) return [...v].map((e) => [cidrOf(e), e]);
  if (v instanceof RObject) return [...v].map(([k, e]) => [cidrOf(e), k]);
  return [];
}

export const netBuiltins: readonly BuiltinDef[] = [
  def('net.cidr_contains', ['string', 'string'], 'boolean', (args) =>
    cidrContains('net.cidr_contains', str('net.cidr_contains', args, 0), str('net.cidr_contains', args, 1)),
  ),
  def('net.cidr_contains_matches', ['string|array|set|object', 'string|array|set|object'], 'set', (args) => {
    const out = new RSet();
    for (const [c1, k1] of matchOperand(1, args[0]!)) {
      for (const [c2, k2] of matchOperand(2, args[1]!)) {
        if (cidrContains('net.cidr_contains_matches', c1, c2)) out.add([k1, k2]);
      }
    }
    return out;
  }),
  def('net.cidr_expand', ['string'], 'set', (args, ctx) => expand(str('net.cidr_expand', args, 0), ctx)),
  def('net.cidr_merge', ['array|set'], 'set', (args) => {
    const v = args[0]!;
    if (!Array.isArray(v) && !(v instanceof RSet)) throw builtinError('net.cidr_merge', 'operand must be an array');
    return merge([...v]);
  }),
  def('net.cidr_intersects', ['string', 'string'], 'boolean', (args) => {
    const a = cidrOperand('net.cidr_intersects', str('net.cidr_intersects', args, 0));
    const b = cidrOperand('net.cidr_intersects', str('net.cidr_intersects', args, 1));
    return contains(a, b.ip) || contains(b, a.ip);
  }),
  def('net.cidr_is_valid', ['any'], 'boolean', (args) => {
    const s = args[0]!;
    return typeof s === 'string' && parseCIDR(s) !== undefined;
  }),
];
