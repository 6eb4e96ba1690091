import { describe, expect, it } from 'vitest';
import {
  RNumber,
  RObject,
  RSet,
  compareStrings,
  compareValues,
  formatValue,
  fromJSON,
  num,
  parseJSON,
  toJSON,
  toJSONText,
  typeName,
  valueKey,
  valuesEqual,
  type Value,
} from '../../../functions/rego/value.js';

describe('RNumber', () => {
  it('treats integers and integral decimals as equal, with equal keys', () => {
    expect(num(1).equals(num('1.0'))).toBe(true);
    expect(valuesEqual(num(1), num('1.00'))).toBe(true);
    expect(valueKey(num(100))).toBe(valueKey(num('1e2')));
    expect(valueKey(num('0.50'))).toBe(valueKey(num(0.5)));
    expect(num(1).equals(num('1.0000000000000000000001'))).toBe(false);
  });

  it('keeps big integers exact', () => {
    const a = num('123456789012345678901234567890');
    expect(a.add(num(1)).toString()).toBe('123456789012345678901234567891');
    expect(num('9007199254740993').toBigInt()).toBe(9007199254740993n);
    expect(num('18446744073709551616').mul(num(2)).toString()).toBe('36893488147419103232');
    expect(num('1e30').toBigInt()).toBe(10n ** 30n);
  });

  it('adds and multiplies decimals exactly', () => {
    expect(num('0.1').add(num('0.2')).equals(num('0.3'))).toBe(true);
    expect(num('0.1').mul(num('0.1')).toString()).toBe('0.01');
    expect(num('1.5').sub(num('0.5')).isInteger()).toBe(true);
  });

  it('divides to an integer when exact, otherwise to a decimal', () => {
    expect(num(6).div(num(3)).toString()).toBe('2');
    expect(num(7).div(num(2)).toString()).toBe('3.5');
    expect(num(1).div(num(3)).toNumber()).toBe(1 / 3);
    expect(num(-1).div(num(3)).toNumber()).toBe(-1 / 3);
    expect(() => num(1).div(num(0))).toThrow('divide by zero');
  });

  it('has integer-only remainder with the sign of the dividend', () => {
    expect(num(-7).rem(num(3)).toString()).toBe('-1');
    expect(num('7.0').rem(num(2)).toString()).toBe('1');
    expect(() => num('1.5').rem(num(1))).toThrow('modulo on floating-point number');
    expect(() => num(1).rem(num(0))).toThrow('modulo by zero');
  });

  it('rounds half away from zero, floors and ceils', () => {
    expect([num(2.5).round(), num(-2.5).round(), num(2.49).round()].map(String)).toEqual(['3', '-3', '2']);
    expect([num(-1.1).floor(), num(-1.1).ceil(), num(1.1).ceil()].map(String)).toEqual(['-2', '-1', '2']);
  });

  it('spells computed numbers like Go big.Float %g and keeps literal spellings', () => {
    expect(num(1234567.5).toString()).toBe('1.2345675e+06');
    expect(num(0.00001).toString()).toBe('1e-05');
    expect(num('0.001').toString()).toBe('0.001');
    expect(num('1.0').toString()).toBe('1.0');
    expect(num('1.0').canonicalString()).toBe('1');
  });

  it('orders numbers by value across representations', () => {
    const xs = [num('2.5'), num(-1), num('1e3'), num('0.1'), num(2)];
    expect(xs.sort((a, b) => a.compare(b)).map(String)).toEqual(['-1', '0.1', '2', '2.5', '1e3']);
    expect(num('1e400').compare(num('9e399'))).toBe(1);
  });

  it('rejects malformed literals', () => {
    expect(RNumber.parse('1.2.3')).toBeUndefined();
    expect(RNumber.parse('abc')).toBeUndefined();
    expect(() => num('--1')).toThrow();
  });
});

describe('compareValues', () => {
  it("follows OPA's order of types: null < boolean < number < string < array < object < set", () => {
    const vals: Value[] = [new RSet([num(1)]), RObject.fromRecord({ a: num(1) }), [num(1)], 'a', num(1), true, false, null];
    const sorted = [...vals].sort(compareValues).map(typeName);
    expect(sorted).toEqual(['null', 'boolean', 'boolean', 'number', 'string', 'array', 'object', 'set']);
    expect(compareValues(false, true)).toBe(-1);
  });

  it('compares arrays element-wise then by length', () => {
    expect(compareValues([num(1), num(2)], [num(1), num(3)])).toBe(-1);
    expect(compareValues([num(1)], [num(1), num(0)])).toBe(-1);
    expect(compareValues([num(2)], [num(1), num(0)])).toBe(1);
  });

  it('compares objects by sorted keys then values, sets by sorted members', () => {
    const a = RObject.fromRecord({ b: num(1), a: num(2) });
    const b = RObject.fromRecord({ a: num(2), c: num(0) });
    expect(compareValues(a, b)).toBe(-1);
    expect(compareValues(new RSet([num(3), num(1)]), new RSet([num(1), num(2)]))).toBe(1);
    expect(compareValues(new RSet([num(1)]), new RSet([num(1), num(2)]))).toBe(-1);
  });

  it('orders strings by code point (UTF-8 byte order), not UTF-16 units', () => {
    expect(compareStrings('\uffff', '😀')).toBe(-1);
    expect('\uffff' < '😀').toBe(false);
    expect(compareStrings('a', 'ab')).toBe(-1);
    expect(compareStrings('b', 'a')).toBe(1);
  });
});

