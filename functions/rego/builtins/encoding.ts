/** base64, base64url, hex and urlquery builtins with Go's strict decoders. */
import { RObject, RSet, compareStrings } from '../value.js';
import { builtinError, def, elementError, object, str, typeError } from './operands.js';
import type { BuiltinDef } from './types.js';

const STD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export class CorruptInput extends Error {
  constructor(
    readonly offset: number,
    message = `illegal base64 data at input byte ${offset}`,
  ) {
    super(message);
  }
}

/** Go's base64.Encoding.DecodeString with padding required (newlines ignored), as bytes. */
function decodeBase64(s: string, alphabet: string): Uint8Array {
  const out: number[] = [];
  const quantum: number[] = [];
  let i = 0;
  let padSeen = false;
  let quantumStart = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (padSeen) throw new CorruptInput(i);
    if (c === '=') {
      // Padding completes a quantum of 2 or 3 characters.
      const have = quantum.length;
      if (have < 2) throw new CorruptInput(i);
      const needed = 4 - have;
      let j = i;
      let count = 0;
      while (count < needed) {
        while (s[j] === '\n' || s[j] === '\r') j++;
        if (s[j] !== '=') throw new CorruptInput(j >= s.length ? s.length : j);
        count++;
        j++;
      }
      while (s[j] === '\n' || s[j] === '\r') j++;
      if (j < s.length) throw new CorruptInput(j);
      flush(quantum, out);
      quantum.length = 0;
      padSeen = true;
      i = j;
      continue;
    }
    const v = alphabet.indexOf(c);
    if (v < 0) throw new CorruptInput(i);
    if (quantum.length === 0) quantumStart = i;
    quantum.push(v);
    if (quantum.length === 4) {
      flush(quantum, out);
      quantum.length = 0;
    }
    i++;
  }
  // An unpadded final quantum: Go reports the offset where it began.
  if (quantum.length > 0) throw new CorruptInput(quantumStart);
  return Uint8Array.from(out);
}

/** Go's base64.StdEncoding.DecodeString, as bytes. Throws CorruptInput. */
export function decodeBase64Std(s: string): Uint8Array {
  return decodeBase64(s, STD);
}

function flush(q: readonly number[], out: number[]): void {
  const n = (q[0]! << 18) | ((q[1] ?? 0) << 12) | ((q[2] ?? 0) << 6) | (q[3] ?? 0);
  out.push((n >> 16) & 0xff);
  if (q.length >= 3) out.push((n >> 8) & 0xff);
  if (q.length >= 4) out.push(n & 0xff);
}

/**
 * OPA's base64url.decode as bytes: padding some encoders omit is restored (RFC 7515
 * appendix C) before Go's strict URL-alphabet decoder runs. Throws CorruptInput.
 */
export function decodeBase64Url(input: string): Uint8Array {
  let s = input;
  if (!s.endsWith('=')) {
    const r = s.length % 4;
    if (r === 2) s += '==';
    else if (r === 3) s += '=';
    else if (r === 1) throw new CorruptInput(-1, `illegal base64url string: ${s}`);
  }
  return decodeBase64(s, URL);
}

const utf8 = new TextDecoder('utf-8');

function bytesToString(b: Uint8Array): string {
  // Invalid UTF-8 becomes U+FFFD (Go strings may hold arbitrary bytes; ours cannot).
  return utf8.decode(b);
}

function encode(s: string, url: boolean, pad: boolean): string {
  let out = Buffer.from(s, 'utf8').toString(url ? 'base64url' : 'base64');
  if (url && pad) while (out.length % 4 !== 0) out += '=';
  return out;
}

/** Go's url.QueryEscape. */
function queryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Go's url.QueryUnescape. */
function queryUnescape(name: string, s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '%') {
      const h = s.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(h)) {
        throw builtinError(name, `invalid URL escape ${JSON.stringify(s.slice(i, Math.min(i + 3, s.length)))}`);
      }
      bytes.push(parseInt(h, 16));
      i += 2;
    } else if (c === '+') {
      bytes.push(0x20);
    } else {
      for (const b of Buffer.from(c, 'utf8')) bytes.push(b);
    }
  }
  return bytesToString(Uint8Array.from(bytes));
}

