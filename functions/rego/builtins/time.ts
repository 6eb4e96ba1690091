/**
 * time.* builtins with Go's semantics: nanosecond timestamps (int64 range), RFC 3339
 * parsing as time.Parse(time.RFC3339, …), Go durations, calendar fields in a named IANA
 * zone (via Intl), AddDate normalization and icza/gox's diff algorithm as OPA uses it.
 */
import { RNumber, num, type Value } from '../value.js';
import { builtinError, def, int, str, typeError } from './operands.js';
import { LayoutParseError, NAMED_LAYOUTS, format as formatLayout, parse as parseLayout } from './timelayout.js';
import type { BuiltinDef } from './types.js';

const MIN_NS = -9223372036854775808n;
const MAX_NS = 9223372036854775807n;
const NS_PER_MS = 1_000_000n;
const RFC3339 = '2006-01-02T15:04:05Z07:00';

function goQuote(s: string): string {
  return JSON.stringify(s);
}

function safeNs(name: string, ns: bigint): RNumber {
  if (ns < MIN_NS || ns > MAX_NS) throw builtinError(name, 'time outside of valid range');
  return RNumber.of(ns, 0);
}

/** A zone: 'UTC', the process's local zone, or an IANA name, with offset lookup in ms. */
interface Zone {
  offsetMs(utcMs: number): number;
  /** The zone's abbreviation at an instant (Go's "MST" layout element). */
  abbreviation(utcMs: number): string;
}

const UTC: Zone = { offsetMs: () => 0, abbreviation: () => 'UTC' };
const zoneCache = new Map<string, Zone>();

function intlZone(tz: string): Zone {
  const fmt = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
    era: 'short',
  });
  const names = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'short' });
  return {
    abbreviation(utcMs: number): string {
      const name = names.formatToParts(new Date(utcMs)).find((p) => p.type === 'timeZoneName')?.value ?? '';
      // ICU spells zones without a common abbreviation as GMT+5:30; Go's tzdata as +0530 or -03.
      const m = /^GMT([+-])(\d{1,2})(?::(\d{2}))?$/.exec(name);
      if (!m) return name === 'GMT' && tz !== 'Europe/London' ? 'GMT' : name;
      const hh = m[2]!.padStart(2, '0');
      return m[3] ? `${m[1]}${hh}${m[3]}` : `${m[1]}${hh}`;
    },
    offsetMs(utcMs: number): number {
      // Whole-second instant; the zone offset never depends on sub-second parts.
      const base = Math.floor(utcMs / 1000) * 1000;
      const parts: Record<string, string> = {};
      for (const p of fmt.formatToParts(new Date(base))) parts[p.type] = p.value;
      let year = Number(parts.year);
      if (parts.era === 'BC' || parts.era === 'B') year = 1 - year;
      const local = utcFields(year, Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second), 0);
      return local - base;
    },
  };
}

function loadZone(name: string, tz: string): Zone {
  if (tz === '' || tz === 'UTC') return UTC;
  const cached = zoneCache.get(tz);
  if (cached) return cached;
  let zone: Zone;
  if (tz === 'Local') {
    const local = Intl.DateTimeFormat().resolvedOptions().timeZone;
    zone = local === 'UTC' ? UTC : intlZone(local);
  } else {
    try {
      zone = intlZone(tz);
    } catch {
      throw builtinError(name, `unknown time zone ${tz}`);
    }
  }
  if (zoneCache.size > 256) zoneCache.clear();
  zoneCache.set(tz, zone);
  return zone;
}

