import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as impl from '../../../functions/rego/builtins/x509-impl.ts';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'x509-fixtures');
const file = (n: string): Buffer => readFileSync(join(dir, n));
/** Go's JSON with big integers kept exact. */
const go = JSON.parse(file('go-json.json').toString('utf8'), (_k, v: unknown, ctx?: { source?: string }) =>
  typeof v === 'number' && ctx?.source !== undefined && !Number.isSafeInteger(v) ? BigInt(ctx.source) : v,
) as Record<string, unknown>;
/** Fields newer than the Go that wrote go-json.json (see x509-fixtures/README.md). */
const NEWER_THAN_GO_1_19 = ['Policies', 'InhibitAnyPolicy', 'InhibitAnyPolicyZero', 'InhibitPolicyMapping', 'InhibitPolicyMappingZero', 'RequireExplicitPolicy', 'RequireExplicitPolicyZero', 'PolicyMappings'];
const withoutNewer = (c: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(c).filter(([k]) => !NEWER_THAN_GO_1_19.includes(k)));

describe("crypto.x509.* results match Go's json.Marshal of the same certificates and keys", () => {
  for (const name of ['root', 'int', 'leaf']) {
    it(`${name}.pem: x509.Certificate with OPA's URIStrings`, () => {
      const ours = impl.parseCertificates(file(`${name}.pem`)).map((c) => withoutNewer(impl.withURIStrings(c)));
      expect(ours).toEqual(go[name]);
    });
  }

  it('the fields newer than Go 1.19 read the leaf as Go 1.24 would', () => {
    const leaf = impl.parseCertificates(file('leaf.pem'))[0]!.json;
    expect(leaf.Policies).toEqual(['2.23.140.1.2.1']);
    expect([leaf.InhibitAnyPolicy, leaf.InhibitAnyPolicyZero, leaf.PolicyMappings]).toEqual([0, false, null]);
  });

  it('leaf.csr: x509.CertificateRequest', () => {
    const block = impl.pemBlocks(file('leaf.csr').toString('latin1'))[0]!;
    expect(impl.parseCertificateRequest(block.bytes)).toEqual(go.csr);
  });

  it('leaf.pem + leaf.key: tls.Certificate, with Leaf filled as Go 1.23+ does', () => {
    const ours = impl.parseKeyPair(file('leaf.pem').toString('latin1'), file('leaf.key').toString('latin1'));
    expect({ ...ours, Leaf: null }).toEqual(go.keypair);
    expect(ours.Leaf).toEqual(impl.parseCertificates(file('leaf.pem'))[0]!.json);
  });

  it('EC (SEC 1), Ed25519 (PKCS#8) and RSA (PKCS#1) private keys', () => {
    const text = ['ec.key', 'ed.key', 'rsa1.key'].map((n) => file(n).toString('latin1')).join('');
    expect(impl.parsePrivateKeys(text)).toEqual(go.keys);
  });

  it('a key that does not match the certificate is refused as tls does', () => {
    expect(() => impl.parseKeyPair(file('leaf.pem').toString('latin1'), file('ec.key').toString('latin1'))).toThrow('tls: private key does not match public key');
  });

  it('chain building is bounded: 150 copies of an intermediate that leads nowhere stop at 100 signature checks', () => {
    const [root] = impl.parseCertificates(file('root.pem'));
    const [int] = impl.parseCertificates(file('int.pem'));
    const [leaf] = impl.parseCertificates(file('leaf.pem'));
    // The "root" is the leaf itself, so no path through the copies ends at it.
    const copies = Array.from({ length: 150 }, () => ({ ...int! }));
    expect(() => impl.verifyChain([leaf!, ...copies, leaf!], {})).toThrow('x509: signature check attempts limit reached');
    expect(impl.verifyChain([root!, int!, leaf!], {}).map((c) => c.json.Subject)).toHaveLength(3);
  });

  it("enforces a CA's name constraints on the SANs below it, as Go 1.19 does for the same files", () => {
    const [root] = impl.parseCertificates(file('root.pem'));
    const chain = (ca: string, leaf: string): impl.ParsedCertificate[] => [root!, impl.parseCertificates(file(ca))[0]!, impl.parseCertificates(file(leaf))[0]!];
    expect(impl.verifyChain(chain('nc-ok.pem', 'nc-ok-leaf.pem'), {})).toHaveLength(3);
    expect(() => impl.verifyChain(chain('nc-bad.pem', 'nc-bad-leaf.pem'), {})).toThrow(impl.X509Error);
    // The same signed chain, with each kind of permitted list narrowed so the leaf's names fall outside it.
    const narrow: Array<[string, impl.Json]> = [
      ['PermittedDNSDomains', ['other.com']],
      ['PermittedEmailAddresses', ['ops@other.com']],
      ['PermittedURIDomains', ['.example.com']],
      ['PermittedIPRanges', [{ IP: '192.168.0.0', Mask: Buffer.from([255, 255, 0, 0]).toString('base64') }]],
    ];
    for (const [field, value] of narrow) {
      const c = chain('nc-ok.pem', 'nc-ok-leaf.pem');
      const narrowed = { ...c[1]!, json: { ...c[1]!.json, [field]: value } };
      expect(() => impl.verifyChain([c[0]!, narrowed, c[2]!], {}), field).toThrow(impl.X509Error);
    }
  });

  it('malformed DER is an x509 error, never a crash', () => {
    const der = impl.pemBlocks(file('leaf.pem').toString('latin1'))[0]!.bytes;
    for (const cut of [1, 10, 100, der.length - 1]) expect(() => impl.parseDERCertificates(der.subarray(0, cut))).toThrow(impl.X509Error);
  });
});
