/**
 * A minimal DER reader for X.509: tag-length-value elements with their raw bytes, object
 * identifiers, integers as bigints, times and the ASN.1 string types Go's encoding/asn1 reads.
 * Every read is bounds-checked; malformed input throws X509Error.
 */

export class X509Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'X509Error';
  }
}

export interface Element {
  /** The identifier octet (class, constructed bit, tag number; high tag numbers are refused). */
  readonly tag: number;
  /** The whole element (header and content). */
  readonly raw: Buffer;
  readonly content: Buffer;
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8String: 0x0c,
  SEQUENCE: 0x30,
  SET: 0x31,
  PrintableString: 0x13,
  T61String: 0x14,
  IA5String: 0x16,
  UTCTime: 0x17,
  GeneralizedTime: 0x18,
  BMPString: 0x1e,
} as const;

/** Reads the element at `off` of `buf`; returns it and the offset after it. */
export function readElement(buf: Buffer, off: number, what = 'certificate'): [Element, number] {
  const malformed = (): never => {
    throw new X509Error(`x509: malformed ${what}`);
  };
  if (off + 2 > buf.length) malformed();
  const tag = buf[off]!;
  if ((tag & 0x1f) === 0x1f) malformed();
  let len = buf[off + 1]!;
  let header = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || off + 2 + n > buf.length) malformed();
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[off + 2 + i]!;
    header += n;
  }
  const end = off + header + len;
  if (end > buf.length) malformed();
  return [{ tag, raw: buf.subarray(off, end), content: buf.subarray(off + header, end) }, end];
}

/** The elements inside a constructed element's content. */
export function children(e: Element, what?: string): Element[] {
  const out: Element[] = [];
  let off = 0;
  while (off < e.content.length) {
    const [c, next] = readElement(e.content, off, what);
    out.push(c);
    off = next;
  }
  return out;
}

/** An element from a whole buffer, which must hold exactly one. */
export function parseOne(buf: Buffer, what?: string): Element {
  const [e, end] = readElement(buf, 0, what);
  if (end !== buf.length) throw new X509Error(`x509: trailing data`);
  return e;
}

export function oidArcs(e: Element): number[] {
  const b = e.content;
  const arcs: number[] = [];
  let v = 0;
  for (let i = 0; i < b.length; i++) {
    v = v * 128 + (b[i]! & 0x7f);
    if ((b[i]! & 0x80) === 0) {
      if (arcs.length === 0) {
        const first = v < 80 ? Math.floor(v / 40) : 2;
        arcs.push(first, v - first * 40);
      } else arcs.push(v);
      v = 0;
    }
  }
  return arcs;
}

export const oidString = (e: Element): string => oidArcs(e).join('.');

export function integer(e: Element): bigint {
  const b = e.content;
  if (b.length === 0) return 0n;
  let v = BigInt(`0x${b.toString('hex')}`);
  if (b[0]! & 0x80) v -= 1n << BigInt(b.length * 8);
  return v;
}

/** The bytes of a BIT STRING (the unused-bits count dropped) and that count. */
export function bitString(e: Element): { bytes: Buffer; unused: number } {
  if (e.content.length === 0) throw new X509Error('x509: malformed bit string');
  return { bytes: e.content.subarray(1), unused: e.content[0]! };
}

/** UTCTime or GeneralizedTime as Go's time.Time in JSON (RFC 3339, UTC). */
export function time(e: Element): string {
  const s = e.content.toString('latin1');
  let m: RegExpExecArray | null;
  if (e.tag === TAG.UTCTime) {
    m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s);
    if (m === null) throw new X509Error('x509: malformed UTCTime');
    const yy = Number(m[1]);
    const year = yy < 50 ? 2000 + yy : 1900 + yy;
    return `${year}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`;
  }
  m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.(\d+))?Z$/.exec(s);
  if (m === null) throw new X509Error('x509: malformed GeneralizedTime');
  const frac = m[7] !== undefined ? m[7].replace(/0+$/, '') : '';
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${frac !== '' ? `.${frac}` : ''}Z`;
}

/** An ASN.1 string as Go's encoding/asn1 decodes it into a string, or undefined for other types. */
export function asString(e: Element): string | undefined {
  switch (e.tag) {
    case TAG.UTF8String:
    case TAG.PrintableString:
    case TAG.IA5String:
    case 0x12: // NumericString
      return e.content.toString('utf8');
    case TAG.T61String:
      return e.content.toString('latin1');
    case TAG.BMPString: {
      if (e.content.length % 2 !== 0) throw new X509Error('x509: malformed BMPString');
      const b = Buffer.from(e.content);
      b.swap16();
      return b.toString('utf16le');
    }
    default:
      return undefined;
  }
}
