/**
 * Recognises every spelling of an IP address that a URL parser, `inet_aton` or a
 * DNS answer may hand us, and normalises it to one canonical string, so that the
 * SSRF check judges the address that will actually be connected to.
 *
 * IPv4 follows the WHATWG URL "IPv4 parser" (which mirrors `inet_aton`): 1–4 parts,
 * each decimal, octal (leading 0) or hex (0x); the last part fills the remaining
 * bytes (`127.1` → 127.0.0.1, `2130706433` → 127.0.0.1). IPv6 follows RFC 4291 text
 * form (`::`, an embedded dotted quad at the end), optionally in brackets and with a
 * zone id (`fe80::1%eth0`, `%25eth0` inside a URL), which is dropped.
 *
 * Hand-written scanners, no regular expressions: this runs on the request path.
 */

/** An IP address in numeric form: IPv4 as an unsigned 32-bit number, IPv6 as eight 16-bit groups. */
export type ParsedIp = { family: 4; v4: number } | { family: 6; groups: number[] };

export interface IpLiteral {
  address: string;
  family: 4 | 6;
}

export function parseIpLiteral(host: string): IpLiteral | undefined {
  const ip = parseIp(host);
  return ip === undefined ? undefined : { address: formatIp(ip), family: ip.family };
}

/** Parses a host that is an IP literal in any spelling; undefined for anything else (a DNS name). */
export function parseIp(host: string): ParsedIp | undefined {
  if (host.length === 0 || host.length > 300) return undefined;
  let text = host;
  if (text.charCodeAt(0) === 0x5b /* [ */) {
    if (text.charCodeAt(text.length - 1) !== 0x5d /* ] */) return undefined;
    text = text.slice(1, -1);
    const groups = parseIPv6(stripZone(text));
    return groups === undefined ? undefined : { family: 6, groups };
  }
  if (text.includes(':')) {
    const groups = parseIPv6(stripZone(text));
    return groups === undefined ? undefined : { family: 6, groups };
  }
  const v4 = parseIPv4(text);
  return v4 === undefined ? undefined : { family: 4, v4 };
}

export function formatIp(ip: ParsedIp): string {
  return ip.family === 4 ? formatIPv4(ip.v4) : formatIPv6(ip.groups);
}

export function formatIPv4(v4: number): string {
  return `${v4 >>> 24}.${(v4 >>> 16) & 0xff}.${(v4 >>> 8) & 0xff}.${v4 & 0xff}`;
}

/**
 * RFC 5952 text: lower case, no leading zeros, the longest run (≥ 2) of zero groups
 * shortened to `::`; IPv4-mapped addresses keep their dotted quad (`::ffff:127.0.0.1`).
 */
