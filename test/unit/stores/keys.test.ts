import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  generateGatewayKey,
  hashKey,
  isKeyId,
  looksLikeGatewayKey,
  randomBase62,
  secretFingerprint,
  timingSafeEqualHex,
} from '../../../functions/stores/keys.js';

describe('gateway keys', () => {
  it('generates a prefixed key with at least 256 bits of base62 randomness, a public id and its SHA-256', () => {
    const { key, id, hash } = generateGatewayKey();
    expect(key).toMatch(/^sk-sluice-[0-9A-Za-z]{43}$/);
    expect(id).toMatch(/^key_[0-9A-Za-z]{16}$/);
    expect(hash).toBe(createHash('sha256').update(key).digest('hex'));
    expect(id).not.toContain(key.slice(10, 20));
  });

  it('never repeats keys or ids', () => {
    const keys = new Set<string>();
    const ids = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const generated = generateGatewayKey();
      keys.add(generated.key);
      ids.add(generated.id);
    }
    expect(keys.size).toBe(2000);
    expect(ids.size).toBe(2000);
  });

  it('draws base62 characters roughly uniformly', () => {
    const counts = new Map<string, number>();
    const sample = randomBase62(62_000);
    expect(sample).toHaveLength(62_000);
    for (const ch of sample) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).toBe(62);
    for (const count of counts.values()) {
      expect(count).toBeGreaterThan(800);
      expect(count).toBeLessThan(1200);
    }
  });

  it('hashes and fingerprints with SHA-256', () => {
    expect(hashKey('hello')).toBe('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    expect(secretFingerprint('hello')).toBe('2cf24dba');
    expect(secretFingerprint('hello')).toHaveLength(8);
  });

  it('compares hex digests in constant time, refusing different lengths', () => {
    const a = hashKey('one');
    expect(timingSafeEqualHex(a, hashKey('one'))).toBe(true);
    expect(timingSafeEqualHex(a, hashKey('two'))).toBe(false);
    expect(timingSafeEqualHex(a, a.slice(0, 63))).toBe(false);
    expect(timingSafeEqualHex('', '')).toBe(true);
  });

  it('recognizes the key and id shapes', () => {
    expect(looksLikeGatewayKey(generateGatewayKey().key)).toBe(true);
    expect(looksLikeGatewayKey('sk-sluice-short')).toBe(false);
    expect(looksLikeGatewayKey('sk-proj-' + 'a'.repeat(43))).toBe(false);
    expect(looksLikeGatewayKey('sk-sluice-' + 'a'.repeat(42) + '!')).toBe(false);
    expect(looksLikeGatewayKey(' sk-sluice-' + 'a'.repeat(43))).toBe(false);
    expect(isKeyId(generateGatewayKey().id)).toBe(true);
    expect(isKeyId('key_')).toBe(false);
    expect(isKeyId('prx_abcdefgh')).toBe(false);
  });
});
