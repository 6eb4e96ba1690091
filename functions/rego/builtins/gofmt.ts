/**
 * A subset of Go's fmt.Sprintf, for OPA's sprintf: OPA hands Go integers (int or *big.Int),
 * float64s and strings (every other value already rendered in Rego syntax) to fmt.Sprintf.
 * Supported: flags + - # space 0, width, precision, verbs v s d b o O x X c q U e E f F g G t T %,
 * and Go's %!verb(type=value), %!v(MISSING) and %!(EXTRA …) markers.
 */

export type GoArg = { kind: 'int'; v: bigint; big: boolean } | { kind: 'float'; v: number } | { kind: 'string'; v: string; typeName?: string };

interface Spec {
  plus: boolean;
  minus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width: number | undefined;
  prec: number | undefined;
}

function goTypeName(a: GoArg): string {
  if (a.kind === 'int') return a.big ? '*big.Int' : 'int';
  return a.kind === 'float' ? 'float64' : (a.typeName ?? 'string');
}

function plainValue(a: GoArg): string {
  if (a.kind === 'int') return a.v.toString();
  if (a.kind === 'float') return formatFloat(a.v, 'g', undefined);
  return a.v;
}

function badVerb(verb: string, a: GoArg): string {
  if (a.kind === 'int' && a.big) return `%!${verb}(big.Int=${a.v})`;
  return `%!${verb}(${goTypeName(a)}=${plainValue(a)})`;
}

function pad(s: string, spec: Spec, zeroOk: boolean): string {
  const w = spec.width;
  if (w === undefined) return s;
  const len = [...s].length;
  if (len >= w) return s;
  if (spec.minus) return s + ' '.repeat(w - len);
  if (spec.zero && zeroOk) {
    const sign = s[0] === '-' || s[0] === '+' || s[0] === ' ' ? s[0] : '';
    return sign + '0'.repeat(w - len) + s.slice(sign.length);
  }
  return ' '.repeat(w - len) + s;
}

function signed(neg: boolean, body: string, spec: Spec): string {
  if (neg) return `-${body}`;
  if (spec.plus) return `+${body}`;
  if (spec.space) return ` ${body}`;
  return body;
}

function formatInt(v: bigint, verb: string, spec: Spec): string {
  const neg = v < 0n;
  const abs = neg ? -v : v;
  let body: string;
  switch (verb) {
    case 'd':
    case 'v':
      body = abs.toString();
      break;
    case 'b':
      body = abs.toString(2);
      if (spec.sharp) body = `0b${body}`;
      break;
    case 'o':
      body = abs.toString(8);
      if (spec.sharp) body = `0${body}`;
      break;
    case 'O':
      body = `0o${abs.toString(8)}`;
      break;
    case 'x':
      body = abs.toString(16);
      if (spec.sharp) body = `0x${body}`;
      break;
    case 'X':
      body = abs.toString(16).toUpperCase();
      if (spec.sharp) body = `0X${body}`;
      break;
    default:
      throw new Error(`unexpected verb ${verb}`);
  }
  if (spec.prec !== undefined && body.length < spec.prec) body = '0'.repeat(spec.prec - body.length) + body;
  return pad(signed(neg, body, spec), spec, spec.prec === undefined);
}

/** Go's strconv.FormatFloat for 'e', 'f', 'g' (prec undefined = shortest). */
export function formatFloat(v: number, fmt: 'e' | 'f' | 'g', prec: number | undefined): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  const neg = v < 0 || Object.is(v, -0);
  const a = Math.abs(v);
  let out: string;
  if (fmt === 'f') {
    out = prec === undefined ? shortestFixed(a) : a.toFixed(Math.min(prec, 100));
  } else if (fmt === 'e') {
    out = goExp(prec === undefined ? a.toExponential() : a.toExponential(Math.min(prec, 100)));
  } else {
    // %g: exponent form when exp < -4 || exp >= eprec (6 for shortest).
    let digits: string;
    let exp: number;
    if (prec === undefined) {
      const e = a.toExponential();
      const [m, x] = e.split('e') as [string, string];
      digits = m.replace('.', '');
      exp = Number(x);
    } else {
      const p = prec === 0 ? 1 : prec;
      const e = a.toExponential(Math.min(p - 1, 100));
      const [m, x] = e.split('e') as [string, string];
      digits = m.replace('.', '').replace(/0+$/, '') || '0';
      exp = Number(x);
    }
    let eprec = prec === undefined ? 6 : prec === 0 ? 1 : prec;
    if (prec !== undefined && eprec > digits.length && digits.length >= exp + 1) eprec = digits.length;
    if (a === 0) {
      digits = '0';
      exp = 0;
    }
    if (exp < -4 || exp >= eprec) {
      const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
      out = `${mant}e${exp < 0 ? '-' : '+'}${Math.abs(exp) < 10 ? '0' : ''}${Math.abs(exp)}`;
    } else if (exp < 0) {
      out = `0.${'0'.repeat(-exp - 1)}${digits}`;
    } else if (digits.length > exp + 1) {
      out = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
    } else {
      out = digits + '0'.repeat(exp + 1 - digits.length);
    }
  }
  return neg ? `-${out}` : out;
}

