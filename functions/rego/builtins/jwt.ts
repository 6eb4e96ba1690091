/**
 * io.jwt.* verification and decoding with OPA's semantics: JWS compact tokens, keys from a
 * PEM certificate or public key, a JWK or a JWK set, signatures checked with node:crypto.
 */
import { X509Certificate, createHmac, createPrivateKey, createPublicKey, sign as cryptoSign, timingSafeEqual, verify as cryptoVerify, constants, type KeyObject } from 'node:crypto';
import { RNumber, RObject, parseJSON, toJSONText, type Value } from '../value.js';
import { CorruptInput, decodeBase64Url } from './encoding.js';
import { jsonErrorText } from './json.js';
import { builtinError, def, object, str, typeError } from './operands.js';
import type { BuiltinContext, BuiltinDef } from './types.js';

const ALGORITHMS = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512', 'EdDSA']);

class JWTError extends Error {}

interface Token {
  header: string;
  payload: string;
  signature: string;
}

function splitToken(v: Value, name: string): Token {
  if (typeof v !== 'string') throw typeError(name, 1, v, 'string');
  if (!v.includes('.')) throw new JWTError('encoded JWT had no period separators');
  const parts = v.split('.');
  if (parts.length !== 3) throw new JWTError(`encoded JWT must have 3 sections, found ${parts.length}`);
  return { header: parts[0]!, payload: parts[1]!, signature: parts[2]! };
}

function b64(part: string, what: string): Uint8Array {
  try {
    return decodeBase64Url(part);
  } catch (e) {
    if (e instanceof CorruptInput) throw new JWTError(what ? `JWT ${what} had invalid encoding: ${e.message}` : e.message);
    throw e;
  }
}

const utf8 = new TextDecoder('utf-8');

function jsonObject(bytes: Uint8Array): RObject {
  let v: Value;
  const text = utf8.decode(bytes);
  try {
    v = parseJSON(text);
  } catch (e) {
    throw new JWTError(`invalid JSON: ${jsonErrorText(text, e)}`);
  }
  if (!(v instanceof RObject)) throw new JWTError('decoded JSON type was not an Object');
  return v;
}

function decodeHeader(t: Token): RObject {
  const bytes = b64(t.header, 'header');
  let header: RObject;
  try {
    header = jsonObject(bytes);
  } catch (e) {
    if (e instanceof JWTError) throw new JWTError(`bad JWT header: ${e.message}`);
    throw e;
  }
  if (header.has('enc')) throw new JWTError('JWT is a JWE object, which is not supported');
  return header;
}

/** The first PEM block (Go's pem.Decode), found with indexOf scans rather than a backtracking regex. */
function pemBlock(text: string): { type: string; block: string; rest: string } | undefined {
  const begin = text.indexOf('-----BEGIN ');
  if (begin < 0) return undefined;
  const typeEnd = text.indexOf('-----', begin + 11);
  if (typeEnd < 0) return undefined;
  const type = text.slice(begin + 11, typeEnd);
  const endMarker = `-----END ${type}-----`;
  const end = text.indexOf(endMarker, typeEnd + 5);
  if (end < 0) return undefined;
  let stop = end + endMarker.length;
  if (text[stop] === '\r') stop++;
  if (text[stop] === '\n') stop++;
  return { type, block: text.slice(begin, stop), rest: text.slice(stop) };
}

type VerificationKey = { key: KeyObject | Buffer; alg: string; kid: string };

