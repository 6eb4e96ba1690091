/**
 * crypto.x509.parse_certificates, parse_and_verify_certificates(_with_options),
 * parse_certificate_request, parse_keypair and crypto.parse_private_keys, as OPA's
 * topdown/crypto.go answers them: the same input forms (PEM, base64 of PEM or DER), the same
 * result shapes (Go's structs as JSON, see x509-impl.ts) and error texts. Loaded on first use
 * (lazy.ts); values are built through `host`.
 */
import type { Value } from '../value.js';
import type { Host, LazyBuiltin } from './lazy.js';
import type { BuiltinContext } from './types.js';
import { parseCertificateRequest, parseCertificates, parseKeyPair, parsePrivateKeys, pemBlocks, verifyChain, withURIStrings, X509Error, type ParsedCertificate, type VerifyOptions } from './x509-impl.ts';

/** Runs fn, turning the parser's and base64's errors into `name: message` builtin errors. */
function guarded<T>(h: Host, name: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof h.CorruptInput || err instanceof X509Error) throw h.builtinError(name, err.message);
    throw err;
  }
}

const base64 = (h: Host, s: string): Buffer => Buffer.from(h.decodeBase64Std(s));

/** OPA's getX509CertsFromString. */
function certificates(h: Host, s: string): ParsedCertificate[] {
  return parseCertificates(s.startsWith('-----BEGIN') ? Buffer.from(s, 'utf8') : base64(h, s));
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
function verifyOptions(h: Host, options: readonly (readonly [Value, Value])[]): VerifyOptions {
  const out: VerifyOptions = {};
  for (const [k, v] of options) {
    if (typeof k !== 'string') continue;
    switch (k) {
      case 'DNSName':
        if (typeof v !== 'string') throw h.builtinError(WITH_OPTIONS, "'DNSName' should be a string");
        out.dnsName = v.replace(/^"+|"+$/g, '');
        break;
      case 'CurrentTime': {
        if (!(v instanceof h.RNumber)) throw h.builtinError(WITH_OPTIONS, "'CurrentTime' should be a number");
        const ns = v.toBigInt();
        if (ns === undefined || ns > 9223372036854775807n || ns < -9223372036854775808n) throw h.builtinError(WITH_OPTIONS, "'CurrentTime' should be a valid int64 number");
        out.currentTime = Number(ns / 1_000_000n);
        break;
      }
      case 'MaxConstraintComparisons':
        if (!(v instanceof h.RNumber)) throw h.builtinError(WITH_OPTIONS, "'MaxConstraintComparisons' should be a number");
        if (v.toBigInt() === undefined) throw h.builtinError(WITH_OPTIONS, "'MaxConstraintComparisons' should be a valid number");
        break;
      case 'KeyUsages': {
        if (!Array.isArray(v) && !(v instanceof h.RSet)) throw h.builtinError(WITH_OPTIONS, "'KeyUsages' should be an Array or Set");
        const usages: number[] = [];
        const invalid: string[] = [];
        for (const u of v) {
          if (typeof u !== 'string') continue;
          const name = u.replace(/^"+|"+$/g, '');
          const n = KEY_USAGES[name];
          if (n !== undefined) usages.push(n);
          else invalid.push(name);
        }
        if (invalid.length > 0) throw h.builtinError(WITH_OPTIONS, `invalid entries for 'KeyUsages' found: [${invalid.join(' ')}]`);
        out.keyUsages = usages;
        break;
      }
      default:
        throw h.builtinError(WITH_OPTIONS, 'invalid key option');
    }
  }
  return out;
}

/** Verifies at the evaluation's clock unless CurrentTime says otherwise; any failure is OPA's `[false, []]`. */
function verified(h: Host, s: string, opts: VerifyOptions, uriStrings: boolean, ctx: BuiltinContext): Value {
  let chain: ParsedCertificate[];
  try {
    chain = verifyChain(certificates(h, s), { currentTime: Number(ctx.nowNs / 1_000_000n), ...opts });
  } catch (err) {
    if (err instanceof h.CorruptInput || err instanceof X509Error) return [false, []];
    throw err;
  }
  return [true, h.fromJSON(chain.map((c) => (uriStrings ? withURIStrings(c) : c.json)))];
}

function str(h: Host, name: string, args: readonly Value[], i: number): string {
  const v = args[i]!;
  if (typeof v !== 'string') throw h.typeError(name, i + 1, v, 'string');
  return v;
}

/** DER (after base64) as a PEM block, as OPA's getTLSx509KeyPairFromString wraps it. */
function pemOf(bytes: Buffer, type: string): string {
  const text = bytes.toString('latin1');
  if (text.startsWith('-----BEGIN')) return text;
  return `-----BEGIN ${type}-----\n${bytes.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END ${type}-----\n`;
}

export const builtins: Record<string, LazyBuiltin> = {
  'crypto.x509.parse_certificates': (args, _ctx, h) => {
    const name = 'crypto.x509.parse_certificates';
    const s = str(h, name, args, 0);
    return guarded(h, name, () => h.fromJSON(certificates(h, s).map(withURIStrings)));
  },
  'crypto.x509.parse_and_verify_certificates': (args, ctx, h) => verified(h, str(h, 'crypto.x509.parse_and_verify_certificates', args, 0), {}, true, ctx),
  [WITH_OPTIONS]: (args, ctx, h) => {
    const s = str(h, WITH_OPTIONS, args, 0);
    const o = args[1]!;
    if (!(o instanceof h.RObject)) throw h.typeError(WITH_OPTIONS, 2, o, 'object');
    return verified(h, s, verifyOptions(h, [...o.entries()]), false, ctx);
  },
  'crypto.x509.parse_certificate_request': (args, _ctx, h) => {
    const name = 'crypto.x509.parse_certificate_request';
    const s = str(h, name, args, 0);
    return guarded(h, name, () => {
      let bytes = s.startsWith('-----BEGIN CERTIFICATE REQUEST-----') ? Buffer.from(s, 'utf8') : base64(h, s);
      const block = pemBlocks(bytes.toString('latin1'))[0];
      if (block !== undefined && block.type !== 'CERTIFICATE REQUEST') throw h.builtinError(name, 'invalid PEM-encoded certificate signing request');
      if (block !== undefined) bytes = block.bytes;
      return h.fromJSON(parseCertificateRequest(bytes));
    });
  },
  'crypto.x509.parse_keypair': (args, _ctx, h) => {
    const name = 'crypto.x509.parse_keypair';
    const cert = str(h, name, args, 0);
    const key = str(h, name, args, 1);
    return guarded(h, name, () => {
      const certPem = pemOf(cert.startsWith('-----BEGIN ') ? Buffer.from(cert, 'utf8') : base64(h, cert), 'CERTIFICATE');
      const keyPem = pemOf(key.startsWith('-----BEGIN ') ? Buffer.from(key, 'utf8') : base64(h, key), 'PRIVATE KEY');
      return h.fromJSON(parseKeyPair(certPem, keyPem));
    });
  },
  'crypto.parse_private_keys': (args, _ctx, h) => {
    const name = 'crypto.parse_private_keys';
    const s = str(h, name, args, 0);
    if (s === '') return null;
    return guarded(h, name, () => {
      let text = s;
      try {
        text = Buffer.from(h.decodeBase64Std(s)).toString('latin1');
      } catch (err) {
        if (!(err instanceof h.CorruptInput)) throw err;
      }
      return h.fromJSON(parsePrivateKeys(text));
    });
  },
};
