/** Go's time layout language ("2006-01-02T15:04:05Z07:00") for time.format and time.parse_ns. */

export const NAMED_LAYOUTS: Record<string, string> = {
  ANSIC: 'Mon Jan _2 15:04:05 2006',
  UnixDate: 'Mon Jan _2 15:04:05 MST 2006',
  RubyDate: 'Mon Jan 02 15:04:05 -0700 2006',
  RFC822: '02 Jan 06 15:04 MST',
  RFC822Z: '02 Jan 06 15:04 -0700',
  RFC850: 'Monday, 02-Jan-06 15:04:05 MST',
  RFC1123: 'Mon, 02 Jan 2006 15:04:05 MST',
  RFC1123Z: 'Mon, 02 Jan 2006 15:04:05 -0700',
  RFC3339: '2006-01-02T15:04:05Z07:00',
  RFC3339Nano: '2006-01-02T15:04:05.999999999Z07:00',
};

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

// Layout elements, longest first where one is a prefix of another (Go's nextStdChunk order).
const STD = [
  'January', 'Jan', 'Monday', 'Mon', 'MST',
  '2006', '002', '01', '02', '03', '04', '05', '06', '__2', '_2',
  '15', '1', '2', '3', '4', '5',
  'PM', 'pm',
  'Z07:00:00', 'Z070000', 'Z07:00', 'Z0700', 'Z07',
  '-07:00:00', '-070000', '-07:00', '-0700', '-07',
];

export type Chunk = { lit: string } | { std: string } | { frac: '0' | '9'; digits: number; sep: string };

/** Splits a layout into literal text and elements. */
export function tokenize(layout: string): Chunk[] {
  const out: Chunk[] = [];
  let lit = '';
  let i = 0;
  outer: while (i < layout.length) {
    const c = layout[i]!;
    if ((c === '.' || c === ',') && (layout[i + 1] === '0' || layout[i + 1] === '9')) {
      const d = layout[i + 1]!;
      let j = i + 1;
      while (layout[j] === d) j++;
      if (!/[0-9]/.test(layout[j] ?? '')) {
        if (lit) out.push({ lit });
        lit = '';
        out.push({ frac: d as '0' | '9', digits: j - i - 1, sep: c });
        i = j;
        continue;
      }
    }
    for (const s of STD) {
      if (layout.startsWith(s, i)) {
        // "Jan"/"Mon" are only elements when not followed by a lowercase letter (January, Monday handled first).
        if ((s === 'Jan' || s === 'Mon') && /[a-z]/.test(layout[i + s.length] ?? '')) break;
        if (lit) out.push({ lit });
        lit = '';
        out.push({ std: s });
        i += s.length;
        continue outer;
      }
    }
    lit += c;
    i++;
  }
  if (lit) out.push({ lit });
  return out;
}

export interface Broken {
  year: number;
  month: number; // 1-12
  day: number;
  yday: number;
  hour: number;
  minute: number;
  second: number;
  nanos: number;
  weekday: number;
  offsetSec: number;
  zoneName: string;
}

const pad = (n: number, w: number, ch = '0'): string => String(n).padStart(w, ch);

function formatOffset(off: number, std: string): string {
  if (std.startsWith('Z') && off === 0) return 'Z';
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  const h = pad(Math.floor(a / 3600), 2);
  const m = pad(Math.floor((a % 3600) / 60), 2);
  const s = pad(a % 60, 2);
  const body = std.replace(/^[Z-]/, '');
  switch (body) {
    case '07':
      return sign + h;
    case '0700':
      return sign + h + m;
    case '070000':
      return sign + h + m + s;
    case '07:00':
      return `${sign}${h}:${m}`;
    default:
      return `${sign}${h}:${m}:${s}`;
  }
}

