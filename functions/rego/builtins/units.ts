/** units.parse and units.parse_bytes (SI and binary suffixes, exact arithmetic). */
import { RNumber, num } from '../value.js';
import { builtinError, def, str } from './operands.js';
import type { BuiltinDef } from './types.js';

const MAX_EXPONENT_DIGITS = 6;
const NUMBER_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** OPA's extractNumAndUnit: digits, '.', and a scientific exponent, then the unit. */
function splitNumberAndUnit(name: string, s: string): [string, string] {
  let cut = -1;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const isNum = (c >= '0' && c <= '9') || c === '.';
    if (!isNum && c !== 'e' && c !== 'E' && c !== '+' && c !== '-') {
      cut = i;
      break;
    }
    if (c === 'e' || c === 'E') {
      const next = s[i + 1];
      if (next === undefined || !/[0-9+-]/.test(next)) {
        cut = i;
        break;
      }
      if (next === '+' || next === '-') i++;
      let end = i + 1;
      while (end < s.length && s[end]! >= '0' && s[end]! <= '9') end++;
      if (end - (i + 1) > MAX_EXPONENT_DIGITS) throw builtinError(name, 'exponent too large');
    }
  }
  if (cut === -1) return [s, ''];
  return [s.slice(0, cut), s.slice(cut)];
}

function parseAmount(text: string): RNumber | undefined {
  if (!NUMBER_RE.test(text)) return undefined;
  let t = text.startsWith('+') ? text.slice(1) : text;
  t = t.replace(/^(-?)\./, '$10.').replace(/\.(?=[eE]|$)/, '');
  return num(t);
}

const K = 1000n;
const KI = 1024n;
const SI: Record<string, RNumber> = {
  '': num(1),
  m: num('0.001'),
  k: num(K),
  K: num(K),
  ki: num(KI),
  Ki: num(KI),
  M: num(K ** 2n),
  mi: num(KI ** 2n),
  Mi: num(KI ** 2n),
  g: num(K ** 3n),
  G: num(K ** 3n),
  gi: num(KI ** 3n),
  Gi: num(KI ** 3n),
  t: num(K ** 4n),
  T: num(K ** 4n),
  ti: num(KI ** 4n),
  Ti: num(KI ** 4n),
  p: num(K ** 5n),
  P: num(K ** 5n),
  pi: num(KI ** 5n),
  Pi: num(KI ** 5n),
  e: num(K ** 6n),
  E: num(K ** 6n),
  ei: num(KI ** 6n),
  Ei: num(KI ** 6n),
};

const BYTES: Record<string, RNumber> = {
  '': num(1),
  kb: num(K),
  k: num(K),
  kib: num(KI),
  ki: num(KI),
  mb: num(K ** 2n),
  m: num(K ** 2n),
  mib: num(KI ** 2n),
  mi: num(KI ** 2n),
  gb: num(K ** 3n),
  g: num(K ** 3n),
  gib: num(KI ** 3n),
  gi: num(KI ** 3n),
  tb: num(K ** 4n),
  t: num(K ** 4n),
  tib: num(KI ** 4n),
  ti: num(KI ** 4n),
  pb: num(K ** 5n),
  p: num(K ** 5n),
  pib: num(KI ** 5n),
  pi: num(KI ** 5n),
  eb: num(K ** 6n),
  e: num(K ** 6n),
  eib: num(KI ** 6n),
  ei: num(KI ** 6n),
};

export const unitBuiltins: readonly BuiltinDef[] = [
  def('units.parse', ['string'], 'number', (args) => {
    const name = 'units.parse';
    const s = str(name, args, 0).replaceAll('"', '');
    if (s.includes(' ')) throw builtinError(name, 'spaces not allowed in resource strings');
    const [amount, rawUnit] = splitNumberAndUnit(name, s);
    if (amount === '') throw builtinError(name, 'no amount provided');
    // Only the letters after the first are lowercased, keeping 'm' (milli) apart from 'M' (mega).
    const unit = rawUnit.length > 1 ? rawUnit[0] + rawUnit.slice(1).toLowerCase() : rawUnit;
    const factor = SI[unit];
    if (factor === undefined) throw builtinError(name, `unit ${unit} not recognized`);
    const n = parseAmount(amount);
    if (n === undefined) throw builtinError(name, 'could not parse amount to a number');
    return n.mul(factor);
  }),
  def('units.parse_bytes', ['string'], 'number', (args) => {
    const name = 'units.parse_bytes';
    const s = str(name, args, 0).toLowerCase().replaceAll('"', '');
    if (s.includes(' ')) throw builtinError(name, 'spaces not allowed in resource strings');
    const [amount, unit] = splitNumberAndUnit(name, s);
    if (amount === '') throw builtinError(name, 'no byte amount provided');
    const factor = BYTES[unit];
    if (factor === undefined) throw builtinError(name, `byte unit ${unit} not recognized`);
    const n = parseAmount(amount);
    if (n === undefined) throw builtinError(name, 'could not parse byte amount to a number');
    const v = n.mul(factor);
    // Truncated toward zero, as big.Float.Int.
    return v.sign() < 0 ? v.ceil() : v.floor();
  }),
];
