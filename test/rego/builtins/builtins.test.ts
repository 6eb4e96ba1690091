import { describe, expect, it } from 'vitest';
import { BuiltinError, builtins, deprecatedBuiltins, laterBuiltins, refusedBuiltins, type BuiltinContext } from '../../../functions/rego/builtins/index.js';
import { cachedPatternCount } from '../../../functions/rego/builtins/regex.js';
import { RObject, RSet, formatValue, fromJSON, num, type Value } from '../../../functions/rego/value.js';

function context(overrides: Partial<BuiltinContext> = {}): BuiltinContext & { lines: string[] } {
  const lines: string[] = [];
  return { nowNs: 1_700_000_000_000_000_000n, print: (l) => lines.push(l), checkDeadline: () => {}, memo: new Map(), lines, ...overrides };
}

function call(name: string, args: readonly unknown[], ctx: BuiltinContext = context()): Value | undefined {
  const b = builtins.get(name);
  if (!b) throw new Error(`no builtin ${name}`);
  expect(args.length).toBe(b.args.length);
  const values = args.map((a) => (a instanceof RSet || a instanceof RObject || (typeof a === 'object' && a !== null && 'coef' in a) ? (a as Value) : fromJSON(a)));
  return b.fn(values, ctx);
}

function show(name: string, ...args: unknown[]): string {
  const r = call(name, args);
  return r === undefined ? 'undefined' : formatValue(r);
}

