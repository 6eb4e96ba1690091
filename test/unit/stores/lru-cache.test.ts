import { describe, expect, it } from 'vitest';
import { LruCache } from '../../../functions/stores/lru-cache.js';

function clock(start = 1_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('LruCache', () => {
  it('returns what was set until the entry expires', async () => {
    const c = clock();
    const cache = new LruCache({ maxEntries: 10, now: c.now });
    await cache.set('a', '1', 100);
    expect(await cache.get('a')).toBe('1');
    c.advance(99);
    expect(await cache.get('a')).toBe('1');
    c.advance(1);
    expect(await cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('keeps a TTL per entry', async () => {
    const c = clock();
    const cache = new LruCache({ maxEntries: 10, now: c.now });
    await cache.set('short', 's', 10);
    await cache.set('long', 'l', 1000);
    c.advance(50);
    expect(await cache.get('short')).toBeUndefined();
    expect(await cache.get('long')).toBe('l');
  });

  it('evicts the least recently used entry when full', async () => {
    const cache = new LruCache({ maxEntries: 3 });
    await cache.set('a', '1', 60_000);
    await cache.set('b', '2', 60_000);
    await cache.set('c', '3', 60_000);
    expect(await cache.get('a')).toBe('1'); // a is now the most recent
    await cache.set('d', '4', 60_000); // evicts b
    expect(await cache.get('b')).toBeUndefined();
    expect(await cache.get('a')).toBe('1');
    expect(await cache.get('c')).toBe('3');
    expect(await cache.get('d')).toBe('4');
    expect(cache.size).toBe(3);
  });

  it('overwrites, deletes, and does not store non-positive TTLs', async () => {
    const cache = new LruCache({ maxEntries: 2 });
    await cache.set('a', '1', 60_000);
    await cache.set('a', '2', 60_000);
    expect(await cache.get('a')).toBe('2');
    await cache.delete('a');
    expect(await cache.get('a')).toBeUndefined();
    await cache.set('b', '1', 0);
    expect(await cache.get('b')).toBeUndefined();
    await cache.set('c', '1', 60_000);
    await cache.set('c', '1', -5); // replacing with "do not cache" removes the old value
    expect(await cache.get('c')).toBeUndefined();
  });

  it('rejects a non-positive size', () => {
    expect(() => new LruCache({ maxEntries: 0 })).toThrow(RangeError);
  });
});
