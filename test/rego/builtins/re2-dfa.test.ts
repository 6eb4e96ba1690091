/**
 * The lazy DFA behind regex.match, checked against re2js (an independent port of RE2) on many
 * patterns and inputs, against Go's documented regexp semantics where JavaScript differs, and
 * for linear time on patterns that make a backtracking engine explode.
 */
import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import { LinearMatcher } from '../../../functions/rego/builtins/re2-dfa.js';
import { parseRE2, prefixLiteral, requiredLiteral } from '../../../functions/rego/builtins/re2-syntax.js';

const PATTERNS = [
  'AKIA[0-9A-Z]{16}', '-----BEGIN [A-Z ]*PRIVATE KEY-----', '(?i)bearer\\s+[a-z0-9._~+/-]{20,}', '\\d{3}-\\d{2}-\\d{4}',
  '[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}', '(a+)+$', '(?:a|b)*c', '\\bkey\\b', '^abc', 'abc$', '^$', '^', '$', '',
  '(?m)^b', '(?m)a$', '\\Aab', 'ab\\z', '\\Bb', 'a\\B', '(?s)a.b', 'a.b', '[^a]', '[^a-z]+x', '\\W\\w', '\\S+\\s', '\\D\\d',
  '(?i)K', '(?i)s', '(?i)[k-l]', '(?i)\\w', '(?i)\\W', '(?i)[^k]', '[[:alpha:]]+[[:^digit:]]', '[[:space:]]', '(?i)[[:upper:]]',
  'x{2,3}y', 'x{0}y', '(ab){2}', '(a|ab)(c|bcd)(d*)', 'a|b|c', '(?:)', '(|a)b', 'a**'.slice(0, 2), '\\Q.*+\\E', '\\x41\\x{42}',
  '[\\t\\n]', '\\.\\*', '[]a]', '[a-]', '[-a]', 'é+', '😀.', '.😀', '(?i)bear(?-i)ER', '(?i:ab)c', '(?P<n>a)b', '(?<n>a)b',
  '\\b', '\\B', '(?U)a+?b', 'a{2,}b', '(x+x+)+y', '(\\w+\\s?)+$', '[\\x{80}-\\x{10FFFF}]', '\\v', '\\f', '[\\v]',
];
const INPUTS = [
  '', 'a', 'abc', 'xabc', 'abcx', 'a\nb', 'b\na', 'AKIAABCDEFGHIJKLMNOP', 'akiaABCDEFGHIJKLMNOP', 'key', 'keys', 'a key.', 'Bearer abcdefghijklmnopqrstuvwxyz',
  'BEARER\tABCDEFGHIJKLMNOPQRSTUVWXYZ', 'bearer\u000babcdefghijklmnopqrstuvwxyz', 'bearer\u00a0abcdefghijklmnopqrstuvwxyz', '123-45-6789', 'x12-345-6789',
  'ann@example.com', 'ann@localhost', '-----BEGIN RSA PRIVATE KEY-----', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!', 'ababababc', 'K', '\u212a', 'ſ', 's', 'S',
  'xxy', 'xxxy', 'xy', 'abab', 'abcd', 'é', 'ééé', '😀x', 'x😀', '\ud800', 'a\u000bb', 'a\u000cb', ' \t', 'a.b', 'a*b', '.*+', 'AB', ']', '-', 'ab\n', '\nab',
  'bearER', 'BEARer', 'ABc', 'abC', 'na', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'word word  word', '\u00e9\u0301',
];

describe('LinearMatcher agrees with RE2 (re2js)', () => {
  it('on every pattern × input pair it models', () => {
    let modelled = 0;
    for (const p of PATTERNS) {
      const m = LinearMatcher.compile(p);
      if (m === null) continue;
      modelled++;
      const re = RE2JS.compile(p);
      for (const s of INPUTS) expect(m.test(s), `${JSON.stringify(p)} on ${JSON.stringify(s)}`).toBe(re.test(s));
    }
    expect(modelled).toBeGreaterThanOrEqual(PATTERNS.length - 3);
  });

  it('on random inputs over a small alphabet', () => {
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = ['a', 'b', 'c', 'x', 'y', 'K', 'k', ' ', '\n', '-', '1', '@', '.', 'é'];
    const patterns = ['(a|b)*c', 'a[bc]{2,4}x', '\\ba\\w*', '(?m)^x|y$', '(?i)ak+', '[^ab\\n]{3}', '(a*b*)*c', 'x\\B.', '^a|b$', '\\d-\\d', '[a-c]+@[a-c]+\\.c', '(?s)a.{3}b'];
    for (const p of patterns) {
      const m = LinearMatcher.compile(p)!;
      expect(m, p).not.toBeNull();
      const re = RE2JS.compile(p);
      for (let k = 0; k < 400; k++) {
        let s = '';
        const len = rand(24);
        for (let j = 0; j < len; j++) s += alphabet[rand(alphabet.length)];
        expect(m.test(s), `${JSON.stringify(p)} on ${JSON.stringify(s)}`).toBe(re.test(s));
      }
    }
  });
});

