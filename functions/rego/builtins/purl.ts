/**
 * purl.is_valid and purl.parse: Package URLs (github.com/package-url/purl-spec) read as OPA
 * reads them, through Go's net/url and packageurl-go v0.1.3: the same normalisation (type
 * and some namespaces/names lower-cased, empty qualifiers dropped, sorted keys), the same
 * checks and error texts. purl.parse answers OPA's object: `type` and `name`, and
 * `namespace`, `version`, `subpath`, `qualifiers` only when present.
 */
import { RObject } from '../value.js';
import { goQuote } from './gofmt.js';
import { builtinError, def, str } from './operands.js';
import type { BuiltinDef } from './types.js';

class PurlError extends Error {}

export interface PackageURL {
  type: string;
  namespace: string;
  name: string;
  version: string;
  qualifiers: Array<[string, string]>;
  subpath: string;
}

/** Go's url.PathUnescape / QueryUnescape (which also reads '+' as a space). */
function unescape(s: string, query: boolean): string {
  const bytes: number[] = [];
  const raw = Buffer.from(s, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (b === 0x25) {
      const hex = raw.subarray(i + 1, i + 3).toString('latin1');
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) {
        const bad = raw.subarray(i, Math.min(i + 3, raw.length)).toString('utf8');
        throw new PurlError(`invalid URL escape ${goQuote(bad)}`);
      }
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(query && b === 0x2b ? 0x20 : b);
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Go's path.Join(a, b) for the `pkg://…` and `pkg:/…` spellings: cleaned, slashes collapsed. */
function joinClean(a: string, b: string): string {
  const parts: string[] = [];
  for (const seg of `${a}/${b}`.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop();
      else if (!`${a}/${b}`.startsWith('/')) parts.push('..');
      continue;
    }
    parts.push(seg);
  }
  return parts.join('/');
}

const LOWER_NAMESPACE = new Set(['alpm', 'apk', 'bitbucket', 'composer', 'deb', 'github', 'golang', 'npm', 'rpm', 'qpkg']);
const LOWER_NAME = new Set(['alpm', 'apk', 'bitbucket', 'bitnami', 'composer', 'deb', 'github', 'golang', 'npm']);
const QUALIFIER_KEY = /^[A-Za-z.\-_][0-9A-Za-z.\-_]*$/;
const TYPE = /^[A-Za-z.\-+][0-9A-Za-z.\-+]*$/;

function parseQualifiers(rawQuery: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const item of rawQuery === '' ? [] : rawQuery.split('&')) {
    if (item.includes(';')) throw new PurlError('invalid qualifiers: invalid semicolon separator in query');
    if (item === '') continue;
    const eq = item.indexOf('=');
    const rawKey = eq < 0 ? item : item.slice(0, eq);
    const rawValue = eq < 0 ? '' : item.slice(eq + 1);
    let key: string;
    try {
      key = unescape(rawKey, true);
    } catch {
      throw new PurlError(`invalid qualifiers: error unescaping qualifier key ${goQuote(rawKey)}`);
    }
    if (!QUALIFIER_KEY.test(key)) throw new PurlError(`invalid qualifiers: invalid qualifier key: '${key}'`);
    let value: string;
    try {
      value = unescape(rawValue, true);
    } catch {
      throw new PurlError(`invalid qualifiers: error unescaping qualifier value ${goQuote(rawValue)}`);
    }
    out.push([key.toLowerCase(), value]);
  }
  return out;
}

/** packageurl.FromString. */
export function parsePurl(purl: string): PackageURL {
  // net/url: the scheme, then the fragment and the query split off.
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(purl);
  if (/[\x00-\x1f\x7f]/.test(purl)) throw new PurlError(`failed to parse as URL: parse ${goQuote(purl)}: net/url: invalid control character in URL`);
  if (scheme === null || scheme[1]!.toLowerCase() !== 'pkg') throw new PurlError(`purl scheme is not "pkg": ${goQuote(scheme?.[1]?.toLowerCase() ?? '')}`);
  let rest = purl.slice(scheme[0].length);
  let fragment = '';
  const hash = rest.indexOf('#');
  if (hash >= 0) {
    try {
      fragment = unescape(rest.slice(hash + 1), false);
    } catch (err) {
      throw new PurlError(`failed to parse as URL: parse ${goQuote(purl)}: ${(err as Error).message}`);
    }
    rest = rest.slice(0, hash);
  }
  let rawQuery = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    rawQuery = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  let p = rest;
  if (rest.startsWith('/')) {
    // Not opaque: //host/path or /path, the path unescaped, then path.Join(host, path).
    let host = '';
    let path = rest;
    if (rest.startsWith('//')) {
      const slash = rest.indexOf('/', 2);
      host = slash < 0 ? rest.slice(2) : rest.slice(2, slash);
      path = slash < 0 ? '' : rest.slice(slash);
    }
    try {
      path = unescape(path, false);
    } catch (err) {
      throw new PurlError(`failed to parse as URL: parse ${goQuote(purl)}: ${(err as Error).message}`);
    }
    p = joinClean(host, path);
  }
  const slash = p.indexOf('/');
  if (slash < 0) throw new PurlError('purl is missing type or name');
  const type = p.slice(0, slash).toLowerCase();
  let remainder = p.slice(slash + 1);
  const qualifiers = parseQualifiers(rawQuery);

  let namespace = '';
  const nsSep = remainder.lastIndexOf('/');
  if (nsSep >= 0) {
    try {
      namespace = unescape(remainder.slice(0, nsSep), false);
    } catch (err) {
      throw new PurlError(`error unescaping namespace: ${(err as Error).message}`);
    }
    remainder = remainder.slice(nsSep + 1);
  }
  let version = '';
  const at = remainder.lastIndexOf('@');
  if (at >= 0) {
    try {
      version = unescape(remainder.slice(at + 1), false);
    } catch (err) {
      throw new PurlError(`error unescaping version: ${(err as Error).message}`);
    }
    remainder = remainder.slice(0, at);
  }
  let name: string;
  try {
    name = unescape(remainder, false);
  } catch (err) {
    throw new PurlError(`error unescaping name: ${(err as Error).message}`);
  }
  if (name === '') throw new PurlError('purl is missing name');
  return normalize({ type, namespace, name, version, qualifiers, subpath: fragment });
}

