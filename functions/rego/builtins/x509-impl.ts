/**
 * The certificate and key parsing behind crypto.x509.* and crypto.parse_private_keys, loaded
 * on first use (lazy.ts, through x509-entry.ts), like graphql-impl.ts: erasable TypeScript, `.ts` imports, pre-built
 * beside the deployed bundle as `rego-x509.mjs`.
 *
 * Results are Go's structs as OPA's json.Marshal shows them: x509.Certificate,
 * x509.CertificateRequest, tls.Certificate, rsa/ecdsa/ed25519 private keys. []byte fields are
 * base64 strings, nil slices null, big integers bigints (the caller makes them Rego numbers),
 * enums Go's numbers. Chains are verified with node:crypto as Go's Certificate.Verify does
 * for the checks listed in docs/rego-builtins.md.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { asString, bitString, children, integer, oidArcs, oidString, parseOne, readElement, TAG, time, X509Error, type Element } from './x509-der.ts';
import { ipString } from './ip-string.ts';

export { X509Error } from './x509-der.ts';

export type Json = null | boolean | number | bigint | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const b64 = (b: Buffer | undefined): Json => (b === undefined ? null : b.toString('base64'));
const orNull = <T extends Json>(l: T[]): Json => (l.length > 0 ? l : null);

// ---- PEM ----

export interface PemBlock {
  readonly type: string;
  readonly bytes: Buffer;
}

/** Go's pem.Decode, repeatedly: every well-formed block in order (headers skipped). */
export function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  const re = /-----BEGIN ([^\r\n-]*)-----\r?\n([\s\S]*?)-----END \1-----/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    let body = m[2]!;
    // RFC 1421 headers end with a blank line.
    const blank = /\r?\n\r?\n/.exec(body);
    if (blank !== null && body.slice(0, blank.index).includes(':')) body = body.slice(blank.index + blank[0].length);
    const clean = body.replace(/[\r\n\t ]/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 !== 0) continue;
    out.push({ type: m[1]!, bytes: Buffer.from(clean, 'base64') });
  }
  return out;
}

// ---- names, algorithms ----

const NAME_FIELDS: Record<string, string> = {
  '2.5.4.6': 'Country',
  '2.5.4.10': 'Organization',
  '2.5.4.11': 'OrganizationalUnit',
  '2.5.4.7': 'Locality',
  '2.5.4.8': 'Province',
  '2.5.4.9': 'StreetAddress',
  '2.5.4.17': 'PostalCode',
};

/** Go's pkix.Name filled from an RDNSequence. */
function name(e: Element): Obj {
  const lists: Record<string, string[]> = {};
  const names: Json[] = [];
  let serial = '';
  let common = '';
  for (const rdn of children(e)) {
    for (const atv of children(rdn)) {
      const [type, value] = children(atv);
      if (type === undefined || value === undefined) throw new X509Error('x509: invalid RDNSequence: invalid attribute');
      const oid = oidString(type);
      const s = asString(value);
      names.push({ Type: oidArcs(type), Value: s ?? (value.tag === TAG.INTEGER ? integer(value) : null) });
      if (s === undefined) continue;
      if (oid === '2.5.4.3') common = s;
      else if (oid === '2.5.4.5') serial = s;
      else if (NAME_FIELDS[oid] !== undefined) (lists[NAME_FIELDS[oid]] ??= []).push(s);
    }
  }
  const out: Obj = {};
  for (const f of ['Country', 'Organization', 'OrganizationalUnit', 'Locality', 'Province', 'StreetAddress', 'PostalCode']) out[f] = lists[f] ?? null;
  out.SerialNumber = serial;
  out.CommonName = common;
  out.Names = orNull(names);
  out.ExtraNames = null;
  return out;
}

const SIGNATURE_ALGORITHMS: Record<string, number> = {
  '1.2.840.113549.1.1.2': 1, // MD2WithRSA
  '1.2.840.113549.1.1.4': 2, // MD5WithRSA
  '1.2.840.113549.1.1.5': 3, // SHA1WithRSA
  '1.3.14.3.2.29': 3,
  '1.2.840.113549.1.1.11': 4, // SHA256WithRSA
  '1.2.840.113549.1.1.12': 5,
  '1.2.840.113549.1.1.13': 6,
  '1.2.840.10040.4.3': 7, // DSAWithSHA1
  '2.16.840.1.101.3.4.3.2': 8,
  '1.2.840.10045.4.1': 9, // ECDSAWithSHA1
  '1.2.840.10045.4.3.2': 10,
  '1.2.840.10045.4.3.3': 11,
  '1.2.840.10045.4.3.4': 12,
  '1.3.101.112': 16, // PureEd25519
};
const PSS_BY_HASH: Record<string, number> = { '2.16.840.1.101.3.4.2.1': 13, '2.16.840.1.101.3.4.2.2': 14, '2.16.840.1.101.3.4.2.3': 15 };
const INSECURE = new Set([1, 2, 3, 9]);