/** Milliseconds since the epoch for UTC wall-clock fields, normalizing out-of-range values like Go's time.Date. */
function utcFields(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number {
  const dt = new Date(0);
  dt.setUTCFullYear(y, mo, d);
  dt.setUTCHours(h, mi, s, ms);
  return dt.getTime();
}

interface ZonedTime {
  ns: bigint;
  zone: Zone;
  layout: string;
}

/** OPA's tzTime: a number of ns, or [ns, tz] / [ns, tz, layout]. */
function tzTime(name: string, v: Value): ZonedTime {
  let n: Value;
  let zone = UTC;
  let layout = '';
  if (Array.isArray(v)) {
    if (v.length === 0) throw typeError(name, 1, v, 'either number (ns) or [number (ns), string (tz)]');
    n = v[0]!;
    if (!(n instanceof RNumber)) throw typeError(name, 1, n, 'number');
    if (v.length > 1) {
      const tz = v[1]!;
      if (typeof tz !== 'string') throw typeError(name, 1, tz, 'string');
      zone = loadZone(name, tz);
    }
    if (v.length > 2) {
      const l = v[2]!;
      if (typeof l !== 'string') throw typeError(name, 1, l, 'string');
      layout = l;
    }
  } else if (v instanceof RNumber) {
    n = v;
  } else {
    throw typeError(name, 1, v, 'either number (ns) or [number (ns), string (tz)]');
  }
  const ns = (n as RNumber).isInteger() ? (n as RNumber).toBigInt()! : undefined;
  if (ns === undefined || ns < MIN_NS || ns > MAX_NS) throw builtinError(name, 'timestamp too big');
  return { ns, zone, layout };
}

interface Fields {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number; // 0 = Sunday
  nanos: bigint; // within the second
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

function fieldsOf(t: ZonedTime): Fields {
  const ms = floorDiv(t.ns, NS_PER_MS);
  const utcMs = Number(ms);
  const local = new Date(utcMs + t.zone.offsetMs(utcMs));
  const nanos = t.ns - floorDiv(t.ns, 1_000_000_000n) * 1_000_000_000n;
  return {
    year: local.getUTCFullYear(),
    month: local.getUTCMonth() + 1,
    day: local.getUTCDate(),
    hour: local.getUTCHours(),
    minute: local.getUTCMinutes(),
    second: local.getUTCSeconds(),
    weekday: local.getUTCDay(),
    nanos,
  };
}

/** The instant of local wall-clock fields in a zone (Go's time.Date), as ns. */
function instantOf(zone: Zone, f: Omit<Fields, 'weekday'>): bigint {
  const localMs = utcFields(f.year, f.month - 1, f.day, f.hour, f.minute, f.second, 0);
  const off = zone.offsetMs(localMs - zone.offsetMs(localMs));
  return BigInt(localMs - off) * NS_PER_MS + f.nanos;
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

function daysIn(year: number, month: number): number {
  return new Date(utcFields(year, month, 0, 0, 0, 0, 0)).getUTCDate();
}

/** time.Parse(time.RFC3339, s) with Go's error texts. */
export function parseRFC3339(name: string, s: string): bigint {
  const fail = (rest: string, elem: string): never => {
    throw builtinError(name, `parsing time ${goQuote(s)} as ${goQuote(RFC3339)}: cannot parse ${goQuote(rest)} as ${goQuote(elem)}`);
  };
  let i = 0;
  const digits = (n: number, elem: string): number => {
    const part = s.slice(i, i + n);
    if (!new RegExp(`^\\d{${n}}$`).test(part)) fail(s.slice(i), elem);
    i += n;
    return Number(part);
  };
  const lit = (c: string, elem: string): void => {
    if (s[i] !== c) fail(s.slice(i), elem);
    i++;
  };
  const year = digits(4, '2006');
  lit('-', '-');
  const month = digits(2, '01');
  lit('-', '-');
  const day = digits(2, '02');
  lit('T', 'T');
  const hour = digits(2, '15');
  lit(':', ':');
  const minute = digits(2, '04');
  lit(':', ':');
  const second = digits(2, '05');
  let nanos = 0n;
  if (s[i] === '.' || s[i] === ',') {
    const m = /^[.,](\d+)/.exec(s.slice(i));
    if (!m) fail(s.slice(i), 'Z07:00');
    const frac = m![1]!;
    nanos = BigInt((frac + '000000000').slice(0, 9));
    i += m![0].length;
  }
  let offsetSec = 0;
  if (s[i] === 'Z') {
    i++;
  } else {
    const m = /^([+-])(\d{2}):(\d{2})/.exec(s.slice(i));
    if (!m) fail(s.slice(i), 'Z07:00');
    const oh = Number(m![2]);
    const om = Number(m![3]);
    if (oh > 24 || om > 60) throw builtinError(name, `parsing time ${goQuote(s)}: time zone offset out of range`);
    offsetSec = (m![1] === '-' ? -1 : 1) * (oh * 3600 + om * 60);
    i += m![0].length;
  }
  if (i < s.length) throw builtinError(name, `parsing time ${goQuote(s)}: extra text: ${goQuote(s.slice(i))}`);
  const range = (what: string): never => {
    throw builtinError(name, `parsing time ${goQuote(s)}: ${what} out of range`);
  };
  if (month < 1 || month > 12) range('month');
  if (day < 1 || day > daysIn(year, month)) range('day');
  if (hour > 23) range('hour');
  if (minute > 59) range('minute');
  if (second > 59) range('second');
  const ms = utcFields(year, month - 1, day, hour, minute, second, 0) - offsetSec * 1000;
  return BigInt(ms) * NS_PER_MS + nanos;
}

const DURATION_UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1000n,
  'µs': 1000n,
  'μs': 1000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** Go's time.ParseDuration, in ns. */
export function parseDuration(name: string, s: string): bigint {
  const invalid = (): never => {
    throw builtinError(name, `time: invalid duration ${goQuote(s)}`);
  };
  let rest = s;
  let neg = false;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    neg = rest[0] === '-';
    rest = rest.slice(1);
  }
  if (rest === '0') return 0n;
  if (rest === '') invalid();
  let total = 0n;
  while (rest !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(rest)!;
    const intPart = m[1] ?? '';
    const frac = m[2];
    if (intPart === '' && (frac === undefined || frac === '')) invalid();
    rest = rest.slice(m[0].length);
    const u = /^[^\d.]*/.exec(rest)![0];
    if (u === '') throw builtinError(name, `time: missing unit in duration ${goQuote(s)}`);
    const unit = DURATION_UNITS[u];
    if (unit === undefined) throw builtinError(name, `time: unknown unit ${goQuote(u)} in duration ${goQuote(s)}`);
    rest = rest.slice(u.length);
    let v = BigInt(intPart === '' ? '0' : intPart) * unit;
    if (frac) v += (BigInt(frac) * unit) / 10n ** BigInt(frac.length);
    total += v;
    if (total > MAX_NS + (neg ? 1n : 0n)) invalid();
  }
  return neg ? -total : total;
}

function dayOfYear(f: Fields): number {
  return Math.round((utcFields(f.year, f.month - 1, f.day, 0, 0, 0, 0) - utcFields(f.year, 0, 1, 0, 0, 0, 0)) / 86_400_000) + 1;
}

function formatTime(t: ZonedTime): string {
  const layout = t.layout === '' ? NAMED_LAYOUTS.RFC3339Nano! : (NAMED_LAYOUTS[t.layout] ?? t.layout);
  const f = fieldsOf(t);
  const utcMs = Number(floorDiv(t.ns, NS_PER_MS));
  return formatLayout(
    { ...f, nanos: Number(f.nanos), yday: dayOfYear(f), offsetSec: Math.round(t.zone.offsetMs(utcMs) / 1000), zoneName: t.zone.abbreviation(utcMs) },
    layout,
  );
}

/** time.Parse(layout, value) in UTC, as ns. */
function parseWithLayout(name: string, layoutName: string, value: string): bigint {
  const layout = NAMED_LAYOUTS[layoutName] ?? layoutName;
  let p;
  try {
    p = parseLayout(layout, value);
  } catch (e) {
    if (e instanceof LayoutParseError) throw builtinError(name, e.message);
    throw e;
  }
  const range = (what: string): never => {
    throw builtinError(name, `parsing time ${goQuote(value)}: ${what} out of range`);
  };
  if (p.yday >= 1) {
    if (p.yday > 366) range('day-of-year');
    const d = new Date(utcFields(p.year, 0, p.yday, 0, 0, 0, 0));
    p.month = d.getUTCMonth() + 1;
    p.day = d.getUTCDate();
  }
  if (p.month < 1 || p.month > 12) range('month');
  if (p.day < 1 || p.day > daysIn(p.year, p.month)) range('day');
  if (p.hour > 23) range('hour');
  if (p.minute > 59) range('minute');
  if (p.second > 59) range('second');
  const ms = utcFields(p.year, p.month - 1, p.day, p.hour, p.minute, p.second, 0) - (p.offsetSec ?? 0) * 1000;
  return BigInt(ms) * NS_PER_MS + BigInt(p.nanos);
}

export const timeBuiltins: readonly BuiltinDef[] = [
  def('time.format', ['number|array'], 'string', (args) => formatTime(tzTime('time.format', args[0]!))),
  def('time.parse_ns', ['string', 'string'], 'number', (args) => {
    const name = 'time.parse_ns';
    return safeNs(name, parseWithLayout(name, str(name, args, 0), str(name, args, 1)));
  }),
  def('time.now_ns', [], 'number', (_args, ctx) => RNumber.of(ctx.nowNs, 0), { nondeterministic: true }),
  def('time.parse_rfc3339_ns', ['string'], 'number', (args) => {
    const name = 'time.parse_rfc3339_ns';
    return safeNs(name, parseRFC3339(name, str(name, args, 0)));
  }),
  def('time.parse_duration_ns', ['string'], 'number', (args) => {
    const name = 'time.parse_duration_ns';
    return RNumber.of(parseDuration(name, str(name, args, 0)), 0);
  }),
  def('time.date', ['number|array'], 'array', (args) => {
    const f = fieldsOf(tzTime('time.date', args[0]!));
    return [num(f.year), num(f.month), num(f.day)];
  }),
  def('time.clock', ['number|array'], 'array', (args) => {
    const f = fieldsOf(tzTime('time.clock', args[0]!));
    return [num(f.hour), num(f.minute), num(f.second)];
  }),
  def('time.weekday', ['number|array'], 'string', (args) => WEEKDAYS[fieldsOf(tzTime('time.weekday', args[0]!)).weekday]!),
  def('time.add_date', ['number|array', 'number', 'number', 'number'], 'number', (args) => {
    const name = 'time.add_date';
    const t = tzTime(name, args[0]!);
    const years = int(name, args, 1);
    const months = int(name, args, 2);
    const days = int(name, args, 3);
    const f = fieldsOf(t);
    const ns = instantOf(t.zone, { ...f, year: f.year + years, month: f.month + months, day: f.day + days });
    return safeNs(name, ns);
  }),
  def('time.diff', ['number|array', 'number|array'], 'array', (args) => {
    const t1 = tzTime('time.diff', args[0]!);
    let t2 = tzTime('time.diff', args[1]!);
    // Both in t1's zone; order so that t1 ≤ t2.
    t2 = { ...t2, zone: t1.zone };
    const [a, b] = t1.ns > t2.ns ? [t2, t1] : [t1, t2];
    const f1 = fieldsOf(a);
    const f2 = fieldsOf(b);
    let year = f2.year - f1.year;
    let month = f2.month - f1.month;
    let day = f2.day - f1.day;
    let hour = f2.hour - f1.hour;
    let min = f2.minute - f1.minute;
    let sec = f2.second - f1.second;
    if (sec < 0) {
      sec += 60;
      min--;
    }
    if (min < 0) {
      min += 60;
      hour--;
    }
    if (hour < 0) {
      hour += 24;
      day--;
    }
    if (day < 0) {
      // Days in f1's month: day 32 of the month normalizes into the next one.
      const overflow = new Date(utcFields(f1.year, f1.month - 1, 32, 0, 0, 0, 0)).getUTCDate();
      day += 32 - overflow;
      month--;
    }
    if (month < 0) {
      month += 12;
      year--;
    }
    return [num(year), num(month), num(day), num(hour), num(min), num(sec)];
  }),
];