function decodeObject(s: string): RObject {
  const pairs = new Map<string, string[]>();
  for (const part of s.split(/&/)) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = queryUnescape('urlquery.decode_object', eq < 0 ? part : part.slice(0, eq));
    const v = eq < 0 ? '' : queryUnescape('urlquery.decode_object', part.slice(eq + 1));
    const list = pairs.get(k) ?? [];
    list.push(v);
    pairs.set(k, list);
  }
  const out = new RObject();
  for (const [k, vs] of pairs) out.set(k, vs);
  return out;
}

function encodeObject(o: RObject): string {
  const parts: Array<[string, string]> = [];
  for (const [k, v] of o) {
    if (typeof k !== 'string') throw typeError('urlquery.encode_object', 1, k, 'string');
    if (typeof v === 'string') parts.push([k, v]);
    else if (Array.isArray(v) || v instanceof RSet) {
      const items = Array.isArray(v) ? v : [...v.sorted()];
      for (const e of items) {
        if (typeof e !== 'string') throw elementError('urlquery.encode_object', 1, v, e, 'string');
        parts.push([k, e]);
      }
    } else {
      throw typeError('urlquery.encode_object', 1, v, 'string', 'array', 'set');
    }
  }
  // url.Values.Encode sorts by key, keeping each key's values in order.
  const keys = [...new Set(parts.map((p) => p[0]))].sort(compareStrings);
  return keys
    .flatMap((k) => parts.filter((p) => p[0] === k).map((p) => `${queryEscape(k)}=${queryEscape(p[1])}`))
    .join('&');
}

export const encodingBuiltins: readonly BuiltinDef[] = [
  def('base64.encode', ['string'], 'string', (args) => encode(str('base64.encode', args, 0), false, true)),
  def('base64.decode', ['string'], 'string', (args) => {
    try {
      return bytesToString(decodeBase64(str('base64.decode', args, 0), STD));
    } catch (e) {
      if (e instanceof CorruptInput) throw builtinError('base64.decode', e.message);
      throw e;
    }
  }),
  def('base64.is_valid', ['string'], 'boolean', (args) => {
    try {
      decodeBase64(str('base64.is_valid', args, 0), STD);
      return true;
    } catch (e) {
      if (e instanceof CorruptInput) return false;
      throw e;
    }
  }),
  def('base64url.encode', ['string'], 'string', (args) => encode(str('base64url.encode', args, 0), true, true)),
  def('base64url.encode_no_pad', ['string'], 'string', (args) => encode(str('base64url.encode_no_pad', args, 0), true, false)),
  def('base64url.decode', ['string'], 'string', (args) => {
    try {
      return bytesToString(decodeBase64Url(str('base64url.decode', args, 0)));
    } catch (e) {
      if (e instanceof CorruptInput) throw builtinError('base64url.decode', e.message);
      throw e;
    }
  }),
  def('hex.encode', ['string'], 'string', (args) => Buffer.from(str('hex.encode', args, 0), 'utf8').toString('hex')),
  def('hex.decode', ['string'], 'string', (args) => {
    const s = str('hex.decode', args, 0);
    for (let i = 0; i < s.length; i++) {
      if (!/[0-9a-fA-F]/.test(s[i]!)) {
        const cp = s.codePointAt(i)!;
        throw builtinError('hex.decode', `encoding/hex: invalid byte: U+${cp.toString(16).toUpperCase().padStart(4, '0')} ${quoteRune(cp)}`);
      }
    }
    if (s.length % 2 === 1) throw builtinError('hex.decode', 'encoding/hex: odd length hex string');
    return bytesToString(Uint8Array.from(Buffer.from(s, 'hex')));
  }),
  def('urlquery.encode', ['string'], 'string', (args) => queryEscape(str('urlquery.encode', args, 0))),
  def('urlquery.decode', ['string'], 'string', (args) => queryUnescape('urlquery.decode', str('urlquery.decode', args, 0))),
  def('urlquery.encode_object', ['object'], 'string', (args) => encodeObject(object('urlquery.encode_object', args, 0))),
  def('urlquery.decode_object', ['string'], 'object', (args) => decodeObject(str('urlquery.decode_object', args, 0))),
];

function quoteRune(cp: number): string {
  const ch = String.fromCodePoint(cp);
  if (ch === "'") return "'\\''";
  if (cp < 0x20) return `'\\x${cp.toString(16).padStart(2, '0')}'`;
  return `'${ch}'`;
}