function signatureAlgorithm(algId: Element): number {
  const [oid, params] = children(algId);
  if (oid === undefined) return 0;
  const s = oidString(oid);
  if (s !== '1.2.840.113549.1.1.10') return SIGNATURE_ALGORITHMS[s] ?? 0;
  // RSASSA-PSS: the hash is in the parameters ([0] hashAlgorithm).
  if (params === undefined || params.tag !== TAG.SEQUENCE) return 0;
  const hashParam = children(params).find((c) => c.tag === 0xa0);
  const hashOid = hashParam !== undefined ? children(children(hashParam)[0]!)[0] : undefined;
  return hashOid !== undefined ? (PSS_BY_HASH[oidString(hashOid)] ?? 0) : 0;
}

const CURVES: Record<string, number> = { '1.2.840.10045.3.1.7': 32, '1.3.132.0.34': 48, '1.3.132.0.35': 66, '1.3.132.0.33': 28 };

/** PublicKeyAlgorithm and PublicKey of a SubjectPublicKeyInfo, as Go's json shows them. */
function publicKey(spki: Element): [number, Json] {
  const [algId, keyBits] = children(spki);
  if (algId === undefined || keyBits === undefined) throw new X509Error('x509: malformed spki');
  const [oid, params] = children(algId);
  const key = bitString(keyBits).bytes;
  switch (oid !== undefined ? oidString(oid) : '') {
    case '1.2.840.113549.1.1.1': {
      const [n, e] = children(parseOne(key, 'RSA public key'));
      if (n === undefined || e === undefined) throw new X509Error('x509: invalid RSA public key');
      return [1, { N: integer(n), E: Number(integer(e)) }];
    }
    case '1.2.840.10040.4.1': {
      const [p, q, g] = params !== undefined ? children(params) : [];
      return [2, { Parameters: { P: p ? integer(p) : null, Q: q ? integer(q) : null, G: g ? integer(g) : null }, Y: integer(parseOne(key)) }];
    }
    case '1.2.840.10045.2.1': {
      const size = params !== undefined && params.tag === TAG.OID ? CURVES[oidString(params)] : undefined;
      if (size === undefined || key[0] !== 4 || key.length !== 1 + 2 * size) throw new X509Error('x509: unsupported elliptic curve');
      const x = BigInt(`0x${key.subarray(1, 1 + size).toString('hex')}`);
      const y = BigInt(`0x${key.subarray(1 + size).toString('hex')}`);
      return [3, { Curve: {}, X: x, Y: y }];
    }
    case '1.3.101.112':
      return [4, key.toString('base64')];
    default:
      return [0, null];
  }
}

// ---- general names, IPs, URLs ----