export function formatIPv6(groups: number[]): string {
  const g = (i: number) => groups[i] ?? 0;
  if (g(0) === 0 && g(1) === 0 && g(2) === 0 && g(3) === 0 && g(4) === 0 && g(5) === 0xffff) {
    return `::ffff:${formatIPv4(((g(6) << 16) | g(7)) >>> 0)}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g(i) !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g(j) === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.map((x) => x.toString(16)).join(':');
  const head = groups.slice(0, bestStart).map((x) => x.toString(16)).join(':');
  const tail = groups.slice(bestStart + bestLen).map((x) => x.toString(16)).join(':');
  return `${head}::${tail}`;
}

function stripZone(text: string): string {
  const pct = text.indexOf('%');
  if (pct < 0) return text;
  // The zone id (`eth0`, or `25eth0` when a URL encoded the `%`) only picks an interface;
  // it must be non-empty and does not change the address.
  return pct + 1 < text.length ? text.slice(0, pct) : '';
}

/** 0–9 → 0–9, a–f/A–F → 10–15, anything else → -1. */
function digitValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

function parseIPv4(text: string): number | undefined {
  const parts = text.split('.');
  // A single trailing dot is allowed (`127.0.0.1.`), as in a fully qualified name.
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  if (parts.length > 4) return undefined;
  const numbers: number[] = [];
  for (const part of parts) {
    const n = parseIPv4Number(part);
    if (n === undefined) return undefined;
    numbers.push(n);
  }
  const last = numbers.length - 1;
  let value = 0;
  for (let i = 0; i < last; i++) {
    const n = numbers[i] as number;
    if (n > 255) return undefined;
    value += n * 256 ** (3 - i);
  }
  const tail = numbers[last] as number;
  if (tail >= 256 ** (4 - last)) return undefined;
  return (value + tail) >>> 0;
}

/** One IPv4 part: `0x…` hex (a bare `0x` is 0, as in WHATWG), `0…` octal, else decimal. */
function parseIPv4Number(part: string): number | undefined {
  if (part.length === 0) return undefined;
  let radix = 10;
  let i = 0;
  if (part.length >= 2 && part.charCodeAt(0) === 0x30) {
    if ((part.charCodeAt(1) | 0x20) === 0x78) {
      radix = 16;
      i = 2;
    } else {
      radix = 8;
      i = 1;
    }
  }
  let value = 0;
  for (; i < part.length; i++) {
    const d = digitValue(part.charCodeAt(i));
    if (d < 0 || d >= radix) return undefined;
    value = value * radix + d;
    // Stop early: anything above 2^32 is invalid whatever follows, and this keeps the
    // arithmetic exact for arbitrarily long inputs.
    if (value > 0xffffffff) return undefined;
  }
  return value;
}

/** RFC 4291 §2.2 text form into eight groups; undefined when malformed. */
function parseIPv6(text: string): number[] | undefined {
  if (text.length < 2) return undefined;
  const groups: number[] = [0, 0, 0, 0, 0, 0, 0, 0];
  let piece = 0;
  let compress = -1;
  let i = 0;
  const len = text.length;
  if (text.charCodeAt(0) === 0x3a /* : */) {
    if (text.charCodeAt(1) !== 0x3a) return undefined;
    i = 2;
    compress = 0;
    if (i === len) return groups; // "::"
  }
  while (i < len) {
    if (piece === 8) return undefined;
    if (text.charCodeAt(i) === 0x3a) {
      if (compress >= 0) return undefined; // a second "::"
      i++;
      compress = piece;
      if (i === len) break; // trailing "::"
      continue;
    }
    let value = 0;
    let digits = 0;
    const start = i;
    while (digits < 4 && i < len) {
      const d = digitValue(text.charCodeAt(i));
      if (d < 0) break;
      value = value * 16 + d;
      digits++;
      i++;
    }
    if (i < len && text.charCodeAt(i) === 0x2e /* . */) {
      // An embedded dotted quad, only as the last 32 bits.
      if (piece > 6) return undefined;
      const v4 = parseEmbeddedIPv4(text.slice(start));
      if (v4 === undefined) return undefined;
      groups[piece++] = v4 >>> 16;
      groups[piece++] = v4 & 0xffff;
      i = len;
      break;
    }
    if (digits === 0) return undefined;
    groups[piece++] = value;
    if (i === len) break;
    if (text.charCodeAt(i) !== 0x3a) return undefined;
    i++;
    if (i === len) return undefined; // a single trailing ":"
  }
  if (compress >= 0) {
    if (piece === 8) return undefined; // "::" must stand for at least one zero group
    // Shift the pieces after "::" to the end, filling the gap with zeros.
    let swaps = piece - compress;
    let to = 7;
    while (to !== 0 && swaps > 0) {
      const from = compress + swaps - 1;
      const moved = groups[from] as number;
      groups[from] = groups[to] as number;
      groups[to] = moved;
      to--;
      swaps--;
    }
  } else if (piece !== 8) {
    return undefined;
  }
  return groups;
}

/** The dotted quad inside IPv6 text: exactly four decimal parts 0–255, no leading zeros (as inet_pton). */
function parseEmbeddedIPv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (part.length === 0 || part.length > 3 || (part.length > 1 && part.charCodeAt(0) === 0x30)) return undefined;
    let n = 0;
    for (let i = 0; i < part.length; i++) {
      const c = part.charCodeAt(i) - 0x30;
      if (c < 0 || c > 9) return undefined;
      n = n * 10 + c;
    }
    if (n > 255) return undefined;
    value = value * 256 + n;
  }
  return value >>> 0;
}
