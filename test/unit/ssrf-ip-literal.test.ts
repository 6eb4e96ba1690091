import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { blockedReason, parseIpLiteral } from '../../functions/net/index.js';

interface SpellingCase {
  input: string;
  address: string | null;
  family: 4 | 6 | null;
}
const spellings = JSON.parse(readFileSync(new URL('../fixtures/ssrf/ip-spellings.json', import.meta.url), 'utf8')) as {
  cases: SpellingCase[];
};

describe('parseIpLiteral', () => {
  it.each(spellings.cases)('$input → $address', ({ input, address, family }) => {
    const parsed = parseIpLiteral(input);
    if (address === null) expect(parsed).toBeUndefined();
    else expect(parsed).toEqual({ address, family });
  });

  // The WHATWG URL parser in Node is an independent implementation of the same IPv4
  // rules: every numeric spelling it accepts must normalise to the same address here.
  it('agrees with the WHATWG URL parser on generated IPv4 spellings', () => {
    let seed = 20261123;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const spell = (n: number): string => {
      const r = random();
      if (r < 0.3) return n.toString(10);
      if (r < 0.6) return `0${n.toString(8)}`;
      return `0x${n.toString(16)}`;
    };
    let compared = 0;
    for (let i = 0; i < 3000; i++) {
      const address = Math.floor(random() * 2 ** 32);
      const bytes = [address >>> 24, (address >>> 16) & 0xff, (address >>> 8) & 0xff, address & 0xff];
      const partsCount = 1 + Math.floor(random() * 4);
      const parts: number[] = bytes.slice(0, partsCount - 1);
      parts.push(bytes.slice(partsCount - 1).reduce((acc, b) => acc * 256 + b, 0));
      const host = parts.map(spell).join('.');
      const ours = parseIpLiteral(host);
      const whatwg = new URL(`http://${host}/`).hostname;
      expect(ours?.address, host).toBe(whatwg);
      expect(ours?.address).toBe(bytes.join('.'));
      compared++;
    }
    expect(compared).toBe(3000);
  });

  it('agrees with the WHATWG URL parser on the IPv6 fixtures it accepts', () => {
    for (const { input, address, family } of spellings.cases) {
      if (family !== 6 || input.includes('%')) continue;
      const bracketed = input.startsWith('[') ? input : `[${input}]`;
      const whatwg = new URL(`http://${bracketed}/`).hostname.slice(1, -1);
      // WHATWG never prints a dotted quad; compare numerically through our parser.
      expect(parseIpLiteral(whatwg)?.address, input).toBe(address);
    }
  });

  it('parses a long hostile input in linear time', () => {
    const long = `${'0'.repeat(250)}1`;
    expect(parseIpLiteral(long)).toEqual({ address: '0.0.0.1', family: 4 });
    expect(parseIpLiteral(`${'1:'.repeat(150)}`)).toBeUndefined();
    expect(parseIpLiteral('1'.repeat(10_000))).toBeUndefined();
  });
});

describe('blockedReason on raw spellings (DNS answers, headers)', () => {
  const cases: [string, boolean, string | undefined][] = [
    ['0x7f.1', false, 'loopback'],
    ['0x7f.1', true, undefined],
    ['0177.1', false, 'loopback'],
    ['2130706433', false, 'loopback'],
    ['[::ffff:127.0.0.1]', false, 'loopback'],
    ['[::ffff:a9fe:a9fe]', true, 'metadata'],
    ['2002:a9fe:a9fe::', true, 'metadata'],
    ['64:ff9b::a9fe:a9fe', true, 'metadata'],
    ['fe80::1%eth0', true, 'link-local'],
    ['fd00:ec2::254', true, 'metadata'],
    ['0xa9fea9fe', true, 'metadata'],
    ['100.100.100.200', true, 'metadata'],
    ['metadata.google.internal', true, 'metadata'],
    ['METADATA.GOOGLE.INTERNAL..', false, 'metadata'],
    ['metadata', true, 'metadata'],
    ['metadata.google.internal.evil.com', true, 'not-an-ip-address'],
    ['api.openai.com', true, 'not-an-ip-address'],
    ['::1', false, 'loopback'],
    ['::1', true, undefined],
    ['::', true, 'unspecified'],
    ['8.8.8.8', false, undefined],
    ['2606:4700:4700::1111', false, undefined],
  ];
  it.each(cases)('%s (allowPrivateNetwork %s) → %s', (address, allowPrivateNetwork, reason) => {
    expect(blockedReason(address, { allowPrivateNetwork })).toBe(reason);
  });
});
