import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Identity } from './types.js';

/**
 * A cached identity is an HMAC-signed blob, so an entry written into a shared cache
 * (Redis) by anyone without the signing key is rejected rather than trusted.
 * Format: base64url(JSON) "." base64url(HMAC-SHA256(key, payload)).
 */
export function signIdentity(identity: Identity, key: Buffer): string {
  const payload = Buffer.from(JSON.stringify(identity)).toString('base64url');
  return `${payload}.${mac(payload, key)}`;
}

/** Returns the identity, or undefined when the blob is malformed or its signature does not verify. */
export function verifyIdentity(blob: string, key: Buffer): Identity | undefined {
  const dot = blob.indexOf('.');
  if (dot <= 0) return undefined;
  const payload = blob.slice(0, dot);
  const given = Buffer.from(blob.slice(dot + 1), 'base64url');
  const expected = Buffer.from(mac(payload, key), 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Identity;
    if (typeof parsed.keyId !== 'string' || typeof parsed.proxyId !== 'string' || typeof parsed.orgId !== 'string') return undefined;
    return parsed;
  } catch {
    return undefined;
  }
}

const mac = (payload: string, key: Buffer) => createHmac('sha256', key).update(payload).digest('base64url');