function shortestFixed(a: number): string {
  const e = a.toExponential();
  const [m, x] = e.split('e') as [string, string];
  const digits = m.replace('.', '');
  const exp = Number(x);
  if (exp < 0) return `0.${'0'.repeat(-exp - 1)}${digits}`;
  if (digits.length > exp + 1) return `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  return digits + '0'.repeat(exp + 1 - digits.length);
}

/** JS "1.5e+0" → Go "1.5e+00". */
function goExp(js: string): string {
  const [m, x] = js.split('e') as [string, string];
  const sign = x.startsWith('-') ? '-' : '+';
  const d = x.replace(/^[+-]/, '');
  return `${m}e${sign}${d.length < 2 ? '0' : ''}${d}`;
}

function formatFloatVerb(v: number, verb: string, spec: Spec): string {
  let s: string;
  switch (verb) {
    case 'v':
    case 'g':
      s = formatFloat(v, 'g', spec.prec);
      break;
    case 'G':
      s = formatFloat(v, 'g', spec.prec).toUpperCase();
      break;
    case 'e':
      s = formatFloat(v, 'e', spec.prec ?? 6);
      break;
    case 'E':
      s = formatFloat(v, 'e', spec.prec ?? 6).toUpperCase();
      break;
    default:
      s = formatFloat(v, 'f', spec.prec ?? 6);
  }
  if (!s.startsWith('-')) {
    if (spec.plus) s = `+${s}`;
    else if (spec.space) s = ` ${s}`;
  }
  return pad(s, spec, Number.isFinite(v));
}

/** Go's strconv.Quote (printable characters kept, others escaped). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c === 7) out += '\\a';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c === 11) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd';
    else if (!isPrintable(c)) out += c > 0xffff ? `\\U${c.toString(16).padStart(8, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}]|[\p{Zs}](?<! )/u;
function isPrintable(c: number): boolean {
  return !NON_PRINTABLE.test(String.fromCodePoint(c));
}

function utf8Hex(s: string, upper: boolean, spec: Spec): string {
  const bytes = Buffer.from(s, 'utf8');
  const hex = upper ? bytes.toString('hex').toUpperCase() : bytes.toString('hex');
  if (spec.space) {
    const parts = hex.match(/../g) ?? [];
    return parts.map((p) => (spec.sharp ? (upper ? '0X' : '0x') + p : p)).join(' ');
  }
  return spec.sharp && hex.length > 0 ? (upper ? '0X' : '0x') + hex : hex;
}

function formatOne(verb: string, a: GoArg, spec: Spec): string {
  if (verb === 'T') return pad(goTypeName(a), spec, false);
  if (a.kind === 'string') {
    switch (verb) {
      case 'v':
      case 's': {
        const s = spec.prec !== undefined ? [...a.v].slice(0, spec.prec).join('') : a.v;
        return pad(s, spec, true);
      }
      case 'q':
        return pad(goQuote(spec.prec !== undefined ? [...a.v].slice(0, spec.prec).join('') : a.v), spec, false);
      case 'x':
        return pad(utf8Hex(a.v, false, spec), spec, false);
      case 'X':
        return pad(utf8Hex(a.v, true, spec), spec, false);
      default:
        return badVerb(verb, a);
    }
  }
  if (a.kind === 'int') {
    switch (verb) {
      case 'd':
      case 'v':
      case 'b':
      case 'o':
      case 'O':
      case 'x':
      case 'X':
        return formatInt(a.v, verb, spec);
      case 's':
        return a.big ? formatInt(a.v, 'd', spec) : badVerb(verb, a);
      case 'c':
        if (a.big) return badVerb(verb, a);
        return pad(safeCodePoint(a.v), spec, false);
      case 'q':
        if (a.big) return badVerb(verb, a);
        return pad(`'${safeCodePoint(a.v).replace(/'/g, "\\'")}'`, spec, false);
      case 'U': {
        if (a.big) return badVerb(verb, a);
        const h = (a.v < 0n ? -a.v : a.v).toString(16).toUpperCase().padStart(4, '0');
        return pad(`U+${h}`, spec, false);
      }
      case 'e':
      case 'E':
      case 'f':
      case 'F':
      case 'g':
      case 'G':
      default:
        return badVerb(verb, a);
    }
  }
  switch (verb) {
    case 'v':
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
      return formatFloatVerb(a.v, verb, spec);
    default:
      return badVerb(verb, a);
  }
}

function safeCodePoint(v: bigint): string {
  if (v < 0n || v > 0x10ffffn || (v >= 0xd800n && v <= 0xdfffn)) return '\ufffd';
  return String.fromCodePoint(Number(v));
}

export function goSprintf(format: string, args: readonly GoArg[]): string {
  let out = '';
  let argi = 0;
  let i = 0;
  while (i < format.length) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const spec: Spec = { plus: false, minus: false, sharp: false, space: false, zero: false, width: undefined, prec: undefined };
    for (; i < format.length; i++) {
      const c = format[i];
      if (c === '+') spec.plus = true;
      else if (c === '-') spec.minus = true;
      else if (c === '#') spec.sharp = true;
      else if (c === ' ') spec.space = true;
      else if (c === '0') spec.zero = !spec.minus;
      else break;
    }
    let m = /^\d+/.exec(format.slice(i));
    if (m) {
      spec.width = Number(m[0]);
      i += m[0].length;
    }
    if (format[i] === '.') {
      i++;
      m = /^\d+/.exec(format.slice(i));
      spec.prec = m ? Number(m[0]) : 0;
      if (m) i += m[0].length;
    }
    if (i >= format.length) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += formatOne(verb, args[argi++]!, spec);
  }
  if (argi < args.length) {
    out += `%!(EXTRA ${args
      .slice(argi)
      .map((a) => `${goTypeName(a)}=${plainValue(a)}`)
      .join(', ')})`;
  }
  return out;
}
