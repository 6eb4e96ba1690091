import { describe, expect, it } from 'vitest';
import { weightedOrder } from '../../../functions/routing/balance.js';
import { CircuitBreakers } from '../../../functions/routing/breaker.js';

function clocked() {
  let t = 1_000_000;
  return { breakers: new CircuitBreakers(() => t), advance: (ms: number) => (t += ms) };
}

describe('circuit breakers under an injected clock', () => {
  it('open after 5 consecutive failures, stay open 30 s, then let one probe through; a good probe closes', () => {
    const { breakers, advance } = clocked();
    for (let i = 0; i < 4; i++) breakers.record('a', false);
    expect(breakers.state('a')).toBe('closed');
    breakers.record('a', false);
    expect(breakers.state('a')).toBe('open');
    expect(breakers.allow('a')).toBe(false);
    advance(29_999);
    expect(breakers.allow('a')).toBe(false);
    advance(1);
    expect(breakers.state('a')).toBe('half-open');
    expect(breakers.allow('a')).toBe(true);
    expect(breakers.allow('a')).toBe(false); // one probe at a time
    breakers.record('a', true);
    expect(breakers.state('a')).toBe('closed');
    expect(breakers.allow('a')).toBe(true);
  });

  it('a probe that was let through but never sent (target skipped) is released for the next caller', () => {
    const { breakers, advance } = clocked();
    for (let i = 0; i < 5; i++) breakers.record('a', false);
    advance(30_000);
    expect(breakers.allow('a')).toBe(true);
    breakers.release('a');
    expect(breakers.allow('a')).toBe(true);
  });

  it('a failed probe opens it for another 30 s', () => {
    const { breakers, advance } = clocked();
    for (let i = 0; i < 5; i++) breakers.record('a', false);
    advance(30_000);
    expect(breakers.allow('a')).toBe(true);
    breakers.record('a', false);
    expect(breakers.state('a')).toBe('open');
    advance(29_000);
    expect(breakers.allow('a')).toBe(false);
    advance(1_000);
    expect(breakers.allow('a')).toBe(true);
  });

  it('opens at >= 50 % failures over >= 20 calls in 30 s, not before 20 calls, and forgets calls older than the window', () => {
    const { breakers, advance } = clocked();
    for (let i = 0; i < 9; i++) {
      breakers.record('b', false);
      breakers.record('b', true);
    }
    expect(breakers.state('b')).toBe('closed'); // 18 calls
    breakers.record('b', true);
    breakers.record('b', false); // 20 calls, 10 failed
    expect(breakers.state('b')).toBe('open');

    const other = clocked();
    for (let i = 0; i < 10; i++) {
      other.breakers.record('c', false);
      other.breakers.record('c', true);
    }
    // 10 failures, 10 successes, never 5 in a row: open by rate only
    expect(other.breakers.state('c')).toBe('open');

    const old = clocked();
    for (let i = 0; i < 4; i++) old.breakers.record('d', false);
    old.breakers.record('d', true);
    for (let i = 0; i < 15; i++) old.breakers.record('d', i % 4 === 0 ? false : true);
    old.advance(31_000);
    for (let i = 0; i < 19; i++) old.breakers.record('d', i % 3 === 0 ? false : true);
    expect(old.breakers.state('d')).toBe('closed');
  });

  it('breakers are per target', () => {
    const { breakers } = clocked();
    for (let i = 0; i < 5; i++) breakers.record('x', false);
    expect(breakers.state('x')).toBe('open');
    expect(breakers.state('y')).toBe('closed');
  });
});

describe('weightedOrder', () => {
  it('draws by weight without replacement', () => {
    expect(weightedOrder({ a: 70, b: 30 }, () => 0.69)).toEqual(['a', 'b']);
    expect(weightedOrder({ a: 70, b: 30 }, () => 0.7)).toEqual(['b', 'a']);
    expect(weightedOrder({ a: 1, b: 1, c: 2 }, () => 0.99)).toEqual(['c', 'b', 'a']);
    expect(weightedOrder({ a: 0, b: 5 }, () => 0)).toEqual(['b']);
  });
});