describe("Go's regexp semantics where JavaScript's differ", () => {
  const match = (p: string, s: string): boolean => LinearMatcher.compile(p)!.test(s);

  it('\\s is [\\t\\n\\f\\r ]: no \\v, no Unicode spaces', () => {
    expect(match('\\s', '\u000b')).toBe(false);
    expect(match('\\s', '\u00a0')).toBe(false);
    expect(match('\\s', '\u2003')).toBe(false);
    for (const c of ['\t', '\n', '\f', '\r', ' ']) expect(match('\\s', c)).toBe(true);
    expect(match('\\S', '\u00a0')).toBe(true);
  });

  it('\\d and \\w are ASCII, . excludes only \\n, (?s) includes it', () => {
    expect(match('\\d', '\u0663')).toBe(false); // ARABIC-INDIC DIGIT THREE
    expect(match('\\w', 'é')).toBe(false);
    expect(match('^.$', '\r')).toBe(true);
    expect(match('^.$', '\n')).toBe(false);
    expect(match('(?s)^.$', '\n')).toBe(true);
    expect(match('^.$', '😀')).toBe(true); // one code point
  });

  it('$ is the end of text unless (?m), and \\z is always', () => {
    expect(match('a$', 'a\n')).toBe(false);
    expect(match('(?m)a$', 'a\n')).toBe(true);
    expect(match('(?m)a\\z', 'a\n')).toBe(false);
    expect(match('(?m)^b', 'a\nb')).toBe(true);
    expect(match('^b', 'a\nb')).toBe(false);
  });

  it('(?i) folds ASCII letters with their Unicode orbit (K, ſ), and [^…] after folding', () => {
    expect(match('(?i)k', '\u212a')).toBe(true);
    expect(match('(?i)S', 'ſ')).toBe(true);
    expect(match('(?i)[^k]', 'K')).toBe(false);
    expect(match('(?i)\\W', '\u212a')).toBe(false);
    expect(match('\\W', '\u212a')).toBe(true);
  });

  it('[[:alpha:]] and friends are ASCII POSIX classes', () => {
    expect(match('^[[:alpha:]]+$', 'abcXYZ')).toBe(true);
    expect(match('[[:alpha:]]', 'é')).toBe(false);
    expect(match('^[[:^alpha:]]$', '1')).toBe(true);
  });
});

describe('what stays on re2js', () => {
  it('Unicode classes, case folding beyond ASCII and octal escapes are not modelled', () => {
    for (const p of ['\\pL', '\\p{Greek}', '(?i)é', '(?i)[à-ÿ]', '\\101']) expect(parseRE2(p), p).toBeNull();
  });
});

describe('literals from the syntax tree', () => {
  const lits = (p: string) => {
    const t = parseRE2(p)!;
    return { required: requiredLiteral(t), prefix: prefixLiteral(t) };
  };

  it('finds the literal every match contains and the one it starts with', () => {
    expect(lits('AKIA[0-9A-Z]{16}')).toEqual({ required: { text: 'AKIA', fold: false }, prefix: { text: 'AKIA', fold: false } });
    expect(lits('[a-z]+@[a-z]+\\.com')).toEqual({ required: { text: '.com', fold: false }, prefix: null });
    expect(lits('(?i)bearer\\s+x')).toEqual({ required: { text: 'bearer', fold: true }, prefix: { text: 'bearer', fold: true } });
    expect(lits('\\bkey\\b')).toEqual({ required: { text: 'key', fold: false }, prefix: { text: 'key', fold: false } });
    expect(lits('(ab)+c')).toEqual({ required: { text: 'ab', fold: false }, prefix: { text: 'ab', fold: false } });
  });

  it('finds none where a match need not contain one', () => {
    expect(lits('a*b?')).toEqual({ required: null, prefix: null });
    expect(lits('cat|dog')).toEqual({ required: null, prefix: null });
    expect(lits('\\d{3}')).toEqual({ required: null, prefix: null });
  });
});

describe('linear time', () => {
  it('decides patterns that are exponential for a backtracking engine in time linear in the input', () => {
    const evil = ['(a+)+$', '(a|aa)+$', '(a*)*b', '(x+x+)+y', '(\\w+\\s?)+$'];
    const text = (n: number): string => `${'a'.repeat(n)}!`;
    for (const p of evil) {
      const m = LinearMatcher.compile(p)!;
      expect(m, p).not.toBeNull();
      m.test(text(1000));
      // Work grows with the input, not exponentially: 64 KB is decided at all (a backtracker never returns).
      expect(m.test(text(65_536)), p).toBe(RE2JS.compile(p).test(text(2000)));
    }
  });

  it('keeps its state table bounded on a pattern with many DFA states', () => {
    const m = LinearMatcher.compile('a[ab]{12}c')!;
    let s = '';
    let seed = 1;
    for (let i = 0; i < 100_000; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      s += seed % 2 === 0 ? 'a' : 'b';
    }
    expect(m.test(s)).toBe(false);
    expect(m.test(`${s}c`)).toBe(RE2JS.compile('a[ab]{12}c').test(`${s}c`));
    const states = (m as unknown as { kernels: unknown[] }).kernels.length;
    expect(states).toBeLessThanOrEqual(Math.floor((64 * 1024) / (4 * 5)));
  });

  it('agrees with RE2 on long inputs that clear the table mid-scan (the scan resumes on fresh states)', () => {
    let seed = 3;
    // The high bits: the low bits of this generator repeat with a short period.
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return (seed >>> 12) % n;
    };
    for (const p of ['a[ab]{12}c', '(?i)a[ab]{10}c\\b', 'a[abł]{12}c']) {
      const m = LinearMatcher.compile(p)!;
      const re = RE2JS.compile(p);
      let resets = 0;
      const internals = m as unknown as { reset(): void };
      const reset = internals.reset.bind(m);
      internals.reset = () => {
        resets++;
        reset();
      };
      for (let k = 0; k < 20; k++) {
        let s = '';
        const len = 20_000 + rand(20_000);
        for (let j = 0; j < len; j++) s += rand(5000) === 0 ? 'cé'[rand(2)] : rand(50) === 0 ? 'ł' : 'ab'[rand(2)];
        expect(m.test(s), `${p} on input ${k}`).toBe(re.test(s));
      }
      expect(resets, p).toBeGreaterThan(0);
    }
  });
});