/** Keys from a PEM certificate / public key, or a JWK / JWK set (OPA's getKeysFromCertOrJWK). */
function parseKeys(text: string): VerificationKey[] {
  const pem = pemBlock(text);
  if (pem) {
    if (pem.rest.length > 0) throw new JWTError('extra data after a PEM certificate block');
    if (pem.type === 'CERTIFICATE') {
      try {
        return [{ key: new X509Certificate(pem.block).publicKey, alg: '', kid: '' }];
      } catch (e) {
        throw new JWTError(`failed to parse a PEM certificate: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (pem.type === 'PUBLIC KEY') {
      try {
        return [{ key: createPublicKey(pem.block), alg: '', kid: '' }];
      } catch (e) {
        throw new JWTError(`failed to parse a PEM public key: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    throw new JWTError('failed to extract a Key from the PEM certificate');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new JWTError(`failed to parse a JWK key (set): ${e instanceof Error ? e.message : String(e)}`);
  }
  const list: unknown[] =
    parsed !== null && typeof parsed === 'object' && Array.isArray((parsed as { keys?: unknown }).keys) ? (parsed as { keys: unknown[] }).keys : [parsed];
  const out: VerificationKey[] = [];
  for (const jwk of list) {
    if (jwk === null || typeof jwk !== 'object') throw new JWTError('failed to parse a JWK key (set): invalid key');
    const j = jwk as Record<string, unknown>;
    const alg = typeof j.alg === 'string' ? j.alg : '';
    if (alg !== '' && !ALGORITHMS.has(alg)) continue;
    let key: KeyObject | Buffer;
    try {
      if (j.kty === 'oct') key = Buffer.from(decodeBase64Url(String(j.k ?? '')));
      else key = createPublicKey({ key: j as never, format: 'jwk' });
    } catch (e) {
      throw new JWTError(`failed to parse a JWK key (set): ${e instanceof Error ? e.message : String(e)}`);
    }
    out.push({ key, alg, kid: typeof j.kid === 'string' ? j.kid : '' });
  }
  return out;
}

const HASHES: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

/** jwsbb.Verify: the signature over `data` with `alg`; false on any mismatch (wrong key type included). */
function verifySignature(key: KeyObject | Buffer, alg: string, data: Buffer, sig: Uint8Array): boolean {
  const family = alg.slice(0, 2);
  const hash = HASHES[alg.slice(2)];
  try {
    if (family === 'HS' && hash) {
      if (!Buffer.isBuffer(key)) return false;
      const mac = createHmac(hash, key).update(data).digest();
      return mac.length === sig.length && timingSafeEqual(mac, sig);
    }
    if (Buffer.isBuffer(key)) return false;
    if (alg === 'EdDSA') return key.asymmetricKeyType === 'ed25519' && cryptoVerify(null, data, key, sig);
    if (!hash) return false;
    if (family === 'RS') return key.asymmetricKeyType === 'rsa' && cryptoVerify(hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, sig);
    if (family === 'PS') {
      return key.asymmetricKeyType === 'rsa' && cryptoVerify(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, sig);
    }
    if (family === 'ES') return key.asymmetricKeyType === 'ec' && cryptoVerify(hash, data, { key, dsaEncoding: 'ieee-p1363' }, sig);
  } catch {
    return false;
  }
  return false;
}

function rethrow(name: string, e: unknown): never {
  if (e instanceof JWTError) throw builtinError(name, e.message);
  throw e;
}

function decode(name: string, jwt: Value): Value[] {
  const t = splitToken(jwt, name);
  const header = decodeHeader(t);
  const payloadBytes = b64(t.payload, 'payload');
  const cty = header.get('cty');
  if (cty === 'JWT') {
    // A nested token arrives quoted (jwt.io's convention); strip the quotes and recurse.
    const inner = utf8.decode(payloadBytes).replace(/^["']+|["']+$/g, '');
    return decode(name, inner);
  }
  const payload = jsonObject(payloadBytes);
  const sig = b64(t.signature, 'signature');
  return [header, payload, Buffer.from(sig).toString('hex')];
}

function verifyWithKeys(name: string, alg: string, args: readonly Value[]): boolean {
  const t = splitToken(args[0]!, name);
  const keyText = args[1]!;
  if (typeof keyText !== 'string') throw typeError(name, 2, keyText, 'string');
  const keys = parseKeys(keyText);
  const sig = b64(t.signature, '');
  const header = decodeHeader(t);
  const kid = header.get('kid');
  const headerAlg = header.get('alg');
  const data = Buffer.from(`${t.header}.${t.payload}`);
  // The builtin's name fixes the algorithm; the header's alg only filters JWKS keys.
  if (typeof kid === 'string' && kid !== '') {
    const k = keys.find((x) => x.kid === kid);
    if (k) return verifySignature(k.key, alg, data, sig);
  }
  for (const k of keys) {
    if (k.alg !== '' && k.alg !== headerAlg) continue;
    if (verifySignature(k.key, alg, data, sig)) return true;
  }
  return false;
}

function verifyBuiltin(name: string, alg: string): BuiltinDef {
  return def(name, ['string', 'string'], 'boolean', (args) => {
    try {
      return verifyWithKeys(name, alg, args);
    } catch (e) {
      rethrow(name, e);
    }
  });
}

function verifyHS(name: string, alg: string): BuiltinDef {
  return def(name, ['string', 'string'], 'boolean', (args) => {
    const jwt = str(name, args, 0);
    const secret = str(name, args, 1);
    try {
      const t = splitToken(jwt, name);
      const sig = b64(t.signature, '');
      return verifySignature(Buffer.from(secret, 'utf8'), alg, Buffer.from(`${t.header}.${t.payload}`), sig);
    } catch (e) {
      rethrow(name, e);
    }
  });
}

interface Constraints {
  secret: string;
  alg: string;
  iss: string;
  aud: string;
  keys: VerificationKey[] | undefined;
  timeNs: number;
}

function parseConstraints(o: RObject, ctx: BuiltinContext): Constraints {
  const c: Constraints = { secret: '', alg: '', iss: '', aud: '', keys: undefined, timeNs: -1 };
  for (const [k, v] of o) {
    const key = String(k);
    if (key === 'cert') {
      if (typeof v !== 'string') throw new JWTError('cert constraint: must be a string');
      c.keys = parseKeys(v);
    } else if (key === 'secret' || key === 'alg' || key === 'iss' || key === 'aud') {
      if (typeof v !== 'string') throw new JWTError(`${key} constraint: must be a string`);
      c[key] = v;
    } else if (key === 'time') {
      if (!(v instanceof RNumber)) throw new JWTError('token time constraint: must be a number');
      const t = v.toNumber();
      if (t < 0) throw new JWTError('token time constraint: must not be negative');
      c.timeNs = t;
    } else {
      throw new JWTError(`unknown token validation constraint: ${key}`);
    }
  }
  if (c.timeNs === -1) c.timeNs = Number(ctx.nowNs);
  const keyKinds = (c.keys !== undefined ? 1 : 0) + (c.secret !== '' ? 1 : 0);
  if (keyKinds > 1) throw new JWTError('duplicate key constraints');
  if (keyKinds < 1) throw new JWTError('no key constraint');
  return c;
}

const KNOWN_HEADERS = new Set(['alg', 'kid', 'typ', 'cty', 'crit']);

/** RFC 7515 header checks: alg present, string-typed known fields, no unknown critical parameter. */
function headerValid(h: RObject): boolean {
  for (const f of ['alg', 'kid', 'typ', 'cty']) {
    const v = h.get(f);
    if (v !== undefined && typeof v !== 'string') throw new JWTError(`${f}: must be a string`);
  }
  const alg = h.get('alg');
  if (typeof alg !== 'string' || alg === '') return false;
  const crit = h.get('crit');
  if (crit !== undefined) {
    if (!Array.isArray(crit)) throw new JWTError('crit: must be a list');
    if (crit.length === 0) throw new JWTError('crit: must be a nonempty list');
    for (const [k] of h) if (typeof k === 'string' && !KNOWN_HEADERS.has(k) && crit.includes(k)) return false;
  }
  return true;
}

function decodeVerify(args: readonly Value[], ctx: BuiltinContext): Value[] {
  const unverified: Value[] = [false, new RObject(), new RObject()];
  const c = parseConstraints(object('io.jwt.decode_verify', args, 1), ctx);
  let jwt: Value = args[0]!;
  let header: RObject;
  let payloadBytes: Uint8Array;
  for (;;) {
    const t = splitToken(jwt, 'io.jwt.decode_verify');
    header = decodeHeader(t);
    if (!headerValid(header)) return unverified;
    const alg = header.get('alg') as string;
    if (c.alg !== '' && c.alg !== alg) return unverified;
    const sig = b64(t.signature, '');
    const data = Buffer.from(`${t.header}.${t.payload}`);
    const kid = header.get('kid');
    let ok = false;
    if (c.keys !== undefined) {
      const byKid = typeof kid === 'string' && kid !== '' ? c.keys.find((k) => k.kid === kid) : undefined;
      if (byKid) ok = verifySignature(byKid.key, alg, data, sig);
      else ok = c.keys.some((k) => (k.alg === '' || k.alg === alg) && verifySignature(k.key, alg, data, sig));
    } else {
      ok = verifySignature(Buffer.from(c.secret, 'utf8'), alg, data, sig);
    }
    if (!ok) return unverified;
    payloadBytes = b64(t.payload, 'payload');
    const cty = header.get('cty');
    if (typeof cty === 'string' && cty.toUpperCase() === 'JWT') {
      jwt = utf8.decode(payloadBytes);
      continue;
    }
    break;
  }
  const payload = jsonObject(payloadBytes);
  if (c.iss !== '') {
    const iss = payload.get('iss');
    if (iss !== c.iss) return unverified;
  }
  const aud = payload.get('aud');
  if (aud !== undefined) {
    const ok = typeof aud === 'string' ? aud === c.aud : Array.isArray(aud) && aud.some((a) => a === c.aud);
    if (!ok) return unverified;
  } else if (c.aud !== '') {
    return unverified;
  }
  const nowSec = c.timeNs / 1e9;
  const exp = payload.get('exp');
  if (exp !== undefined) {
    if (!(exp instanceof RNumber)) throw new JWTError('exp value must be a number');
    if (nowSec >= exp.toNumber()) return unverified;
  }
  const nbf = payload.get('nbf');
  if (nbf !== undefined) {
    if (!(nbf instanceof RNumber)) throw new JWTError('nbf value must be a number');
    if (nowSec < nbf.toNumber()) return unverified;
  }
  return [true, header, payload];
}

/** Signs `header.payload` (both raw JSON text) with the first key of a JWK or JWK set. */
function encodeSign(headerText: string, payloadText: string, jwkText: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(jwkText);
  } catch (e) {
    throw new JWTError(`failed to parse a JWK key (set): ${e instanceof Error ? e.message : String(e)}`);
  }
  const keys = parsed !== null && typeof parsed === 'object' && Array.isArray((parsed as { keys?: unknown }).keys) ? (parsed as { keys: unknown[] }).keys : [parsed];
  const jwk = keys[0];
  if (jwk === undefined || jwk === null || typeof jwk !== 'object') throw new JWTError('no keys found in JWK set');
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch {
    header = undefined;
  }
  const alg = header !== null && typeof header === 'object' ? (header as { alg?: unknown; typ?: unknown }).alg : undefined;
  if (typeof alg !== 'string') throw new JWTError("missing or invalid 'alg' header");
  if (!ALGORITHMS.has(alg)) throw new JWTError(`unknown JWS algorithm: ${alg}`);
  const typ = (header as { typ?: unknown }).typ;
  if (typ === undefined || typ === 'JWT') {
    try {
      JSON.parse(payloadText);
    } catch {
      throw new JWTError('type is JWT but payload is not JSON');
    }
  }
  const data = `${Buffer.from(headerText).toString('base64url')}.${Buffer.from(payloadText).toString('base64url')}`;
  const j = jwk as Record<string, unknown>;
  const hash = HASHES[alg.slice(2)];
  let sig: Buffer;
  try {
    if (alg.startsWith('HS')) {
      if (j.kty !== 'oct') throw new JWTError('invalid key type for HMAC signing');
      sig = createHmac(hash!, Buffer.from(decodeBase64Url(String(j.k ?? '')))).update(data).digest();
    } else {
      const key = createPrivateKey({ key: j as never, format: 'jwk' });
      if (alg === 'EdDSA') sig = cryptoSign(null, Buffer.from(data), key);
      else if (alg.startsWith('RS')) sig = cryptoSign(hash!, Buffer.from(data), { key, padding: constants.RSA_PKCS1_PADDING });
      else if (alg.startsWith('PS')) sig = cryptoSign(hash!, Buffer.from(data), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
      else sig = cryptoSign(hash!, Buffer.from(data), { key, dsaEncoding: 'ieee-p1363' });
    }
  } catch (e) {
    if (e instanceof JWTError) throw e;
    throw new JWTError(e instanceof Error ? e.message : String(e));
  }
  return `${data}.${sig.toString('base64url')}`;
}

/** OPA's getRSAPrivateKeyFromString: a PEM (PKCS#1 or PKCS#8) or base64 of one, as a JWK. */
function rsaPrivateKeyJWK(input: string): Value {
  let pemText = input;
  if (!input.startsWith('-----BEGIN')) {
    try {
      pemText = utf8.decode(Buffer.from(input, 'base64'));
    } catch {
      throw new JWTError('failed to parse PEM block containing the key');
    }
  }
  const block = pemBlock(pemText);
  if (!block) throw new JWTError('failed to parse PEM block containing the key');
  if (block.type !== 'RSA PRIVATE KEY' && block.type !== 'PRIVATE KEY') {
    throw new JWTError(`PEM block type is '${block.type}', expected RSA PRIVATE KEY or PRIVATE KEY`);
  }
  let jwk: Record<string, unknown>;
  try {
    jwk = createPrivateKey(block.block).export({ format: 'jwk' }) as Record<string, unknown>;
  } catch (e) {
    throw new JWTError(e instanceof Error ? e.message : String(e));
  }
  if (jwk.kty !== 'RSA') throw new JWTError('key is not an RSA private key');
  return parseJSON(JSON.stringify(jwk));
}

export const jwtBuiltins: readonly BuiltinDef[] = [
  def('crypto.x509.parse_rsa_private_key', ['string'], 'object', (args) => {
    try {
      return rsaPrivateKeyJWK(str('crypto.x509.parse_rsa_private_key', args, 0));
    } catch (e) {
      rethrow('crypto.x509.parse_rsa_private_key', e);
    }
  }),
  def(
    'io.jwt.encode_sign',
    ['object', 'object', 'object'],
    'string',
    (args) => {
      try {
        // Header and payload are serialized as Go's json.Marshal does.
        return encodeSign(toJSONText(args[0]!, true), toJSONText(args[1]!, true), toJSONText(args[2]!, true));
      } catch (e) {
        rethrow('io.jwt.encode_sign', e);
      }
    },
    { nondeterministic: true },
  ),
  def(
    'io.jwt.encode_sign_raw',
    ['string', 'string', 'string'],
    'string',
    (args) => {
      const jwk = str('io.jwt.encode_sign_raw', args, 2);
      const header = str('io.jwt.encode_sign_raw', args, 0);
      const payload = str('io.jwt.encode_sign_raw', args, 1);
      try {
        return encodeSign(header, payload, jwk);
      } catch (e) {
        rethrow('io.jwt.encode_sign_raw', e);
      }
    },
    { nondeterministic: true },
  ),
  def('io.jwt.decode', ['string'], 'array', (args) => {
    try {
      return decode('io.jwt.decode', args[0]!);
    } catch (e) {
      rethrow('io.jwt.decode', e);
    }
  }),
  def('io.jwt.decode_verify', ['string', 'object'], 'array', (args, ctx) => {
    try {
      return decodeVerify(args, ctx);
    } catch (e) {
      rethrow('io.jwt.decode_verify', e);
    }
  }),
  verifyHS('io.jwt.verify_hs256', 'HS256'),
  verifyHS('io.jwt.verify_hs384', 'HS384'),
  verifyHS('io.jwt.verify_hs512', 'HS512'),
  verifyBuiltin('io.jwt.verify_rs256', 'RS256'),
  verifyBuiltin('io.jwt.verify_rs384', 'RS384'),
  verifyBuiltin('io.jwt.verify_rs512', 'RS512'),
  verifyBuiltin('io.jwt.verify_ps256', 'PS256'),
  verifyBuiltin('io.jwt.verify_ps384', 'PS384'),
  verifyBuiltin('io.jwt.verify_ps512', 'PS512'),
  verifyBuiltin('io.jwt.verify_es256', 'ES256'),
  verifyBuiltin('io.jwt.verify_es384', 'ES384'),
  verifyBuiltin('io.jwt.verify_es512', 'ES512'),
  verifyBuiltin('io.jwt.verify_eddsa', 'EdDSA'),
];