/** PackageURL.Normalize. */
function normalize(p: PackageURL): PackageURL {
  const type = p.type.toLowerCase();
  if (!TYPE.test(type)) throw new PurlError(`invalid type ${goQuote(type)}`);
  const namespace = p.namespace.replace(/^\/+|\/+$/g, '');
  const qualifiers: Array<[string, string]> = [];
  for (const [k, v] of p.qualifiers) {
    if (k === '') throw new PurlError('invalid qualifiers: key is missing from qualifier');
    if (v === '') continue;
    const key = k.toLowerCase();
    if (!QUALIFIER_KEY.test(key)) throw new PurlError(`invalid qualifiers: invalid qualifier key: ${goQuote(key)}`);
    qualifiers.push([key, v]);
  }
  qualifiers.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (let i = 1; i < qualifiers.length; i++) {
    if (qualifiers[i - 1]![0] === qualifiers[i]![0]) throw new PurlError(`invalid qualifiers: duplicate qualifier key: ${goQuote(qualifiers[i]![0])}`);
  }
  const segs = p.subpath.split('/');
  segs.forEach((s, i) => {
    if ((s === '.' || s === '..') && i !== 0) throw new PurlError(`invalid Package URL subpath: ${goQuote(p.subpath)}`);
  });
  const quals = new Map(qualifiers);
  let name = p.name;
  if (LOWER_NAME.has(type)) name = name.toLowerCase();
  else if (type === 'pypi') name = name.replaceAll('_', '-').toLowerCase();
  else if (type === 'mlflow' && (quals.get('repository_url') ?? '').includes('databricks')) name = name.toLowerCase();
  const out: PackageURL = {
    type,
    namespace: LOWER_NAMESPACE.has(type) ? namespace.toLowerCase() : namespace,
    name,
    version: type === 'huggingface' ? p.version.toLowerCase() : p.version,
    qualifiers,
    subpath: p.subpath.replace(/^\/+|\/+$/g, ''),
  };
  if (type === 'conan') {
    const channel = quals.get('channel');
    if (out.namespace !== '' && channel === undefined) throw new PurlError('channel qualifier does not exist');
    if (out.namespace === '' && channel !== undefined) throw new PurlError('namespace is required if channel is non empty');
  } else if (type === 'swift') {
    if (out.namespace === '') throw new PurlError('namespace is required');
    if (out.version === '') throw new PurlError('version is required');
  } else if (type === 'cran' && out.version === '') throw new PurlError('version is required');
  return out;
}

export const purlBuiltins: readonly BuiltinDef[] = [
  def('purl.is_valid', ['any'], 'boolean', (args) => {
    const s = args[0];
    if (typeof s !== 'string') return false;
    try {
      parsePurl(s);
      return true;
    } catch (err) {
      if (err instanceof PurlError) return false;
      throw err;
    }
  }),
  def('purl.parse', ['string'], 'object', (args) => {
    const s = str('purl.parse', args, 0);
    let p: PackageURL;
    try {
      p = parsePurl(s);
    } catch (err) {
      if (err instanceof PurlError) throw builtinError('purl.parse', `invalid PURL ${goQuote(s)}: ${err.message}`);
      throw err;
    }
    const out = new RObject();
    out.set('type', p.type);
    out.set('name', p.name);
    if (p.namespace !== '') out.set('namespace', p.namespace);
    if (p.version !== '') out.set('version', p.version);
    if (p.subpath !== '') out.set('subpath', p.subpath);
    if (p.qualifiers.length > 0) {
      const q = new RObject();
      for (const [k, v] of p.qualifiers) q.set(k, v);
      out.set('qualifiers', q);
    }
    return out;
  }),
];
