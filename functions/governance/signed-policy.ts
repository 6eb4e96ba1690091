import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed policies: `v1:<hmac_sha256_hex>:<rego>`, the HMAC over the Rego text with
 * SLUICE_POLICY_SIGNING_KEY. When a signing key is configured every policy must carry a
 * valid signature (stripping the signature is tampering too); without a key a signed
 * policy cannot be verified and is refused.
 */
export class PolicySignatureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicySignatureError';
  }
}

const SIGNED = /^v1:([0-9a-f]{64}):/;

export function signPolicy(rego: string, key: string): string {
  return `v1:${createHmac('sha256', key).update(rego, 'utf8').digest('hex')}:${rego}`;
}

export function isSigned(body: string): boolean {
  return SIGNED.test(body);
}

/** The Rego text to compile, after verification. Throws PolicySignatureError. */
export function verifiedRego(body: string, key: string | undefined): string {
  const match = SIGNED.exec(body);
  if (!match) {
    if (key) throw new PolicySignatureError('the policy is not signed but SLUICE_POLICY_SIGNING_KEY requires signed policies');
    return body;
  }
  if (!key) throw new PolicySignatureError('the policy is signed but SLUICE_POLICY_SIGNING_KEY is not set');
  const rego = body.slice(match[0].length);
  const expected = createHmac('sha256', key).update(rego, 'utf8').digest();
  const given = Buffer.from(match[1]!, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new PolicySignatureError('the policy signature does not match');
  return rego;
}