/** Go's *url.URL as json.Marshal shows it (url.Parse of a SAN URI). */
function urlObject(s: string): Obj {
  const u: Obj = { Scheme: '', Opaque: '', User: null, Host: '', Path: '', RawPath: '', OmitHost: false, ForceQuery: false, RawQuery: '', Fragment: '', RawFragment: '' };
  let rest = s;
  const hash = rest.indexOf('#');
  if (hash >= 0) {
    u.Fragment = decodeURIComponentSafe(rest.slice(hash + 1));
    rest = rest.slice(0, hash);
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(rest);
  if (scheme !== null) {
    u.Scheme = scheme[1]!.toLowerCase();
    rest = rest.slice(scheme[0].length);
  }
  const q = rest.indexOf('?');
  if (q >= 0) {
    u.RawQuery = rest.slice(q + 1);
    if (u.RawQuery === '') u.ForceQuery = true;
    rest = rest.slice(0, q);
  }
  if (scheme !== null && !rest.startsWith('/')) {
    u.Opaque = rest;
    return u;
  }
  if (rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    let authority = slash >= 0 ? rest.slice(2, slash) : rest.slice(2);
    rest = slash >= 0 ? rest.slice(slash) : '';
    const at = authority.lastIndexOf('@');
    if (at >= 0) {
      u.User = {};
      authority = authority.slice(at + 1);
    }
    u.Host = authority;
  }
  u.Path = decodeURIComponentSafe(rest);
  if (u.Path !== rest && encodeURI(u.Path as string) !== rest) u.RawPath = rest;
  return u;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

interface GeneralNames {
  dns: string[];
  emails: string[];
  uris: string[];
  ips: Buffer[];
}

function generalNames(seq: Element): GeneralNames {
  const out: GeneralNames = { dns: [], emails: [], uris: [], ips: [] };
  for (const gn of children(seq)) {
    const v = gn.content;
    if (gn.tag === 0x81) out.emails.push(v.toString('latin1'));
    else if (gn.tag === 0x82) out.dns.push(v.toString('latin1'));
    else if (gn.tag === 0x86) out.uris.push(v.toString('latin1'));
    else if (gn.tag === 0x87) {
      if (v.length !== 4 && v.length !== 16) throw new X509Error(`x509: cannot parse IP address of length ${v.length}`);
      out.ips.push(Buffer.from(v));
    }
  }
  return out;
}

// ---- extensions ----

const EXT_KEY_USAGES: Record<string, number> = {
  '2.5.29.37.0': 0,
  '1.3.6.1.5.5.7.3.1': 1,
  '1.3.6.1.5.5.7.3.2': 2,
  '1.3.6.1.5.5.7.3.3': 3,
  '1.3.6.1.5.5.7.3.4': 4,
  '1.3.6.1.5.5.7.3.5': 5,
  '1.3.6.1.5.5.7.3.6': 6,
  '1.3.6.1.5.5.7.3.7': 7,
  '1.3.6.1.5.5.7.3.8': 8,
  '1.3.6.1.5.5.7.3.9': 9,
  '1.3.6.1.4.1.311.10.3.3': 10,
  '2.16.840.1.113730.4.1': 11,
  '1.3.6.1.4.1.311.2.1.22': 12,
  '1.3.6.1.4.1.311.61.1.1': 13,
};

function extension(e: Element): { id: string; arcs: number[]; critical: boolean; value: Buffer } {
  const parts = children(e);
  const id = parts[0]!;
  const critical = parts.length === 3 && parts[1]!.tag === TAG.BOOLEAN && parts[1]!.content[0] !== 0;
  const value = parts[parts.length - 1]!;
  if (id.tag !== TAG.OID || value.tag !== TAG.OCTET_STRING) throw new X509Error('x509: malformed extension');
  return { id: oidString(id), arcs: oidArcs(id), critical, value: Buffer.from(value.content) };
}

/** Fills `out` from the extensions Go's parser understands; returns the SAN URIs as written. */
function applyExtensions(out: Obj, exts: Array<ReturnType<typeof extension>>): string[] {
  const dns: string[] = [];
  const emails: string[] = [];
  const uris: string[] = [];
  const ips: Buffer[] = [];
  const unhandled: Json[] = [];
  for (const x of exts) {
    const v = x.value;
    switch (x.id) {
      case '2.5.29.15': {
        const { bytes } = bitString(parseOne(v));
        let usage = 0;
        for (let i = 0; i < 9; i++) if (bytes[i >> 3] !== undefined && bytes[i >> 3]! & (0x80 >> (i & 7))) usage |= 1 << i;
        out.KeyUsage = usage;
        break;
      }
      case '2.5.29.19': {
        const parts = children(parseOne(v));
        let i = 0;
        let isCA = false;
        if (parts[i]?.tag === TAG.BOOLEAN) isCA = parts[i++]!.content[0] !== 0;
        const maxPathLen = parts[i]?.tag === TAG.INTEGER ? Number(integer(parts[i]!)) : -1;
        out.BasicConstraintsValid = true;
        out.IsCA = isCA;
        out.MaxPathLen = maxPathLen;
        out.MaxPathLenZero = maxPathLen === 0;
        break;
      }
      case '2.5.29.17': {
        const g = generalNames(parseOne(v));
        dns.push(...g.dns);
        emails.push(...g.emails);
        uris.push(...g.uris);
        ips.push(...g.ips);
        break;
      }
      case '2.5.29.30': {
        out.PermittedDNSDomainsCritical = x.critical;
        for (const subtrees of children(parseOne(v))) {
          const which = subtrees.tag === 0xa0 ? 'Permitted' : 'Excluded';
          const d: string[] = [];
          const e: string[] = [];
          const u: string[] = [];
          const r: Json[] = [];
          for (const st of children(subtrees)) {
            const base = children(st)[0];
            if (base === undefined) continue;
            const s = base.content.toString('latin1');
            if (base.tag === 0x82) d.push(s);
            else if (base.tag === 0x81) e.push(s);
            else if (base.tag === 0x86) u.push(s);
            else if (base.tag === 0x87) {
              const half = base.content.length / 2;
              r.push({ IP: ipString(base.content.subarray(0, half)), Mask: base.content.subarray(half).toString('base64') });
            }
          }
          out[`${which}DNSDomains`] = orNull(d);
          out[`${which}EmailAddresses`] = orNull(e);
          out[`${which}URIDomains`] = orNull(u);
          out[`${which}IPRanges`] = orNull(r);
        }
        break;
      }
      case '2.5.29.31': {
        const points: string[] = [];
        for (const dp of children(parseOne(v))) {
          const name = children(dp).find((c) => c.tag === 0xa0);
          const full = name !== undefined ? children(name).find((c) => c.tag === 0xa0) : undefined;
          if (full === undefined) continue;
          for (const gn of children(full)) if (gn.tag === 0x86) points.push(gn.content.toString('latin1'));
        }
        out.CRLDistributionPoints = orNull(points);
        break;
      }
      case '2.5.29.35': {
        const id = children(parseOne(v)).find((c) => c.tag === 0x80);
        if (id !== undefined) out.AuthorityKeyId = id.content.toString('base64');
        break;
      }
      case '2.5.29.37': {
        const known: number[] = [];
        const unknown: Json[] = [];
        for (const oid of children(parseOne(v))) {
          const k = EXT_KEY_USAGES[oidString(oid)];
          if (k !== undefined) known.push(k);
          else unknown.push(oidArcs(oid));
        }
        out.ExtKeyUsage = orNull(known);
        out.UnknownExtKeyUsage = orNull(unknown);
        break;
      }
      case '2.5.29.14':
        out.SubjectKeyId = parseOne(v).content.toString('base64');
        break;
      case '2.5.29.32': {
        const ids: Json[] = [];
        const policies: Json[] = [];
        for (const info of children(parseOne(v))) {
          const oid = children(info)[0];
          if (oid === undefined) continue;
          ids.push(oidArcs(oid));
          policies.push(oidString(oid));
        }
        out.PolicyIdentifiers = orNull(ids);
        out.Policies = orNull(policies);
        break;
      }
      case '2.5.29.36':
        for (const c of children(parseOne(v))) {
          const n = Number(BigInt(`0x${c.content.toString('hex') || '0'}`));
          const field = c.tag === 0x80 ? 'RequireExplicitPolicy' : 'InhibitPolicyMapping';
          out[field] = n;
          out[`${field}Zero`] = n === 0;
        }
        break;
      case '2.5.29.54': {
        const n = Number(integer(parseOne(v)));
        out.InhibitAnyPolicy = n;
        out.InhibitAnyPolicyZero = n === 0;
        break;
      }
      case '2.5.29.33': {
        const maps: Json[] = [];
        for (const m of children(parseOne(v))) {
          const [a, b] = children(m);
          if (a !== undefined && b !== undefined) maps.push({ IssuerDomainPolicy: oidString(a), SubjectDomainPolicy: oidString(b) });
        }
        out.PolicyMappings = orNull(maps);
        break;
      }
      case '1.3.6.1.5.5.7.1.1': {
        const ocsp: string[] = [];
        const issuers: string[] = [];
        for (const ad of children(parseOne(v))) {
          const [method, loc] = children(ad);
          if (method === undefined || loc === undefined || loc.tag !== 0x86) continue;
          const m = oidString(method);
          if (m === '1.3.6.1.5.5.7.48.1') ocsp.push(loc.content.toString('latin1'));
          else if (m === '1.3.6.1.5.5.7.48.2') issuers.push(loc.content.toString('latin1'));
        }
        out.OCSPServer = orNull(ocsp);
        out.IssuingCertificateURL = orNull(issuers);
        break;
      }
      default:
        if (x.critical) unhandled.push(x.arcs);
    }
  }
  out.DNSNames = orNull(dns);
  out.EmailAddresses = orNull(emails);
  out.IPAddresses = orNull(ips.map(ipString));
  out.URIs = orNull(uris.map(urlObject));
  out.UnhandledCriticalExtensions = orNull(unhandled);
  return uris;
}

// ---- certificates ----

/** A parsed certificate: Go's JSON, the DER, and what verification needs. */
export interface ParsedCertificate {
  readonly json: Obj;
  readonly der: Buffer;
  readonly uris: string[];
}

function certificate(e: Element): ParsedCertificate {
  const [tbs, sigAlg, sig] = children(e);
  if (tbs === undefined || sigAlg === undefined || sig === undefined) throw new X509Error('x509: malformed certificate');
  const t = children(tbs);
  let i = 0;
  let version = 1;
  if (t[i]?.tag === 0xa0) version = Number(integer(children(t[i++]!)[0]!)) + 1;
  const serial = t[i++];
  i++; // the TBS signature algorithm (Go checks it equals the outer one)
  const issuer = t[i++];
  const validity = t[i++];
  const subject = t[i++];
  const spki = t[i++];
  if (serial === undefined || issuer === undefined || validity === undefined || subject === undefined || spki === undefined) throw new X509Error('x509: malformed tbs certificate');
  const [notBefore, notAfter] = children(validity);
  if (notBefore === undefined || notAfter === undefined) throw new X509Error('x509: malformed validity');
  const [pkAlg, pk] = publicKey(spki);
  const extsEl = t.slice(i).find((x) => x.tag === 0xa3);
  const exts = extsEl !== undefined ? children(children(extsEl)[0]!).map(extension) : [];
  const out: Obj = {
    Raw: b64(e.raw),
    RawTBSCertificate: b64(tbs.raw),
    RawSubjectPublicKeyInfo: b64(spki.raw),
    RawSubject: b64(subject.raw),
    RawIssuer: b64(issuer.raw),
    Signature: b64(bitString(sig).bytes),
    SignatureAlgorithm: signatureAlgorithm(sigAlg),
    PublicKeyAlgorithm: pkAlg,
    PublicKey: pk,
    Version: version,
    SerialNumber: integer(serial),
    Issuer: name(issuer),
    Subject: name(subject),
    NotBefore: time(notBefore),
    NotAfter: time(notAfter),
    KeyUsage: 0,
    Extensions: orNull(exts.map((x) => ({ Id: x.arcs, Critical: x.critical, Value: x.value.toString('base64') }))),
    ExtraExtensions: null,
    UnhandledCriticalExtensions: null,
    ExtKeyUsage: null,
    UnknownExtKeyUsage: null,
    BasicConstraintsValid: false,
    IsCA: false,
    MaxPathLen: 0,
    MaxPathLenZero: false,
    SubjectKeyId: null,
    AuthorityKeyId: null,
    OCSPServer: null,
    IssuingCertificateURL: null,
    DNSNames: null,
    EmailAddresses: null,
    IPAddresses: null,
    URIs: null,
    PermittedDNSDomainsCritical: false,
    PermittedDNSDomains: null,
    ExcludedDNSDomains: null,
    PermittedIPRanges: null,
    ExcludedIPRanges: null,
    PermittedEmailAddresses: null,
    ExcludedEmailAddresses: null,
    PermittedURIDomains: null,
    ExcludedURIDomains: null,
    CRLDistributionPoints: null,
    PolicyIdentifiers: null,
    Policies: null,
    InhibitAnyPolicy: 0,
    InhibitAnyPolicyZero: false,
    InhibitPolicyMapping: 0,
    InhibitPolicyMappingZero: false,
    RequireExplicitPolicy: 0,
    RequireExplicitPolicyZero: false,
    PolicyMappings: null,
  };
  const uris = applyExtensions(out, exts);
  return { json: out, der: Buffer.from(e.raw), uris };
}

/** Go's x509.ParseCertificates over concatenated DER. */
export function parseDERCertificates(der: Buffer): ParsedCertificate[] {
  const out: ParsedCertificate[] = [];
  let off = 0;
  while (off < der.length) {
    const [e, next] = readElement(der, off);
    out.push(certificate(e));
    off = next;
  }
  return out;
}

/**
 * OPA's getX509CertsFromString after base64 decoding: PEM (every block must be a CERTIFICATE:
 * "PEM block type is 'X', expected CERTIFICATE"), else concatenated DER.
 */
export function parseCertificates(bytes: Buffer): ParsedCertificate[] {
  const text = bytes.toString('latin1');
  if (text.startsWith('-----BEGIN')) {
    const blocks = pemBlocks(text);
    for (const b of blocks) if (b.type !== 'CERTIFICATE') throw new X509Error(`PEM block type is '${b.type}', expected CERTIFICATE`);
    return parseDERCertificates(Buffer.concat(blocks.map((b) => b.bytes)));
  }
  return parseDERCertificates(bytes);
}

/** x509.Certificate plus OPA's URIStrings (extendCertificates). */
export function withURIStrings(c: ParsedCertificate): Obj {
  return { ...c.json, URIStrings: c.uris.length > 0 ? c.uris : null };
}

// ---- verification ----

export interface VerifyOptions {
  dnsName?: string;
  /** Unix milliseconds; default now. */
  currentTime?: number;
  keyUsages?: number[];
}

function matchHostname(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, '');
  const h = host.toLowerCase().replace(/\.$/, '');
  if (p === h) return true;
  if (!p.startsWith('*.')) return false;
  const dot = h.indexOf('.');
  return dot > 0 && h.slice(dot + 1) === p.slice(2);
}

/** Go's matchDomainConstraint: `example.com` covers itself and subdomains, `.example.com` only subdomains. */
function domainMatches(domain: string, constraint: string): boolean {
  if (constraint === '') return true;
  const d = domain.toLowerCase();
  const c = constraint.toLowerCase();
  if (c.startsWith('.')) return d.endsWith(c);
  return d === c || d.endsWith(`.${c}`);
}

/** Go's matchEmailConstraint: a mailbox, a host, or (leading dot) any subdomain of a host. */
function emailMatches(email: string, constraint: string): boolean {
  const at = email.lastIndexOf('@');
  if (at < 0) return false;
  if (constraint.includes('@')) return email.toLowerCase() === constraint.toLowerCase();
  return domainMatches(email.slice(at + 1), constraint);
}

function ipBytes(ip: string): Buffer | undefined {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!ip.includes(':')) return undefined;
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const groups = (x: string): number[] => (x === '' ? [] : x.split(':').map((g) => parseInt(g, 16)));
  const h = groups(head);
  const t = tail !== undefined ? groups(tail) : [];
  const all = tail !== undefined ? [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t] : h;
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

function ipMatches(ip: string, range: Obj): boolean {
  const a = ipBytes(ip);
  const net = ipBytes(String(range.IP));
  const mask = Buffer.from(String(range.Mask), 'base64');
  if (a === undefined || net === undefined || a.length !== mask.length || net.length !== mask.length) return false;
  for (let i = 0; i < a.length; i++) if ((a[i]! & mask[i]!) !== (net[i]! & mask[i]!)) return false;
  return true;
}

/**
 * Whether a CA's name constraints allow every SAN of a certificate below it (Go's
 * checkNameConstraints): a name must match a permitted entry of its kind when there are
 * any, and no excluded one.
 */
function namesAllowed(ca: Obj, cert: ParsedCertificate): boolean {
  const lists = (k: string): Json[] => (ca[k] as Json[] | null) ?? [];
  const allowed = <T>(names: T[], permitted: Json[], excluded: Json[], match: (n: T, c: Json) => boolean): boolean =>
    names.every((n) => !excluded.some((c) => match(n, c)) && (permitted.length === 0 || permitted.some((c) => match(n, c))));
  const j = cert.json;
  const uriHost = (u: string): string => {
    const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?([^:/?#]*)/i.exec(u);
    return m?.[1] ?? '';
  };
  return (
    allowed((j.DNSNames as string[] | null) ?? [], lists('PermittedDNSDomains'), lists('ExcludedDNSDomains'), (n, c) => domainMatches(n, String(c))) &&
    allowed((j.EmailAddresses as string[] | null) ?? [], lists('PermittedEmailAddresses'), lists('ExcludedEmailAddresses'), (n, c) => emailMatches(n, String(c))) &&
    allowed((j.IPAddresses as string[] | null) ?? [], lists('PermittedIPRanges'), lists('ExcludedIPRanges'), (n, c) => ipMatches(n, c as Obj)) &&
    allowed(cert.uris, lists('PermittedURIDomains'), lists('ExcludedURIDomains'), (n, c) => {
      const host = uriHost(n);
      return host !== '' && ipBytes(host) === undefined && domainMatches(host, String(c));
    })
  );
}

function usageAllowed(cert: Obj, wanted: number[]): boolean {
  if (wanted.includes(0)) return true;
  const eku = (cert.ExtKeyUsage as number[] | null) ?? [];
  if (eku.length === 0 && cert.UnknownExtKeyUsage === null) return true;
  if (eku.includes(0)) return true;
  return wanted.some((w) => eku.includes(w) || (w === 1 && (eku.includes(10) || eku.includes(11))));
}

/**
 * Go's Certificate.Verify for OPA's verifyX509CertificateChain: certs[0] the root, the last
 * the leaf, the rest intermediates. Returns the chain leaf first, or throws X509Error.
 */
export function verifyChain(certs: ParsedCertificate[], opts: VerifyOptions): ParsedCertificate[] {
  if (certs.length < 2) throw new X509Error('operand 1 must supply at least two certificates to be able to verify');
  const now = opts.currentTime ?? Date.now();
  const keyUsages = opts.keyUsages !== undefined && opts.keyUsages.length > 0 ? opts.keyUsages : [1];
  const root = certs[0]!;
  const intermediates = certs.slice(1, -1);
  const leaf = certs[certs.length - 1]!;
  const x509 = new Map<ParsedCertificate, X509Certificate>();
  const node = (c: ParsedCertificate): X509Certificate => {
    let x = x509.get(c);
    if (x === undefined) {
      x = new X509Certificate(c.der);
      x509.set(c, x);
    }
    return x;
  };
  const timeValid = (c: ParsedCertificate): boolean => Date.parse(c.json.NotBefore as string) <= now && now <= Date.parse(c.json.NotAfter as string);
  if (opts.dnsName !== undefined && opts.dnsName !== '') {
    const names = (leaf.json.DNSNames as string[] | null) ?? [];
    const ips = (leaf.json.IPAddresses as string[] | null) ?? [];
    if (!names.some((n) => matchHostname(n, opts.dnsName!)) && !ips.includes(opts.dnsName)) throw new X509Error(`x509: certificate is not valid for ${opts.dnsName}`);
  }
  // Go bounds chain building the same way (maxChainSignatureChecks), so crafted cross-signed sets cannot make it exponential.
  let checks = 0;
  const signedBy = (child: ParsedCertificate, parent: ParsedCertificate): boolean => {
    if (child.json.RawIssuer !== parent.json.RawSubject) return false;
    if (INSECURE.has(child.json.SignatureAlgorithm as number)) return false;
    if (++checks > 100) throw new X509Error('x509: signature check attempts limit reached while verifying certificate chain');
    try {
      return node(child).verify(node(parent).publicKey);
    } catch {
      return false;
    }
  };
  const search = (chain: ParsedCertificate[]): ParsedCertificate[] | undefined => {
    const cur = chain[chain.length - 1]!;
    if (!timeValid(cur)) return undefined;
    for (const parent of [root, ...intermediates]) {
      if (chain.includes(parent)) continue;
      if (!signedBy(cur, parent)) continue;
      // Intermediates between parent and the leaf; a path length constraint bounds them.
      const below = chain.length - 1;
      if (parent.json.BasicConstraintsValid === true && (parent.json.MaxPathLen as number) >= 0 && below > (parent.json.MaxPathLen as number)) continue;
      if (parent !== root && (parent.json.BasicConstraintsValid !== true || parent.json.IsCA !== true)) continue;
      if (parent === root && !timeValid(root)) continue;
      // A constrained CA must allow the names of every certificate below it that has SANs.
      const hasSAN = (c: ParsedCertificate): boolean => (c.json.Extensions as Obj[] | null)?.some((x) => (x.Id as number[]).join('.') === '2.5.29.17') === true;
      if (chain.some((c) => hasSAN(c) && !namesAllowed(parent.json, c))) continue;
      const next = [...chain, parent];
      if (parent === root) {
        if (next.every((c) => usageAllowed(c.json, keyUsages))) return next;
        continue;
      }
      const found = search(next);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  const chain = search([leaf]);
  if (chain === undefined) throw new X509Error('x509: certificate signed by unknown authority');
  return chain;
}

// ---- certificate requests ----

/** Go's x509.ParseCertificateRequest as json.Marshal shows it. */
export function parseCertificateRequest(der: Buffer): Obj {
  const e = parseOne(der, 'certificate request');
  const [info, sigAlg, sig] = children(e);
  if (info === undefined || sigAlg === undefined || sig === undefined) throw new X509Error('x509: malformed certificate request');
  const [version, subject, spki, attrs] = children(info);
  if (version === undefined || subject === undefined || spki === undefined) throw new X509Error('x509: malformed certificate request');
  const [pkAlg, pk] = publicKey(spki);
  const attributes: Json[] = [];
  const exts: Array<ReturnType<typeof extension>> = [];
  if (attrs !== undefined && attrs.tag === 0xa0) {
    for (const attr of children(attrs)) {
      const [type, values] = children(attr);
      if (type === undefined || values === undefined) continue;
      const sets: Json[] = [];
      for (const v of children(values)) {
        if (oidString(type) === '1.2.840.113549.1.9.14') {
          const list = children(v).map(extension);
          exts.push(...list);
          sets.push(list.map((x) => ({ Type: x.arcs, Value: x.value.toString('base64') })));
        }
      }
      attributes.push({ Type: oidArcs(type), Value: sets });
    }
  }
  const out: Obj = {
    Raw: b64(Buffer.from(e.raw)),
    RawTBSCertificateRequest: b64(Buffer.from(info.raw)),
    RawSubjectPublicKeyInfo: b64(Buffer.from(spki.raw)),
    RawSubject: b64(Buffer.from(subject.raw)),
    Version: Number(integer(version)),
    Signature: b64(bitString(sig).bytes),
    SignatureAlgorithm: signatureAlgorithm(sigAlg),
    PublicKeyAlgorithm: pkAlg,
    PublicKey: pk,
    Subject: name(subject),
    Attributes: orNull(attributes),
    Extensions: orNull(exts.map((x) => ({ Id: x.arcs, Critical: x.critical, Value: x.value.toString('base64') }))),
    ExtraExtensions: null,
    DNSNames: null,
    EmailAddresses: null,
    IPAddresses: null,
    URIs: null,
  };
  const san = exts.find((x) => x.id === '2.5.29.17');
  if (san !== undefined) {
    const g = generalNames(parseOne(san.value));
    out.DNSNames = orNull(g.dns);
    out.EmailAddresses = orNull(g.emails);
    out.IPAddresses = orNull(g.ips.map(ipString));
    out.URIs = orNull(g.uris.map(urlObject));
  }
  return out;
}

// ---- private keys ----

const big = (b64url: string | undefined): bigint => (b64url === undefined || b64url === '' ? 0n : BigInt(`0x${Buffer.from(b64url, 'base64url').toString('hex') || '0'}`));

/** A private key as Go's json.Marshal shows *rsa.PrivateKey, *ecdsa.PrivateKey or ed25519.PrivateKey. */
export function privateKeyJSON(key: KeyObject): Json {
  const jwk = key.export({ format: 'jwk' }) as Record<string, string>;
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') {
    return {
      N: big(jwk.n),
      E: Number(big(jwk.e)),
      D: big(jwk.d),
      Primes: [big(jwk.p), big(jwk.q)],
      Precomputed: { Dp: big(jwk.dp), Dq: big(jwk.dq), Qinv: big(jwk.qi), CRTValues: [] },
    };
  }
  if (key.asymmetricKeyType === 'ec') return { Curve: {}, X: big(jwk.x), Y: big(jwk.y), D: big(jwk.d) };
  if (key.asymmetricKeyType === 'ed25519') return Buffer.concat([Buffer.from(jwk.d!, 'base64url'), Buffer.from(jwk.x!, 'base64url')]).toString('base64');
  throw new X509Error(`x509: unsupported private key type ${String(key.asymmetricKeyType)}`);
}

const KEY_BLOCKS: Record<string, 'pkcs1' | 'pkcs8' | 'sec1'> = { 'RSA PRIVATE KEY': 'pkcs1', 'PRIVATE KEY': 'pkcs8', 'EC PRIVATE KEY': 'sec1' };

function keyFromBlock(b: PemBlock): KeyObject {
  const type = KEY_BLOCKS[b.type]!;
  try {
    return createPrivateKey({ key: b.bytes, format: 'der', type });
  } catch {
    throw new X509Error(type === 'pkcs1' ? 'x509: failed to parse private key (use ParsePKCS8PrivateKey instead for this key format)' : type === 'sec1' ? 'x509: failed to parse EC private key' : 'x509: failed to parse private key');
  }
}

/** OPA's getPrivateKeysFromPEMData: the keys of every RSA/PKCS#8/EC private key block, in order. */
export function parsePrivateKeys(text: string): Json[] {
  return pemBlocks(text)
    .filter((b) => KEY_BLOCKS[b.type] !== undefined)
    .map((b) => privateKeyJSON(keyFromBlock(b)));
}

/** Go's tls.X509KeyPair as json.Marshal shows tls.Certificate. */
export function parseKeyPair(certPem: string, keyPem: string): Obj {
  const certBlocks = pemBlocks(certPem).filter((b) => b.type === 'CERTIFICATE');
  if (certBlocks.length === 0) throw new X509Error('tls: failed to find any PEM data in certificate input');
  const keyBlock = pemBlocks(keyPem).find((b) => b.type === 'PRIVATE KEY' || b.type.endsWith(' PRIVATE KEY'));
  if (keyBlock === undefined) throw new X509Error('tls: failed to find any PEM data in key input');
  if (KEY_BLOCKS[keyBlock.type] === undefined) throw new X509Error('tls: failed to parse private key');
  const leaf = certificate(parseOne(certBlocks[0]!.bytes));
  const key = keyFromBlock(keyBlock);
  // tls.X509KeyPair checks that the key matches the leaf's public key.
  const pub = new X509Certificate(leaf.der).publicKey.export({ format: 'jwk' }) as Record<string, string>;
  const priv = key.export({ format: 'jwk' }) as Record<string, string>;
  if ((pub.n ?? pub.x) !== (priv.n ?? priv.x) || pub.y !== priv.y) throw new X509Error('tls: private key does not match public key');
  return {
    Certificate: certBlocks.map((b) => b.bytes.toString('base64')),
    PrivateKey: privateKeyJSON(key),
    SupportedSignatureAlgorithms: null,
    OCSPStaple: null,
    SignedCertificateTimestamps: null,
    Leaf: leaf.json,
  };
}
