import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Gateway keys: `sk-sluice-` + 43 base62 characters (256 bits of randomness).
 * Only the SHA-256 hex of a key is ever stored; its first 8 hex characters
 * (the fingerprint) are the only form of a secret that may be logged.
 */
export const GATEWAY_KEY_PREFIX = 'sk-sluice-';
const KEY_BODY_LENGTH = 43; // 43 × log2(62) ≈ 256 bits
const KEY_ID_BODY_LENGTH = 16; // ≈ 95 bits: ids are public, they only need to be unique

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const GATEWAY_KEY_PATTERN = /^sk-sluice-[0-9A-Za-z]{32,128}$/;
const KEY_ID_PATTERN = /^key_[0-9A-Za-z]{8,64}$/;

/** Uniform base62 string: bytes ≥ 248 are rejected so that `byte % 62` has no bias. */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length + 16)) {
      if (byte < 248) out += BASE62[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

export interface GeneratedGatewayKey {
  /** The secret; shown to the user once, never stored. */
  key: string;
  /** Public id (`key_…`), safe to log and print. */
  id: string;
  /** SHA-256 hex of `key`: what the store keeps. */
  hash: string;
}

export function generateGatewayKey(): GeneratedGatewayKey {
  const key = GATEWAY_KEY_PREFIX + randomBase62(KEY_BODY_LENGTH);
  return { key, id: newKeyId(), hash: hashKey(key) };
}

export function newKeyId(): string {
  return 'key_' + randomBase62(KEY_ID_BODY_LENGTH);
}

/** SHA-256 hex of a key: the lookup key of the key store. */
export function hashKey(key: string): string {
  return hash('sha256', key, 'hex');
}

/** First 8 hex characters of the secret's SHA-256: the only loggable form of a secret. */
export function secretFingerprint(secret: string): string {
  return hashKey(secret).slice(0, 8);
}

/**
 * Constant-time comparison of two hex digests. Lengths are compared first;
 * that leaks only the length, which is public (64 for SHA-256).
 */
export function timingSafeEqualHex(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  if (left.length !== right.length) return false;
  return timingSafeEqual(left, right);
}

/** True when `s` has the shape of a Sluice gateway key (says nothing about validity). */
export function looksLikeGatewayKey(s: string): boolean {
  return GATEWAY_KEY_PATTERN.test(s);
}

export function isKeyId(s: string): boolean {
  return KEY_ID_PATTERN.test(s);
}
