import { RegoParseError } from './errors.js';

export type TokenKind = 'ident' | 'number' | 'string' | 'rawstring' | 'template' | 'punct' | 'eof';

/** A part of a template string: literal text, or the source of a `{…}` expression and where it starts. */
export type TemplatePart = string | { readonly src: string; readonly line: number; readonly col: number };

export interface Token {
  readonly kind: TokenKind;
  /** Identifier name, number text, decoded string contents or punctuation text. */
  readonly text: string;
  readonly line: number;
  readonly col: number;
  /** A newline (or comment line) separates this token from the previous one: ends an expression in a body. */
  readonly nlBefore: boolean;
  /** Whitespace separates this token from the previous one (refs `a[b]` and calls `f(x)` need none). */
  readonly wsBefore: boolean;
  /** The parts of a template string (`$"…{x}…"`, `` $`…{x}…` ``); only for kind 'template'. */
  readonly parts?: readonly TemplatePart[];
}

const PUNCT3 = new Set<string>();
const PUNCT2 = new Set([':=', '==', '!=', '<=', '>=']);
const PUNCT1 = new Set(['{', '}', '[', ']', '(', ')', '.', ',', ';', ':', '=', '<', '>', '+', '-', '*', '/', '%', '|', '&']);

/** Splits Rego source into tokens; string escapes are decoded here (JSON rules, as Go's strconv.Unquote). */
export function tokenize(src: string, file: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  let nl = false;
  let ws = false;
  const n = src.length;
  const fail = (msg: string, l = line, c = i - lineStart + 1): never => {
    throw new RegoParseError(msg, { file, line: l, col: c });
  };
  while (i < n) {
    const c = src[i]!;
    if (c === '\n') {
      i++;
      line++;
      lineStart = i;
      nl = true;
      ws = true;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      ws = true;
      continue;
    }
    if (c === '#') {
      while (i < n && src[i] !== '\n') i++;
      ws = true;
      continue;
    }
    const tl = line;
    const tc = i - lineStart + 1;
    const push = (kind: TokenKind, text: string, parts?: TemplatePart[]): void => {
      out.push({ kind, text, line: tl, col: tc, nlBefore: nl, wsBefore: ws || out.length === 0, ...(parts !== undefined ? { parts } : {}) });
      nl = false;
      ws = false;
    };
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentPart(src[j]!)) j++;
      push('ident', src.slice(i, j));
      i = j;
      continue;
    }
    if (isDigit(c) || (c === '.' && i + 1 < n && isDigit(src[i + 1]!) && !isRefContext(out, ws))) {
      let j = i;
      while (j < n && isDigit(src[j]!)) j++;
      if (src[j] === '.' && j + 1 < n && isDigit(src[j + 1]!)) {
        j++;
        while (j < n && isDigit(src[j]!)) j++;
      }
      if (src[j] === 'e' || src[j] === 'E') {
        let k = j + 1;
        if (src[k] === '+' || src[k] === '-') k++;
        if (k < n && isDigit(src[k]!)) {
          j = k;
          while (j < n && isDigit(src[j]!)) j++;
        }
      }
      if (j < n && isIdentStart(src[j]!)) fail(`illegal number format`);
      push('number', src.slice(i, j));
      i = j;
      continue;
    }
    if (c === '$') {
      const q = src[i + 1];
      if (q !== '"' && q !== '`') fail('illegal $ character');
      const parts: TemplatePart[] = [];
      let text = '';
      let j = i + 2;
      for (;;) {
        if (j >= n || (q === '"' && src[j] === '\n')) fail(q === '"' ? 'non-terminated string' : 'non-terminated raw string', tl, tc);
        const d = src[j]!;
        if (d === q) break;
        if (d === '\\' && (src[j + 1] === '{' || src[j + 1] === '}')) {
          text += src[j + 1];
          j += 2;
          continue;
        }
        if (d === '{') {
          // The expression runs to the matching brace; strings inside it are skipped whole.
          const start = j + 1;
          const exprLine = line;
          const exprCol = start - lineStart + 1;
          let depth = 1;
          let k = start;
          while (k < n && depth > 0) {
            const e = src[k]!;
            if (e === '{') depth++;
            else if (e === '}') depth--;
            else if (e === '"') {
              k++;
              while (k < n && src[k] !== '"' && src[k] !== '\n') k += src[k] === '\\' ? 2 : 1;
            } else if (e === '`') {
              k++;
              while (k < n && src[k] !== '`') k++;
            } else if (e === '\n') {
              if (q === '"') fail('non-terminated string', tl, tc);
              line++;
              lineStart = k + 1;
            }
            if (depth > 0) k++;
          }
          if (depth > 0) fail('non-terminated template string expression', tl, tc);
          if (text !== '') parts.push(text);
          text = '';
          parts.push({ src: src.slice(start, k), line: exprLine, col: exprCol });
          j = k + 1;
          continue;
        }
        if (q === '`') {
          if (d === '\n') {
            line++;
            lineStart = j + 1;
          }
          text += d;
          j++;
          continue;
        }
        if (d === '\\') {
          const e = src[j + 1];
          const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
          if (e !== undefined && simple[e] !== undefined) {
            text += simple[e];
            j += 2;
            continue;
          }
          if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(src.slice(j + 2, j + 6))) {
            text += String.fromCharCode(parseInt(src.slice(j + 2, j + 6), 16));
            j += 6;
            continue;
          }
          fail('illegal escape sequence in string', line, j - lineStart + 1);
        }
        text += d;
        j++;
      }
      if (text !== '' || parts.length === 0) parts.push(text);
      push('template', '', parts);
      i = j + 1;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let s = '';
      for (;;) {
        if (j >= n || src[j] === '\n') fail('non-terminated string', tl, tc);
        const d = src[j]!;
        if (d === '"') break;
        if (d === '\\') {
          const e = src[j + 1];
          j += 2;
          switch (e) {
            case '"': s += '"'; break;
            case '\\': s += '\\'; break;
            case '/': s += '/'; break;
            case 'b': s += '\b'; break;
            case 'f': s += '\f'; break;
            case 'n': s += '\n'; break;
            case 'r': s += '\r'; break;
            case 't': s += '\t'; break;
            case 'u': {
              const hex = src.slice(j, j + 4);
              if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('illegal unicode escape in string', tl, tc);
              s += String.fromCharCode(parseInt(hex, 16));
              j += 4;
              break;
            }
            default:
              fail('illegal escape sequence in string', line, j - lineStart);
          }
          continue;
        }
        s += d;
        j++;
      }
      push('string', s);
      i = j + 1;
      continue;
    }
    if (c === '`') {
      let j = i + 1;
      while (j < n && src[j] !== '`') {
        if (src[j] === '\n') {
          line++;
          lineStart = j + 1;
        }
        j++;
      }
      if (j >= n) fail('non-terminated raw string', tl, tc);
      push('rawstring', src.slice(i + 1, j));
      i = j + 1;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (PUNCT2.has(two) || PUNCT3.has(two)) {
      push('punct', two);
      i += 2;
      continue;
    }
    if (PUNCT1.has(c)) {
      push('punct', c);
      i++;
      continue;
    }
    fail(`illegal token '${c}'`);
  }
  out.push({ kind: 'eof', text: '', line, col: i - lineStart + 1, nlBefore: true, wsBefore: true });
  return out;
}

/** `.5` after an identifier or closing bracket is a ref (`a.5` never occurs), elsewhere a number. */
function isRefContext(out: Token[], ws: boolean): boolean {
  const prev = out[out.length - 1];
  if (prev === undefined || ws) return false;
  return prev.kind === 'ident' || prev.text === ']' || prev.text === ')' || prev.text === '}';
}

function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}
function isIdentPart(c: string): boolean {
  return isIdentStart(c) || isDigit(c);
}
function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}
