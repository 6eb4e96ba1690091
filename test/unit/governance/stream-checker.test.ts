import { describe, expect, it } from 'vitest';
import { StreamChecker } from '../../../functions/governance/stream-checker.js';
import { MASK_CHAR } from '../../../functions/governance/redact.js';

const SECRET = { pattern: 'sk-[A-Za-z0-9]{8}', maxLen: 11 };
const mask = (n: number) => MASK_CHAR.repeat(n);

function run(checker: StreamChecker, chunks: string[]) {
  const emitted: string[] = [];
  for (const c of chunks) {
    const r = checker.push(c);
    emitted.push(r.emit);
    if (r.denied) return { emitted, denied: r.denied };
  }
  const r = checker.end();
  emitted.push(r.emit);
  return { emitted, ...(r.denied ? { denied: r.denied } : {}) };
}

describe('StreamChecker (stream_redact)', () => {
  it.each([
    ['in one chunk', ['my key is sk-ABCDEFGH ok']],
    ['split across two chunks', ['my key is sk-ABC', 'DEFGH ok']],
    ['split across three chunks', ['my key is s', 'k-ABCD', 'EFGH ok']],
    ['one character per chunk', 'my key is sk-ABCDEFGH ok'.split('')],
  ])('masks a secret %s', (_name, chunks) => {
    const { emitted } = run(new StreamChecker([SECRET], []), chunks);
    expect(emitted.join('')).toBe(`my key is ${mask(11)} ok`);
  });

  it('a secret at the window edge of a long stream is masked, and text flows with at most one window of delay', () => {
    const checker = new StreamChecker([SECRET], []);
    const filler = 'x'.repeat(40);
    const first = checker.push(filler);
    expect(first.emit).toBe('x'.repeat(40 - 10)); // window 11: the last 10 characters are held
    const second = checker.push('sk-ABCDE');
    expect(second.emit).toBe('x'.repeat(8)); // the held filler moves on; the partial secret stays held
    const third = checker.push('FGH and more text here');
    const rest = checker.end();
    expect(first.emit + second.emit + third.emit + rest.emit).toBe(`${filler}${mask(11)} and more text here`);
  });

  it('text with no match passes unchanged', () => {
    const { emitted } = run(new StreamChecker([SECRET], []), ['hello ', 'world, ', 'sk-short']);
    expect(emitted.join('')).toBe('hello world, sk-short');
  });

  it('buffered mode holds everything until the end', () => {
    const checker = new StreamChecker([SECRET], [], true);
    expect(checker.push('a long text '.repeat(10)).emit).toBe('');
    expect(checker.end().emit).toBe('a long text '.repeat(10));
  });
});

describe('StreamChecker (stream_deny)', () => {
  const DENY = { pattern: 'rm -rf /', maxLen: 8 };
  it('stops on a match split across chunks, before the match is sent, and says where it cut', () => {
    const checker = new StreamChecker([], [DENY]);
    const { emitted, denied } = run(checker, ['please run ', 'rm -', 'rf / now']);
    expect(denied).toEqual({ pattern: 'rm -rf /', at: 11 });
    expect(emitted.join('')).not.toContain('rm -rf');
    expect(emitted.join('')).toBe('please run '.slice(0, emitted.join('').length));
    expect(checker.isStopped).toBe(true);
    expect(checker.push('more').emit).toBe('');
  });
});
