/** net.cidr_contains / cidr_intersects / cidr_is_valid with Go's net.ParseIP / ParseCIDR rules. */
import { builtinError, def, str } from './operands.js';
import type { BuiltinDef } from './types.js';

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

export const netBuiltins: readonly BuiltinDef[] = [
  def('net.cidr_contains', ['string', 'string'], 'boolean', (args) => {
    const network = cidrOperand('net.cidr_contains', str('net.cidr_contains', args, 0));
    const other = str('net.cidr_contains', args, 1);
    const ip = parseIP(other);
    if (ip) return contains(network, ip);
    const sub = cidrOperand('net.cidr_contains', other);
    return contains(network, sub.ip) && contains(network, lastIP(sub));
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