export function format(t: Broken, layout: string): string {
  let out = '';
  for (const ch of tokenize(layout)) {
    if ('lit' in ch) {
      out += ch.lit;
      continue;
    }
    if ('frac' in ch) {
      const digits = pad(t.nanos, 9).slice(0, ch.digits);
      if (ch.frac === '0') out += ch.sep + digits;
      else {
        const trimmed = digits.replace(/0+$/, '');
        if (trimmed) out += ch.sep + trimmed;
      }
      continue;
    }
    const h12 = t.hour % 12 === 0 ? 12 : t.hour % 12;
    switch (ch.std) {
      case 'January': out += MONTHS[t.month - 1]; break;
      case 'Jan': out += MONTHS[t.month - 1]!.slice(0, 3); break;
      case '1': out += t.month; break;
      case '01': out += pad(t.month, 2); break;
      case 'Monday': out += DAYS[t.weekday]; break;
      case 'Mon': out += DAYS[t.weekday]!.slice(0, 3); break;
      case '2': out += t.day; break;
      case '_2': out += pad(t.day, 2, ' '); break;
      case '02': out += pad(t.day, 2); break;
      case '__2': out += pad(t.yday, 3, ' '); break;
      case '002': out += pad(t.yday, 3); break;
      case '15': out += pad(t.hour, 2); break;
      case '3': out += h12; break;
      case '03': out += pad(h12, 2); break;
      case '4': out += t.minute; break;
      case '04': out += pad(t.minute, 2); break;
      case '5': out += t.second; break;
      case '05': out += pad(t.second, 2); break;
      case '2006': out += t.year < 0 ? `-${pad(-t.year, 4)}` : pad(t.year, 4); break;
      case '06': out += pad(((t.year % 100) + 100) % 100, 2); break;
      case 'PM': out += t.hour >= 12 ? 'PM' : 'AM'; break;
      case 'pm': out += t.hour >= 12 ? 'pm' : 'am'; break;
      case 'MST': out += t.zoneName; break;
      default: out += formatOffset(t.offsetSec, ch.std);
    }
  }
  return out;
}

export class LayoutParseError extends Error {}

export interface Parsed {
  year: number;
  month: number;
  day: number;
  yday: number;
  hour: number;
  minute: number;
  second: number;
  nanos: number;
  offsetSec: number | undefined;
}

