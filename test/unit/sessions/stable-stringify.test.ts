/**
 * stableStringify against a straightforward reference (docs: "JSON with object keys
 * sorted at every depth and null members dropped"; undefined members dropped like
 * nulls, undefined or non-JSON values elsewhere written as `null`, as JSON.stringify
 * writes them in arrays), over seeded random JSON-ish values; and the session
 * fingerprint of a fixed conversation pinned to a SHA-256 computed outside the code
 * (`printf '%s' '<canonical>' | sha256sum`), so a change of the canonical form or the
 * hash breaks this test rather than every session link in production.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalHistory, historyFingerprint, stableStringify } from '../../../functions/sessions/canonical.js';
import { chainKeyAfterTurn } from '../../../functions/sessions/resolve.js';
import { seededRandom } from '../../support/seeded-random.js';

function reference(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null) return 'null';
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : 'null';
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return '[' + value.map((v) => reference(v)).join(',') + ']';
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const members: string[] = [];
    const names = Object.keys(record).filter((k) => record[k] !== null && record[k] !== undefined);
    names.sort((a, b) => {
      // UTF-16 code unit order, compared unit by unit.
      for (let i = 0; i < Math.min(a.length, b.length); i++) {
        const d = a.charCodeAt(i) - b.charCodeAt(i);
        if (d !== 0) return d;
      }
      return a.length - b.length;
    });
    for (const k of names) members.push(JSON.stringify(k) + ':' + reference(record[k]));
    return '{' + members.join(',') + '}';
  }
  return 'null';
}


const KEYS = ['a', 'b', 'A', 'B', 'aa', 'a b', '', '10', '2', '1', '_', 'z', 'é', 'e\u0301', '日本', '😀', '\uffff', '\u0000', '"', '\\', 'constructor', 'toString', '__proto__', 'role', 'content'];
const STRINGS = ['', 'x', 'hello world', 'é', '😀', '\n\t', '"quoted"', '\\', '\u2028', '\ud800', '</script>', '0'];
const NUMBERS = [0, -0, 1, -1, 1.5, 1e21, 1e-7, 2 ** 53, Number.MAX_VALUE, Number.NaN, Number.POSITIVE_INFINITY];

function randomValue(next: () => number, depth: number): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const r = next();
  if (depth <= 0 || r < 0.4) {
    const s = next();
    if (s < 0.15) return null;
    if (s < 0.25) return undefined;
    if (s < 0.35) return next() < 0.5;
    if (s < 0.65) return pick(NUMBERS);
    return pick(STRINGS);
  }
  if (r < 0.65) return Array.from({ length: Math.floor(next() * 5) }, () => randomValue(next, depth - 1));
  const obj: Record<string, unknown> = {};
  const n = Math.floor(next() * 6);
  // defineProperty so that `__proto__` becomes an own key, as JSON.parse makes it.
  for (let i = 0; i < n; i++) Object.defineProperty(obj, pick(KEYS), { value: randomValue(next, depth - 1), enumerable: true, writable: true, configurable: true });
  return obj;
}

describe('stableStringify', () => {
  it('sorts keys at every depth, keeps array order, drops null and undefined members', () => {
    expect(stableStringify({ b: 1, a: { d: [3, null, { z: null, y: 2 }], c: undefined }, e: null })).toBe('{"a":{"d":[3,null,{"y":2}]},"b":1}');
    expect(stableStringify([undefined, null])).toBe('[null,null]');
    expect(stableStringify(undefined)).toBe('null');
    expect(stableStringify({ b: 1, B: 2, a: 3, '10': 4, '9': 5 })).toBe('{"10":4,"9":5,"B":2,"a":3,"b":1}');
  });

  it('equals the reference over 3,000 seeded random values', () => {
    const next = seededRandom(20261206);
    for (let i = 0; i < 3000; i++) {
      const value = randomValue(next, 4);
      expect(stableStringify(value), JSON.stringify(value)).toBe(reference(value));
    }
  });

  it('equals the reference on values that went through JSON.parse (own __proto__ keys, integer-like keys)', () => {
    const parsed = JSON.parse('{"__proto__":{"b":1,"a":null},"10":1,"2":[{"y":1,"x":2}],"":0}') as unknown;
    expect(stableStringify(parsed)).toBe(reference(parsed));
    expect(stableStringify(parsed)).toBe('{"":0,"10":1,"2":[{"x":2,"y":1}],"__proto__":{"b":1}}');
  });
});

describe('session fingerprints of a fixed conversation', () => {
  const conversation = [
    { role: 'system', content: 'You are terse.', name: 'ops' },
    { role: 'user', content: [{ type: 'text', text: 'What is 2+2? Say "four" in ' }, { type: 'image_url', image_url: { url: 'data:…' } }, { type: 'text', text: 'Français: é, 日本' }] },
    { role: 'assistant', content: null, refusal: null, tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'calc', arguments: '{ "b": "ü", "a": [1, {"x": true, "y": null}] }' } }] },
    { role: 'tool', tool_call_id: 'call_9', content: '4' },
    { role: 'assistant', content: 'four' },
  ];
  // Written by hand from docs/sessions.md's canonical form.
  const CANONICAL =
    '[{"content":"You are terse.","role":"system"},' +
    '{"content":"What is 2+2? Say \\"four\\" in Français: é, 日本","role":"user"},' +
    '{"role":"assistant","tool_calls":[{"arguments":"{\\"a\\":[1,{\\"x\\":true}],\\"b\\":\\"ü\\"}","id":"call_9","name":"calc"}]},' +
    '{"content":"4","role":"tool","tool_call_id":"call_9"},' +
    '{"content":"four","role":"assistant"}]';
  // `printf '%s' "$CANONICAL" | sha256sum`, computed outside the code under test.
  const FINGERPRINT = 'dd412e9e0ef65162f7dae49c34d69607ecf3d132fe51e5c3a3f619a976aaa77d';

  it('has the hand-written canonical form and its SHA-256', () => {
    expect(canonicalHistory(conversation)).toBe(CANONICAL);
    expect(createHash('sha256').update(CANONICAL, 'utf8').digest('hex')).toBe(FINGERPRINT);
    expect(historyFingerprint(conversation)).toBe(FINGERPRINT);
  });

  it('keys the chain link on the gateway key hash and that fingerprint', () => {
    const keyHash = 'e0f7637ad4da11636fa1787d177b5465ca5dafbd884077da6778b34cb2ee9f51';
    expect(chainKeyAfterTurn(keyHash, conversation.slice(0, -1), conversation.at(-1))).toBe(`chain:${keyHash}:${FINGERPRINT}`);
  });
});
