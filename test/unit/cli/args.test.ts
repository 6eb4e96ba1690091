import { describe, expect, it } from 'vitest';
import {
  extractGlobalOptions,
  parseCommand,
  parseDuration,
  redactSecrets,
  UsageError,
} from '../../../bin/commands/args.js';
import { formatTable } from '../../../bin/commands/output.js';
import { secretFingerprint } from '../../../functions/stores/keys.js';

describe('extractGlobalOptions', () => {
  it('takes global options from anywhere on the line, in both spellings', () => {
    expect(extractGlobalOptions(['proxies', 'list', '--aws', '--stack', 'Prod', '--region=eu-west-1', '--json'])).toEqual({
      global: { aws: true, stack: 'Prod', region: 'eu-west-1' },
      rest: ['proxies', 'list', '--json'],
    });
    expect(extractGlobalOptions(['--data-dir=/tmp/x', 'keys', 'list'])).toEqual({
      global: { aws: false, dataDir: '/tmp/x' },
      rest: ['keys', 'list'],
    });
  });

  it('leaves everything after -- alone', () => {
    expect(extractGlobalOptions(['policies', 'eval', '--', '--aws']).rest).toEqual(['policies', 'eval', '--', '--aws']);
  });

  it('refuses missing values and meaningless combinations', () => {
    expect(() => extractGlobalOptions(['keys', 'list', '--stack'])).toThrow(/'--stack' needs a value/);
    expect(() => extractGlobalOptions(['--data-dir', '--aws'])).toThrow(/'--data-dir' needs a value/);
    expect(() => extractGlobalOptions(['--region', 'us-east-1'])).toThrow(/need --aws/);
    expect(() => extractGlobalOptions(['--aws', '--data-dir', 'x'])).toThrow(UsageError);
  });
});

describe('parseCommand', () => {
  it('parses strings, booleans and repeated options', () => {
    const { positionals, values } = parseCommand(['p1', '--alias', 'a=b', '--alias=c=d', '--byok'], {
      alias: { type: 'string', multiple: true },
      byok: { type: 'boolean' },
    });
    expect(positionals).toEqual(['p1']);
    expect(values.alias).toEqual(['a=b', 'c=d']);
    expect(values.byok).toBe(true);
  });

  it('turns unknown options and missing values into short usage errors', () => {
    expect(() => parseCommand(['--nope'], {})).toThrow(UsageError);
    expect(() => parseCommand(['--nope'], {})).toThrow(/^Unknown option '--nope'$/);
    expect(() => parseCommand(['--provider'], { provider: { type: 'string' } })).toThrow(UsageError);
  });
});

describe('parseDuration', () => {
  it('reads s, m, h, d and w', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('12h')).toBe(43_200_000);
    expect(parseDuration('30d')).toBe(2_592_000_000);
    expect(parseDuration('2w')).toBe(1_209_600_000);
  });

  it('refuses zero, negatives, fractions and missing units', () => {
    for (const bad of ['0d', '-1d', '1.5d', '30', 'd', '30y', '']) expect(() => parseDuration(bad), bad).toThrow(UsageError);
  });
});

describe('redactSecrets', () => {
  it('masks gateway and provider keys, keeping their fingerprint', () => {
    const key = 'sk-sluice-' + 'A1'.repeat(22);
    const masked = redactSecrets(`bad id '${key}' and sk-proj-abcdefghijkl`);
    expect(masked).not.toContain(key);
    expect(masked).not.toContain('sk-proj-abcdefghijkl');
    expect(masked).toContain(secretFingerprint(key));
    expect(redactSecrets('risk-free sk-short')).toBe('risk-free sk-short');
  });
});

describe('formatTable', () => {
  it('aligns columns under capitalized headers', () => {
    expect(formatTable(['id', 'name'], [['a', 'first'], ['longer-id', 'x']])).toBe(
      ['ID         NAME', 'a          first', 'longer-id  x'].join('\n'),
    );
  });
});
