import { createHmac, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BuiltinError, builtins, type BuiltinContext } from '../../../functions/rego/builtins/index.js';
import { RObject, fromJSON, num, toJSON, type Value } from '../../../functions/rego/value.js';

const ctx: BuiltinContext = { nowNs: 1_700_000_000_000_000_000n, print: () => {}, checkDeadline: () => {}, memo: new Map() };

function call(name: string, ...args: Value[]): Value | undefined {
  return builtins.get(name)!.fn(args, ctx);
}

const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');

function token(header: object, payload: object, signer: (data: Buffer) => Buffer): string {
  const data = `${b64(header)}.${b64(payload)}`;
  return `${data}.${signer(Buffer.from(data)).toString('base64url')}`;
}

function pem(k: KeyObject): string {
  return k.export({ type: 'spki', format: 'pem' }) as string;
}

describe('io.jwt verification with generated keys', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const ed = generateKeyPairSync('ed25519');

  it('verifies RS, PS, ES and EdDSA signatures and rejects tampering', () => {
    const rs = token({ alg: 'RS512' }, { a: 1 }, (d) => sign('sha512', d, rsa.privateKey));
    const ps = token({ alg: 'PS256' }, { a: 1 }, (d) => sign('sha256', d, { key: rsa.privateKey, padding: 6, saltLength: 32 }));
    const es = token({ alg: 'ES384' }, { a: 1 }, (d) => sign('sha384', d, { key: ec384.privateKey, dsaEncoding: 'ieee-p1363' }));
    const eddsa = token({ alg: 'EdDSA' }, { a: 1 }, (d) => sign(null, d, ed.privateKey));
    expect(call('io.jwt.verify_rs512', rs, pem(rsa.publicKey))).toBe(true);
    expect(call('io.jwt.verify_rs256', rs, pem(rsa.publicKey))).toBe(false);
    expect(call('io.jwt.verify_ps256', ps, pem(rsa.publicKey))).toBe(true);
    expect(call('io.jwt.verify_es384', es, pem(ec384.publicKey))).toBe(true);
    expect(call('io.jwt.verify_eddsa', eddsa, pem(ed.publicKey))).toBe(true);
    const [h, p, s] = rs.split('.');
    const tampered = `${h}.${b64({ a: 2 })}.${s}`;
    expect(p).not.toBe(b64({ a: 2 }));
    expect(call('io.jwt.verify_rs512', tampered, pem(rsa.publicKey))).toBe(false);
  });

  it('picks JWKS keys by kid and skips keys whose alg differs from the header', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwks = JSON.stringify({
      keys: [
        { ...other.publicKey.export({ format: 'jwk' }), kid: 'other', alg: 'RS256' },
        { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'mine', alg: 'RS256' },
      ],
    });
    const withKid = token({ alg: 'RS256', kid: 'mine' }, { a: 1 }, (d) => sign('sha256', d, rsa.privateKey));
    const noKid = token({ alg: 'RS256' }, { a: 1 }, (d) => sign('sha256', d, rsa.privateKey));
    const wrongAlg = token({ alg: 'RS384' }, { a: 1 }, (d) => sign('sha256', d, rsa.privateKey));
    expect(call('io.jwt.verify_rs256', withKid, jwks)).toBe(true);
    expect(call('io.jwt.verify_rs256', noKid, jwks)).toBe(true);
    expect(call('io.jwt.verify_rs256', wrongAlg, jwks)).toBe(false);
  });

  it('decode_verify checks signature, exp and nbf against the evaluation clock', () => {
    const now = 1_700_000_000;
    const good = token({ alg: 'HS256' }, { exp: now + 60, nbf: now - 60, sub: 'u' }, (d) => createHmac('sha256', 's3cret').update(d).digest());
    const expired = token({ alg: 'HS256' }, { exp: now - 1 }, (d) => createHmac('sha256', 's3cret').update(d).digest());
    const c = RObject.fromRecord({ secret: 's3cret' });
    const r = call('io.jwt.decode_verify', good, c) as Value[];
    expect(r[0]).toBe(true);
    expect(toJSON(r[2]!)).toEqual({ exp: now + 60, nbf: now - 60, sub: 'u' });
    expect((call('io.jwt.decode_verify', expired, c) as Value[])[0]).toBe(false);
    const atTime = RObject.fromRecord({ secret: 's3cret', time: num((now - 100) * 1e9) });
    expect((call('io.jwt.decode_verify', good, atTime) as Value[])[0]).toBe(false);
    expect((call('io.jwt.decode_verify', good, RObject.fromRecord({ secret: 'wrong' })) as Value[])[0]).toBe(false);
  });

  it('decodes nested JWTs marked cty: JWT', () => {
    const inner = token({ alg: 'HS256' }, { deep: true }, (d) => createHmac('sha256', 'k').update(d).digest());
    const outer = `${b64({ alg: 'none', cty: 'JWT' })}.${Buffer.from(JSON.stringify(inner)).toString('base64url')}.`;
    const r = call('io.jwt.decode', outer) as Value[];
    expect(toJSON(r[1]!)).toEqual({ deep: true });
  });

  it('encode_sign signs with a private JWK so that node:crypto verifies it', () => {
    const privateJwk = fromJSON(rsa.privateKey.export({ format: 'jwk' }));
    const jwt = call('io.jwt.encode_sign', RObject.fromRecord({ alg: 'RS256' }), RObject.fromRecord({ sub: 'svc' }), privateJwk) as string;
    const [h, p, s] = jwt.split('.');
    expect(JSON.parse(Buffer.from(p!, 'base64url').toString())).toEqual({ sub: 'svc' });
    expect(verify('sha256', Buffer.from(`${h}.${p}`), rsa.publicKey, Buffer.from(s!, 'base64url'))).toBe(true);
    expect(call('io.jwt.verify_rs256', jwt, pem(rsa.publicKey))).toBe(true);
  });

  it('crypto.x509.parse_rsa_private_key turns PKCS#1 and PKCS#8 PEM into the same JWK', () => {
    const pkcs1 = rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    const pkcs8 = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const expected = rsa.privateKey.export({ format: 'jwk' });
    expect(toJSON(call('crypto.x509.parse_rsa_private_key', pkcs1)!)).toEqual(expected);
    expect(toJSON(call('crypto.x509.parse_rsa_private_key', pkcs8)!)).toEqual(expected);
    expect(toJSON(call('crypto.x509.parse_rsa_private_key', Buffer.from(pkcs8).toString('base64'))!)).toEqual(expected);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'pem' }) as string;
    expect(() => call('crypto.x509.parse_rsa_private_key', ec)).toThrow("PEM block type is 'EC PRIVATE KEY', expected RSA PRIVATE KEY or PRIVATE KEY");
  });

  it('raises builtin errors for malformed tokens and keys', () => {
    expect(() => call('io.jwt.decode', 'x.y')).toThrow(BuiltinError);
    expect(() => call('io.jwt.verify_rs256', 'a.b.c', '-----BEGIN RSA PRIVATE KEY-----\nAA==\n-----END RSA PRIVATE KEY-----\n')).toThrow(
      'io.jwt.verify_rs256: failed to extract a Key from the PEM certificate',
    );
    expect(() => call('io.jwt.decode', fromJSON(1))).toThrow('io.jwt.decode: operand 1 must be string but got number');
  });
});