function failure(name: string, ...args: unknown[]): { code: string; message: string } {
  try {
    call(name, args);
  } catch (e) {
    if (e instanceof BuiltinError) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error(`${name} did not fail`);
}

describe('registry', () => {
  it('keeps implemented, later and refused names disjoint', () => {
    for (const n of laterBuiltins) expect(builtins.has(n), n).toBe(false);
    for (const n of refusedBuiltins) expect(builtins.has(n), n).toBe(false);
    for (const n of refusedBuiltins) expect(laterBuiltins.has(n), n).toBe(false);
    expect(refusedBuiltins.has('rego.parse_module')).toBe(true);
    // No egress, but they exist so that errors come at evaluation, as OPA's suite expects.
    for (const n of ['http.send', 'net.lookup_ip_addr', 'opa.runtime']) expect(builtins.has(n), n).toBe(true);
  });

  it('registers every builtin the issue lists, under OPA names', () => {
    const required = [
      'plus', 'minus', 'mul', 'div', 'rem', 'abs', 'round', 'ceil', 'floor', 'numbers.range', 'equal', 'neq', 'lt', 'lte', 'gt', 'gte',
      'count', 'sum', 'product', 'max', 'min', 'sort', 'array.concat', 'array.slice', 'array.reverse', 'array.flatten',
      'union', 'intersection', 'or', 'and', 'object.get', 'object.union', 'object.union_n', 'object.remove', 'object.filter', 'object.keys',
      'concat', 'contains', 'startswith', 'endswith', 'lower', 'upper', 'split', 'replace', 'strings.replace_n', 'trim', 'trim_left',
      'trim_right', 'trim_prefix', 'trim_suffix', 'trim_space', 'sprintf', 'format_int', 'indexof', 'substring', 'strings.any_prefix_match',
      'strings.any_suffix_match', 'strings.count', 'regex.match', 're_match', 'regex.find_n', 'regex.find_all_string_submatch_n',
      'regex.split', 'regex.replace', 'regex.is_valid', 'glob.match', 'is_number', 'is_string', 'is_boolean', 'is_array', 'is_set',
      'is_object', 'is_null', 'type_name', 'to_number', 'json.marshal', 'json.unmarshal', 'json.is_valid', 'base64.encode', 'base64.decode',
      'base64.is_valid', 'base64url.encode', 'base64url.encode_no_pad', 'base64url.decode', 'time.now_ns', 'time.parse_rfc3339_ns',
      'time.parse_duration_ns', 'time.date', 'time.clock', 'time.weekday', 'time.add_date', 'time.diff', 'net.cidr_contains',
      'net.cidr_is_valid', 'units.parse', 'units.parse_bytes', 'semver.compare', 'semver.is_valid', 'uuid.rfc4122', 'crypto.sha256',
      'crypto.hmac.sha256', 'walk', 'internal.print',
    ];
    for (const n of required) expect(builtins.has(n), n).toBe(true);
    for (const b of builtins.values()) expect(b.args.every((a) => /^(any|number|string|boolean|null|array|set|object)(\|(any|number|string|boolean|null|array|set|object))*$/.test(a)), b.name).toBe(true);
  });
});

describe('arithmetic and comparison', () => {
  it('computes with OPA number semantics', () => {
    expect(show('plus', num('9223372036854775807'), num(1))).toBe('9223372036854775808');
    expect(show('div', num(7), num(2))).toBe('3.5');
    expect(show('mul', num('0.1'), num(3))).toBe('0.3');
    expect(show('minus', new RSet([num(1), num(2)]), new RSet([num(2)]))).toBe('{1}');
  });

  it("reports OPA's errors with the right codes", () => {
    expect(failure('div', num(1), num(0))).toEqual({ code: 'eval_builtin_error', message: 'div: divide by zero' });
    expect(failure('rem', num('1.5'), num(1))).toEqual({ code: 'eval_builtin_error', message: 'rem: modulo on floating-point number' });
    expect(failure('plus', 'a', num(1))).toEqual({ code: 'eval_type_error', message: 'plus: operand 1 must be number but got string' });
    expect(failure('minus', num(1), new RSet())).toEqual({ code: 'eval_type_error', message: 'minus: operand 2 must be number but got set' });
  });

  it('compares across types with the total order', () => {
    expect(show('lt', null, false)).toBe('true');
    expect(show('gt', 'a', num(99))).toBe('true');
    expect(show('equal', num(1), num('1.0'))).toBe('true');
    expect(show('neq', [num(1)], [num(1)])).toBe('false');
  });

  it('checks the deadline while building long ranges', () => {
    let checks = 0;
    const ctx = context({ checkDeadline: () => void checks++ });
    const r = call('numbers.range', [num(1), num(200_000)], ctx) as Value[];
    expect(r.length).toBe(200_000);
    expect(checks).toBeGreaterThan(1);
    const stop = context({
      checkDeadline: () => {
        throw new Error('budget exceeded');
      },
    });
    expect(() => call('numbers.range', [num(1), num(10)], stop)).toThrow('budget exceeded');
  });

  it('refuses ranges too large for any budget', () => {
    expect(failure('numbers.range', num(0), num('1e12')).code).toBe('eval_builtin_error');
  });
});

describe('deprecated builtins (rejected by Rego v1 compilers, kept in the registry)', () => {
  it('any, all, set_diff and the casts behave as OPA 0.x did', () => {
    expect(show('any', [false, true])).toBe('true');
    expect(show('any', new RSet())).toBe('false');
    expect(show('all', [true, true])).toBe('true');
    expect(show('all', [true, num(1)])).toBe('false');
    expect(show('set_diff', new RSet([num(1), num(2)]), new RSet([num(2)]))).toBe('{1}');
    expect(show('cast_array', new RSet(['b', 'a']))).toBe('["b", "a"]');
    expect(show('cast_set', [num(1), num(1)])).toBe('{1}');
    expect(show('cast_string', 'x')).toBe('"x"');
    expect(show('cast_boolean', true)).toBe('true');
    expect(show('cast_null', null)).toBe('null');
    expect(show('cast_object', { a: 1 })).toBe('{"a": 1}');
    expect(failure('cast_string', num(1))).toEqual({ code: 'eval_type_error', message: 'cast_string: operand 1 must be string but got number' });
    for (const n of ['any', 'all', 'set_diff', 're_match', 'cast_array']) expect(deprecatedBuiltins.has(n), n).toBe(true);
  });
});

describe('aggregates and collections', () => {
  it('count counts code points of strings', () => {
    expect(show('count', 'a😀é')).toBe('3');
    expect(failure('count', num(1)).message).toBe('count: operand 1 must be one of {array, object, set, string} but got number');
  });

  it('max/min/sort use the value order', () => {
    expect(show('max', [num(1), 'a', null])).toBe('"a"');
    expect(show('min', new RSet([num(3), num(1)]))).toBe('1');
    expect(show('max', [])).toBe('undefined');
    expect(show('sort', [num(2), 'b', null, num(1)])).toBe('[null, 1, 2, "b"]');
  });

  it('object.union merges nested objects recursively; union_n folds left', () => {
    expect(show('object.union', { a: { b: 1 }, x: 1 }, { a: { c: 2 } })).toBe('{"a": {"b": 1, "c": 2}, "x": 1}');
    expect(show('object.union_n', [{ a: { b: 2 } }, { a: 4 }, { a: { c: 3 } }])).toBe('{"a": {"c": 3}}');
  });

  it('object.get follows paths through arrays and objects', () => {
    expect(show('object.get', { a: [{ b: 'x' }] }, ['a', 0, 'b'], 'd')).toBe('"x"');
    expect(show('object.get', { a: [] }, ['a', 5], 'd')).toBe('"d"');
  });
});

describe('strings and sprintf', () => {
  it('follows Go semantics for trim, split and replace', () => {
    expect(show('trim_space', '\u00a0\t x \u2003')).toBe('"x"');
    expect(show('trim_space', '\ufeffx')).toBe('"\ufeffx"');
    expect(show('split', 'a😀b', '')).toBe('["a", "😀", "b"]');
    expect(show('replace', 'ab', '', '-')).toBe('"-a-b-"');
    expect(show('strings.replace_n', { ab: 'X', a: 'y' }, 'aab')).toBe('"yyb"');
  });

  it('keeps Go simple case mapping', () => {
    expect(show('upper', 'straße')).toBe('"STRAßE"');
    expect(show('lower', 'ÀB')).toBe('"àb"');
  });

  it('formats like Go fmt', () => {
    expect(show('sprintf', '%v|%v|%v|%v', [num(1), num('1.5'), 'x', [num(1), 'a']])).toBe('"1|1.5|x|[1, \\"a\\"]"');
    expect(show('sprintf', '%08.3f|%-4d|%x|%X', [num('3.14159'), num(7), 'hi', num(255)])).toBe('"0003.142|7   |6869|FF"');
    expect(show('sprintf', '%d %s', [num('1.0'), num(2)])).toBe('"%!d(float64=1) %!s(int=2)"');
    expect(show('sprintf', '%v', [num('1e21')])).toBe('"1e+21"');
    expect(show('sprintf', '%c%c', [num(72), num(105)])).toBe('"Hi"');
  });
});

describe('regex', () => {
  it('matches in linear time where backtracking engines explode', () => {
    const subject = `${'a'.repeat(50_000)}!`;
    const start = performance.now();
    expect(call('regex.match', ['^(a+)+$', subject])).toBe(false);
    expect(call('regex.match', ['(a|aa)*c', subject])).toBe(false);
    expect(performance.now() - start).toBeLessThan(2000);
  });

  it('keeps the deprecated re_match as an alias of regex.match', () => {
    expect(show('re_match', '^x', 'xy')).toBe('true');
    expect(show('re_match', '^y', 'xy')).toBe('false');
  });

  it("reports Go's syntax errors and rejects non-RE2 syntax", () => {
    expect(failure('regex.match', '(?=x)', 'x').message).toMatch(/^regex\.match: error parsing regexp: /);
    expect(failure('regex.split', '[', 'x').message).toBe('regex.split: error parsing regexp: missing closing ]: `[`');
  });

  it('iterates matches like Go (no empty match right after a match)', () => {
    expect(show('regex.find_n', 'a*', 'baaac', num(-1))).toBe('["", "aaa", ""]');
    expect(show('regex.find_n', 'x*', 'axbc', num(-1))).toBe('["", "x", "", ""]');
    expect(show('regex.split', 'x*', 'axbc')).toBe('["a", "b", "c"]');
  });

  it('expands $1, ${name} and $$ like Go, treating $1x as a group named 1x', () => {
    expect(show('regex.replace', 'ab', '(a)(b)', '$2$1')).toBe('"ba"');
    expect(show('regex.replace', 'ab', '(a)', '$1x')).toBe('"b"');
    expect(show('regex.replace', 'ab', '(?P<first>a)', '${first}!$$')).toBe('"a!$b"');
  });

  it('serves many distinct patterns from a bounded cache', () => {
    for (let i = 0; i < 700; i++) expect(call('regex.match', [`^p${i}$`, `p${i}`])).toBe(true);
    expect(cachedPatternCount()).toBeLessThanOrEqual(500);
    expect(call('regex.match', ['^p0$', 'p0'])).toBe(true);
  });
});

describe('no super-linear work on adversarial strings', () => {
  it('parses long malformed numbers, versions and keys in linear time', () => {
    const digits = '1'.repeat(200_000);
    const start = performance.now();
    expect(failure('to_number', `${digits}x`).code).toBe('eval_builtin_error');
    expect(failure('units.parse', `${digits}.${digits}.x`).code).toBe('eval_builtin_error');
    expect(show('semver.is_valid', `1.0.0-${digits}x${'.1'.repeat(50_000)}!`)).toBe('false');
    expect(failure('io.jwt.verify_rs256', 'a.b.c', '-----BEGIN PUBLIC KEY-----\n'.repeat(20_000)).code).toBe('eval_builtin_error');
    expect(performance.now() - start).toBeLessThan(3000);
  });
});

describe('glob.match', () => {
  it('honours delimiters, ** and classes', () => {
    expect(show('glob.match', '*.example.com', ['.'], 'a.example.com')).toBe('true');
    expect(show('glob.match', '*.example.com', ['.'], 'a.b.example.com')).toBe('false');
    expect(show('glob.match', '**.example.com', ['.'], 'a.b.example.com')).toBe('true');
    expect(show('glob.match', 'a?c', null, 'a.c')).toBe('true');
    expect(show('glob.match', 'a?c', [], 'a.c')).toBe('false');
    expect(show('glob.match', '{api,www}.*', ['.'], 'www.x')).toBe('true');
    expect(show('glob.match', 'a*b', ['/'], `${'a'.repeat(30_000)}c`)).toBe('false');
  });
});

describe('time', () => {
  it('uses the injected clock', () => {
    expect(show('time.now_ns')).toBe('1700000000000000000');
    expect(builtins.get('time.now_ns')!.nondeterministic).toBe(true);
  });

  it('computes calendar fields in IANA zones, across DST', () => {
    // 2021-03-14T10:30:00Z is 06:30 EDT (after the spring-forward) and 03:30 the day before in UTC-7.
    const t = num('1615717800000000000');
    expect(show('time.clock', [t, 'America/New_York'])).toBe('[6, 30, 0]');
    expect(show('time.clock', [num('1615631400000000000'), 'America/New_York'])).toBe('[5, 30, 0]');
    expect(show('time.weekday', [t, 'Pacific/Auckland'])).toBe('"Sunday"');
    expect(failure('time.date', [num('-62135596800000000000'), 'UTC'])).toEqual({ code: 'eval_builtin_error', message: 'time.date: timestamp too big' });
  });
});

describe('print, walk and uuid', () => {
  it('prints the cross product of operand values with <undefined> for empty sets', () => {
    const ctx = context();
    call('internal.print', [[new RSet(['a', 'b']), new RSet(), new RSet([num(1)]), new RSet([RObject.fromRecord({ k: 'v' })])]], ctx);
    expect(ctx.lines).toEqual(['a <undefined> 1 {"k": "v"}', 'b <undefined> 1 {"k": "v"}']);
  });

  it('walk is a relation over every path', () => {
    expect(builtins.get('walk')!.relation).toBe(true);
    expect(show('walk', { a: new RSet(['x']) })).toBe('[[[], {"a": {"x"}}], [["a"], {"x"}], [["a", "x"], "x"]]');
  });

  it('uuid.rfc4122 is stable per key within an evaluation only', () => {
    const ctx = context();
    const a = call('uuid.rfc4122', ['k'], ctx);
    expect(call('uuid.rfc4122', ['k'], ctx)).toBe(a);
    expect(call('uuid.rfc4122', ['k'], context())).not.toBe(a);
  });
});
