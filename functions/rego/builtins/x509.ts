/**
 * crypto.x509.parse_certificates, parse_and_verify_certificates(_with_options),
 * parse_certificate_request, parse_keypair and crypto.parse_private_keys, as OPA's
 * topdown/crypto.go answers them: the same input forms (PEM, base64 of PEM or DER), the same
 * result shapes (Go's structs as JSON, see x509-impl.ts) and error texts. The parsing code is
 * loaded on the first call (`rego-x509.mjs` beside the deployed bundle, else the source).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { fromJSON, RNumber, RSet, type Value } from '../value.js';
import { CorruptInput, decodeBase64Std } from './encoding.js';
import { builtinError, def, object, str } from './operands.js';
import type * as Impl from './x509-impl.ts';
import type { BuiltinContext, BuiltinDef } from './types.js';

let impl: typeof Impl | undefined;

/** The parser, loaded synchronously on first use (builtins are synchronous); see graphql.ts. */
function x509(): typeof Impl {
  if (impl !== undefined) return impl;
  const beside = new URL('./rego-x509.mjs', import.meta.url);
  const specifier = existsSync(beside) ? fileURLToPath(beside) : fileURLToPath(new URL('./x509-impl.ts', import.meta.url));
  impl = createRequire(import.meta.url)(specifier) as typeof Impl;
  return impl;
}

/** Runs fn, turning the parser's and base64's errors into `name: message` builtin errors. */
function guarded<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CorruptInput || (impl !== undefined && err instanceof impl.X509Error)) throw builtinError(name, err.message);
    throw err;
  }
}

const base64 = (s: string): Buffer => Buffer.from(decodeBase64Std(s));

/** OPA's getX509CertsFromString. */
function certificates(s: string): Impl.ParsedCertificate[] {
  return x509().parseCertificates(s.startsWith('-----BEGIN') ? Buffer.from(s, 'utf8') : base64(s));
}

const KEY_USAGES: Record<string, number> = {
  KeyUsageAny: 0,
  KeyUsageServerAuth: 1,
  KeyUsageClientAuth: 2,
  KeyUsageCodeSigning: 3,
  KeyUsageEmailProtection: 4,
  KeyUsageIPSECEndSystem: 5,
  KeyUsageIPSECTunnel: 6,
  KeyUsageIPSECUser: 7,
  KeyUsageTimeStamping: 8,
  KeyUsageOCSPSigning: 9,
  KeyUsageMicrosoftServerGatedCrypto: 10,
  KeyUsageNetscapeServerGatedCrypto: 11,
  KeyUsageMicrosoftCommercialCodeSigning: 12,
  KeyUsageMicrosoftKernelCodeSigning: 13,
};

const WITH_OPTIONS = 'crypto.x509.parse_and_verify_certificates_with_options';

/** OPA's extractVerifyOpts, with its error texts. */
function verifyOptions(options: readonly (readonly [Value, Value])[]): Impl.VerifyOptions {
  const out: Impl.VerifyOptions = {};
  for (const [k, v] of options) {
    if (typeof k !== 'string') continue;
    switch (k) {
      case 'DNSName':
        if (typeof v !== 'string') throw builtinError(WITH_OPTIONS, "'DNSName' should be a string");
        out.dnsName = v.replace(/^"+|"+$/g, '');
        break;
      case 'CurrentTime': {
        if (!(v instanceof RNumber)) throw builtinError(WITH_OPTIONS, "'CurrentTime' should be a number");
        const ns = v.toBigInt();
        if (ns === undefined || ns > 9223372036854775807n || ns < -9223372036854775808n) throw builtinError(WITH_OPTIONS, "'CurrentTime' should be a valid int64 number");
        out.currentTime = Number(ns / 1_000_000n);
        break;
      }
      case 'MaxConstraintComparisons':
        if (!(v instanceof RNumber)) throw builtinError(WITH_OPTIONS, "'MaxConstraintComparisons' should be a number");
        if (v.toBigInt() === undefined) throw builtinError(WITH_OPTIONS, "'MaxConstraintComparisons' should be a valid number");
        break;
      case 'KeyUsages': {
        if (!Array.isArray(v) && !(v instanceof RSet)) throw builtinError(WITH_OPTIONS, "'KeyUsages' should be an Array or Set");
        const usages: number[] = [];
        const invalid: string[] = [];
        for (const u of v) {
          if (typeof u !== 'string') continue;
          const name = u.replace(/^"+|"+$/g, '');
          const n = KEY_USAGES[name];
          if (n !== undefined) usages.push(n);
          else invalid.push(name);
        }
        if (invalid.length > 0) throw builtinError(WITH_OPTIONS, `invalid entries for 'KeyUsages' found: [${invalid.join(' ')}]`);
        out.keyUsages = usages;
        break;
      }
      default:
        throw builtinError(WITH_OPTIONS, 'invalid key option');
    }
  }
  return out;
}