describe('RSet and RObject', () => {
  it('key composite values structurally', () => {
    const s = new RSet();
    s.add([num(1), 'a']).add([num('1.0'), 'a']).add(RObject.fromRecord({ k: new RSet(['x']) }));
    expect(s.size).toBe(2);
    expect(s.has([num(1), 'a'])).toBe(true);
    expect(s.has(RObject.fromRecord({ k: new RSet(['x']) }))).toBe(true);
    const o = new RObject();
    o.set(num(1), 'one').set('1', 'string one').set([num(1)], 'array');
    expect(o.size).toBe(3);
    expect(o.get(num('1.0'))).toBe('one');
    expect(o.get('1')).toBe('string one');
  });

  it('does not confuse string keys with tagged non-string keys', () => {
    const o = new RObject();
    o.set('\u0001n', 'str').set(null, 'null');
    expect(o.get('\u0001n')).toBe('str');
    expect(o.get(null)).toBe('null');
    expect(o.size).toBe(2);
  });

  it('iterate in insertion order and in sorted order', () => {
    const s = new RSet(['b', 'a', 'c']);
    expect([...s]).toEqual(['b', 'a', 'c']);
    expect(s.sorted()).toEqual(['a', 'b', 'c']);
    s.add('0');
    expect(s.sorted()).toEqual(['0', 'a', 'b', 'c']);
    const o = RObject.fromRecord({ z: num(1), y: num(2) });
    expect([...o.keys()]).toEqual(['z', 'y']);
    expect(o.sortedEntries().map(([k]) => k)).toEqual(['y', 'z']);
  });

  it('compare equal regardless of insertion order', () => {
    expect(valuesEqual(new RSet(['a', 'b']), new RSet(['b', 'a']))).toBe(true);
    expect(valueKey(new RSet(['a', 'b']))).toBe(valueKey(new RSet(['b', 'a'])));
    expect(valuesEqual(RObject.fromRecord({ a: num(1), b: num(2) }), RObject.fromRecord({ b: num(2), a: num(1) }))).toBe(true);
    expect(valuesEqual(RObject.fromRecord({ a: num(1) }), RObject.fromRecord({ a: num(2) }))).toBe(false);
  });
});

describe('JSON conversion', () => {
  it('round-trips JSON text exactly, big integers and decimal spellings included', () => {
    const text = '{"a":[1,2.50,-0.001,123456789012345678901234567890],"b":{"c":null,"d":true},"e":"x\\"y"}';
    expect(toJSONText(parseJSON(text))).toBe(text);
  });

  it('sorts object keys and set members, JSON-encodes non-string keys', () => {
    const o = new RObject();
    o.set('b', new RSet([num(2), num(1)])).set(num(1), 'one').set('a', null);
    expect(toJSONText(o)).toBe('{"1":"one","a":null,"b":[1,2]}');
    expect(toJSON(o)).toEqual({ 1: 'one', a: null, b: [1, 2] });
  });

  it('converts plain JS data and keeps __proto__ as an ordinary key', () => {
    const v = fromJSON(JSON.parse('{"__proto__": {"x": 1}, "n": 2.5, "l": [true]}'));
    expect(v).toBeInstanceOf(RObject);
    expect(toJSONText(v)).toBe('{"__proto__":{"x":1},"l":[true],"n":2.5}');
    const back = toJSON(v) as Record<string, unknown>;
    expect(Object.keys(back)).toContain('__proto__');
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
  });

  it('escapes HTML characters only when asked, as Go json.Marshal does', () => {
    expect(toJSONText('<a&b>', true)).toBe('"\\u003ca\\u0026b\\u003e"');
    expect(toJSONText('<a&b>')).toBe('"<a&b>"');
  });

  it('formats values in Rego term syntax', () => {
    expect(formatValue(new RSet())).toBe('set()');
    expect(formatValue(new RSet([num(2), 'a', num(1)]))).toBe('{1, 2, "a"}');
    expect(formatValue(RObject.fromRecord({ b: [num(1)], a: null }))).toBe('{"a": null, "b": [1]}');
  });
});
