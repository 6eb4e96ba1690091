/**
 * A minimal reader for gzip-compressed tar archives (ustar, with the PAX and GNU long-name
 * extensions Go's archive/tar and GNU tar write), enough for OPA bundles. Written here rather
 * than taken from npm because a bundle needs only regular files and names, and a reader this
 * small is easier to bound (total size, entry count) than a general-purpose one.
 */
import { gunzipSync } from 'node:zlib';

export interface TarEntry {
  /** Path inside the archive, without a leading `./` or `/`. */
  readonly path: string;
  readonly data: Uint8Array;
}

export interface TarLimits {
  /** Largest uncompressed archive accepted (default 64 MiB): a guard against gzip bombs. */
  maxBytes?: number;
  /** Most regular files accepted (default 10 000). */
  maxEntries?: number;
}

export class TarFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarFormatError';
  }
}

export const DEFAULT_TAR_MAX_BYTES = 64 * 1024 * 1024;
const BLOCK = 512;

/** Gunzips (with the size bound) and reads the regular files of a tar archive. */
export function readTarGz(bytes: Uint8Array, limits: TarLimits = {}): TarEntry[] {
  const maxBytes = limits.maxBytes ?? DEFAULT_TAR_MAX_BYTES;
  let tar: Buffer;
  try {
    tar = gunzipSync(bytes, { maxOutputLength: maxBytes });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') throw new TarFormatError(`archive is larger than ${maxBytes} bytes uncompressed`);
    throw new TarFormatError(`not a gzip stream: ${(err as Error).message}`);
  }
  return readTar(tar, limits);
}

/** Reads the regular files of an uncompressed tar archive; directories, links and devices are skipped. */
export function readTar(tar: Uint8Array, limits: TarLimits = {}): TarEntry[] {
  const maxEntries = limits.maxEntries ?? 10_000;
  const out: TarEntry[] = [];
  let offset = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) break; // end-of-archive marker
    if (!checksumMatches(header)) throw new TarFormatError(`bad header checksum at byte ${offset}`);
    const size = readOctal(header, 124, 12);
    const type = String.fromCharCode(header[156]!);
    const start = offset + BLOCK;
    const end = start + size;
    if (end > tar.length) throw new TarFormatError(`entry at byte ${offset} runs past the end of the archive`);
    const body = tar.subarray(start, end);
    offset = start + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      longName = cString(body);
      continue;
    }
    if (type === 'x') {
      paxPath = paxRecords(body).get('path') ?? paxPath;
      continue;
    }
    if (type === 'g') continue;
    let name = paxPath ?? longName ?? headerName(header);
    longName = undefined;
    paxPath = undefined;
    if (type !== '0' && type !== '\0' && type !== '7') continue;
    name = name.replace(/^(\.\/|\/)+/, '');
    if (name === '' || name.split('/').includes('..')) throw new TarFormatError(`unsafe path in archive: ${JSON.stringify(name)}`);
    if (out.length >= maxEntries) throw new TarFormatError(`archive has more than ${maxEntries} files`);
    out.push({ path: name, data: body });
  }
  return out;
}

function headerName(h: Uint8Array): string {
  const name = cString(h.subarray(0, 100));
  const magic = cString(h.subarray(257, 263));
  const prefix = magic === 'ustar' ? cString(h.subarray(345, 500)) : '';
  return prefix === '' ? name : `${prefix}/${name}`;
}

function cString(b: Uint8Array): string {
  const nul = b.indexOf(0);
  return Buffer.from(nul < 0 ? b : b.subarray(0, nul)).toString('utf8');
}

function readOctal(h: Uint8Array, at: number, len: number): number {
  // GNU base-256 encoding for sizes past 8 GiB: far beyond any bundle we accept.
  if ((h[at]! & 0x80) !== 0) throw new TarFormatError('entry size in base-256 encoding is not supported');
  const text = cString(h.subarray(at, at + len)).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError(`bad octal field ${JSON.stringify(text)}`);
  return parseInt(text, 8);
}

function checksumMatches(h: Uint8Array): boolean {
  const stored = readOctal(h, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return sum === stored;
}

/** PAX records: `<len> <key>=<value>\n`, len counting the record's bytes. */
function paxRecords(body: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  const buf = Buffer.from(body);
  let i = 0;
  while (i < buf.length) {
    const space = buf.indexOf(0x20, i);
    if (space < 0) break;
    const len = Number(buf.subarray(i, space).toString('ascii'));
    if (!Number.isInteger(len) || len <= 0 || i + len > buf.length) break;
    const record = buf.subarray(space + 1, i + len).toString('utf8').replace(/\n$/, '');
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    i += len;
  }
  return out;
}