/** Go's time.Parse field extraction; range checks are left to the caller. */
export function parse(layout: string, value: string): Parsed {
  const q = (s: string): string => JSON.stringify(s);
  const p: Parsed = { year: 1, month: 1, day: 1, yday: -1, hour: 0, minute: 0, second: 0, nanos: 0, offsetSec: undefined };
  let pm: boolean | undefined;
  let v = value;
  const fail = (elem: string): never => {
    throw new LayoutParseError(`parsing time ${q(value)} as ${q(layout)}: cannot parse ${q(v)} as ${q(elem)}`);
  };
  const num = (min: number, max: number, elem: string): number => {
    const m = new RegExp(`^\\d{${min},${max}}`).exec(v);
    if (!m) fail(elem);
    v = v.slice(m![0].length);
    return Number(m![0]);
  };
  const chunks = tokenize(layout);
  for (let ci = 0; ci < chunks.length; ci++) {
    const ch = chunks[ci]!;
    if ('lit' in ch) {
      // Go skips leading spaces in both before comparing a literal.
      let l = ch.lit;
      while (l.startsWith(' ') && v.startsWith(' ')) {
        l = l.slice(1);
        v = v.slice(1);
      }
      if (!v.startsWith(l)) fail(l);
      v = v.slice(l.length);
      continue;
    }
    if ('frac' in ch) {
      if (ch.frac === '0') {
        const m = new RegExp(`^[.,](\\d{${ch.digits}})`).exec(v);
        if (!m) fail(`${ch.sep}${'0'.repeat(ch.digits)}`);
        p.nanos = Number((m![1]! + '000000000').slice(0, 9));
        v = v.slice(m![0].length);
      } else {
        const m = /^[.,](\d+)/.exec(v);
        if (m) {
          p.nanos = Number((m[1]! + '000000000').slice(0, 9));
          v = v.slice(m[0].length);
        }
      }
      continue;
    }
    const s = ch.std;
    switch (s) {
      case 'January':
      case 'Jan': {
        const names = s === 'Jan' ? MONTHS.map((m) => m.slice(0, 3)) : MONTHS;
        const idx = names.findIndex((n) => v.toLowerCase().startsWith(n.toLowerCase()));
        if (idx < 0) fail(s);
        v = v.slice(names[idx]!.length);
        p.month = idx + 1;
        break;
      }
      case 'Monday':
      case 'Mon': {
        const names = s === 'Mon' ? DAYS.map((d) => d.slice(0, 3)) : DAYS;
        const idx = names.findIndex((n) => v.toLowerCase().startsWith(n.toLowerCase()));
        if (idx < 0) fail(s);
        v = v.slice(names[idx]!.length);
        break;
      }
      case '1': p.month = num(1, 2, s); break;
      case '01': p.month = num(2, 2, s); break;
      case '2': p.day = num(1, 2, s); break;
      case '_2':
        if (v.startsWith(' ')) v = v.slice(1);
        p.day = num(1, 2, s);
        break;
      case '02': p.day = num(2, 2, s); break;
      case '__2':
        v = v.replace(/^ {0,2}/, '');
        p.yday = num(1, 3, s);
        break;
      case '002': p.yday = num(3, 3, s); break;
      case '15': p.hour = num(1, 2, s); break;
      case '3': p.hour = num(1, 2, s); break;
      case '03': p.hour = num(2, 2, s); break;
      case '4': p.minute = num(1, 2, s); break;
      case '04': p.minute = num(2, 2, s); break;
      case '5':
      case '05': {
        p.second = s === '5' ? num(1, 2, s) : num(2, 2, s);
        // A fractional second is accepted after seconds even when the layout has none.
        const next = chunks[ci + 1];
        if (!(next && 'frac' in next)) {
          const m = /^[.,](\d+)/.exec(v);
          if (m) {
            p.nanos = Number((m[1]! + '000000000').slice(0, 9));
            v = v.slice(m[0].length);
          }
        }
        break;
      }
      case '2006': {
        const m = /^\d{4}/.exec(v);
        if (!m) fail(s);
        p.year = Number(m![0]);
        v = v.slice(4);
        break;
      }
      case '06': {
        const y = num(2, 2, s);
        p.year = y >= 69 ? 1900 + y : 2000 + y;
        break;
      }
      case 'PM':
      case 'pm': {
        const m = /^(AM|PM)/i.exec(v);
        if (!m) fail(s);
        pm = m![1]!.toUpperCase() === 'PM';
        v = v.slice(2);
        break;
      }
      case 'MST': {
        const m = /^(UTC|GMT[+-]\d{1,2}|[A-Z]{3,5}|[A-Z]{2}T)/.exec(v);
        if (!m) fail(s);
        // Without a location, unknown abbreviations get a zero offset, as in Go.
        const g = /^GMT([+-]\d{1,2})$/.exec(m![1]!);
        p.offsetSec = g ? Number(g[1]) * 3600 : 0;
        v = v.slice(m![0].length);
        break;
      }
      default: {
        if (s.startsWith('Z') && v.startsWith('Z')) {
          v = v.slice(1);
          p.offsetSec = 0;
          break;
        }
        const body = s.replace(/^[Z-]/, '');
        const re =
          body === '07' ? /^([+-])(\d{2})/ : body === '0700' ? /^([+-])(\d{2})(\d{2})/ : body === '070000' ? /^([+-])(\d{2})(\d{2})(\d{2})/ : body === '07:00' ? /^([+-])(\d{2}):(\d{2})/ : /^([+-])(\d{2}):(\d{2}):(\d{2})/;
        const m = re.exec(v);
        if (!m) fail(s);
        const sec = Number(m![2]) * 3600 + Number(m![3] ?? 0) * 60 + Number(m![4] ?? 0);
        p.offsetSec = m![1] === '-' ? -sec : sec;
        v = v.slice(m![0].length);
      }
    }
  }
  if (v.length > 0) throw new LayoutParseError(`parsing time ${q(value)}: extra text: ${q(v)}`);
  if (pm !== undefined) {
    if (p.hour > 12) throw new LayoutParseError(`parsing time ${q(value)}: hour out of range`);
    if (pm && p.hour < 12) p.hour += 12;
    else if (!pm && p.hour === 12) p.hour = 0;
  }
  return p;
}