/** Verifies at the evaluation's clock unless CurrentTime says otherwise; any failure is OPA's `[false, []]`. */
function verified(s: string, opts: Impl.VerifyOptions, uriStrings: boolean, ctx: BuiltinContext): Value {
  let chain: Impl.ParsedCertificate[];
  try {
    chain = x509().verifyChain(certificates(s), { currentTime: Number(ctx.nowNs / 1_000_000n), ...opts });
  } catch (err) {
    if (err instanceof CorruptInput || err instanceof x509().X509Error) return [false, []];
    throw err;
  }
  return [true, fromJSON(chain.map((c) => (uriStrings ? x509().withURIStrings(c) : c.json)))];
}

/** DER (after base64) as a PEM block, as OPA's getTLSx509KeyPairFromString wraps it. */
function pemOf(bytes: Buffer, type: string): string {
  const text = bytes.toString('latin1');
  if (text.startsWith('-----BEGIN')) return text;
  return `-----BEGIN ${type}-----\n${bytes.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END ${type}-----\n`;
}

export const x509Builtins: readonly BuiltinDef[] = [
  def('crypto.x509.parse_certificates', ['string'], 'array', (args) => {
    const name = 'crypto.x509.parse_certificates';
    const s = str(name, args, 0);
    return guarded(name, () => fromJSON(certificates(s).map((c) => x509().withURIStrings(c))));
  }),
  def('crypto.x509.parse_and_verify_certificates', ['string'], 'array', (args, ctx) => verified(str('crypto.x509.parse_and_verify_certificates', args, 0), {}, true, ctx)),
  def(WITH_OPTIONS, ['string', 'object'], 'array', (args, ctx) => {
    const s = str(WITH_OPTIONS, args, 0);
    const opts = verifyOptions([...object(WITH_OPTIONS, args, 1).entries()]);
    return verified(s, opts, false, ctx);
  }),
  def('crypto.x509.parse_certificate_request', ['string'], 'object', (args) => {
    const name = 'crypto.x509.parse_certificate_request';
    const s = str(name, args, 0);
    return guarded(name, () => {
      let bytes = s.startsWith('-----BEGIN CERTIFICATE REQUEST-----') ? Buffer.from(s, 'utf8') : base64(s);
      const block = x509().pemBlocks(bytes.toString('latin1'))[0];
      if (block !== undefined && block.type !== 'CERTIFICATE REQUEST') throw builtinError(name, 'invalid PEM-encoded certificate signing request');
      if (block !== undefined) bytes = block.bytes;
      return fromJSON(x509().parseCertificateRequest(bytes));
    });
  }),
  def('crypto.x509.parse_keypair', ['string', 'string'], 'object', (args) => {
    const name = 'crypto.x509.parse_keypair';
    const cert = str(name, args, 0);
    const key = str(name, args, 1);
    return guarded(name, () => {
      const certPem = pemOf(cert.startsWith('-----BEGIN ') ? Buffer.from(cert, 'utf8') : base64(cert), 'CERTIFICATE');
      const keyPem = pemOf(key.startsWith('-----BEGIN ') ? Buffer.from(key, 'utf8') : base64(key), 'PRIVATE KEY');
      return fromJSON(x509().parseKeyPair(certPem, keyPem));
    });
  }),
  def('crypto.parse_private_keys', ['string'], 'array', (args) => {
    const name = 'crypto.parse_private_keys';
    const s = str(name, args, 0);
    if (s === '') return null;
    return guarded(name, () => {
      let text = s;
      try {
        text = Buffer.from(decodeBase64Std(s)).toString('latin1');
      } catch (err) {
        if (!(err instanceof CorruptInput)) throw err;
      }
      return fromJSON(x509().parsePrivateKeys(text));
    });
  }),
];
