/**
 * GraphQL tokens read as gqlparser's lexer (the copy OPA embeds) reads them: the same token
 * kinds, the same token texts in error messages (`Name "x"`, `<EOF>`, `{`), the same error
 * texts, and positions in runes (code points), 1-based lines and columns.
 */

export type TokenKind =
  | '<EOF>'
  | '!'
  | '$'
  | '&'
  | '('
  | ')'
  | '...'
  | ':'
  | '='
  | '@'
  | '['
  | ']'
  | '{'
  | '}'
  | '|'
  | 'Name'
  | 'Int'
  | 'Float'
  | 'String'
  | 'BlockString';

export interface Token {
  readonly kind: TokenKind;
  readonly value: string;
  readonly line: number;
  readonly column: number;
}

/** A parse error with gqlparser's message and location. */
export class GraphQLSyntaxError extends Error {
  readonly line: number;
  readonly column: number;

  constructor(message: string, line: number, column: number) {
    super(message);
    this.name = 'GraphQLSyntaxError';
    this.line = line;
    this.column = column;
  }
}

/** Go's strconv.Quote for the token texts in messages (enough for names and strings). */
function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** gqlparser's Token.String(): the kind, then the quoted value when there is one. */
export function describe(t: Token): string {
  return t.value !== '' ? `${t.kind} ${quote(t.value)}` : t.kind;
}

const PUNCTUATORS: Record<string, TokenKind> = {
  '!': '!',
  $: '$',
  '&': '&',
  '(': '(',
  ')': ')',
  ':': ':',
  '=': '=',
  '@': '@',
  '[': '[',
  ']': ']',
  '{': '{',
  '}': '}',
  '|': '|',
};

const isNameStart = (c: number): boolean => c === 0x5f || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isNameChar = (c: number): boolean => isNameStart(c) || (c >= 0x30 && c <= 0x39);
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/** Go's string(byte): the first UTF-8 byte of a character read as Latin-1 (as gqlparser's messages show it). */
function firstByte(s: string, i: number): string {
  const cp = s.codePointAt(i)!;
  return cp < 0x80 ? String.fromCharCode(cp) : String.fromCharCode(Buffer.from(String.fromCodePoint(cp), 'utf8')[0]!);
}

/** Dedents a block string as the GraphQL spec (and gqlparser's blockStringValue) does. */
export function blockStringValue(raw: string): string {
  const lines = raw.split('\n');
  let common = -1;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const indent = line.length - line.replace(/^[ \t]+/, '').length;
    if (indent < line.length && (common === -1 || indent < common)) common = indent;
  }
  if (common > 0) for (let i = 1; i < lines.length; i++) lines[i] = lines[i]!.slice(Math.min(common, lines[i]!.length));
  const blank = (l: string): boolean => /^[ \t]*$/.test(l);
  while (lines.length > 0 && blank(lines[0]!)) lines.shift();
  while (lines.length > 0 && blank(lines[lines.length - 1]!)) lines.pop();
  return lines.join('\n');
}

export class Lexer {
  private pos = 0;
  private line = 1;
  /** Index (UTF-16) where the current line starts. */
  private lineStart = 0;
  private readonly src: string;

  constructor(src: string) {
    this.src = src;
  }

  /** Column in runes of UTF-16 index i on the current line. */
  private column(i: number): number {
    let n = 0;
    for (let j = this.lineStart; j < i; j++) {
      const c = this.src.charCodeAt(j);
      if (!(c >= 0xdc00 && c <= 0xdfff && j > this.lineStart)) n++;
    }
    return n + 1;
  }

  private token(kind: TokenKind, value: string, start: number): Token {
    return { kind, value, line: this.line, column: this.column(start) };
  }

  /**
   * gqlparser's column of a token starting at UTF-16 index i: runes from the current line's
   * start, negative when i lies on an earlier line (a block string's token, read at its end).
   */
  private columnFrom(i: number): number {
    if (i >= this.lineStart) return this.column(i);
    return 1 - [...this.src.slice(i, this.lineStart)].length;
  }

  private fail(message: string, at: number): never {
    throw new GraphQLSyntaxError(message, this.line, this.column(at));
  }

  private skipIgnored(): void {
    const s = this.src;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c === 0x09 || c === 0x20 || c === 0x2c || c === 0xfeff) this.pos++;
      else if (c === 0x0a || c === 0x0d) {
        this.pos++;
        if (c === 0x0d && s.charCodeAt(this.pos) === 0x0a) this.pos++;
        this.line++;
        this.lineStart = this.pos;
      } else if (c === 0x23) {
        // A comment runs to the end of the line.
        while (this.pos < s.length) {
          const d = s.charCodeAt(this.pos);
          if (d > 0x1f || d === 0x09) this.pos++;
          else break;
        }
      } else return;
    }
  }

  next(): Token {
    this.skipIgnored();
    const s = this.src;
    const start = this.pos;
    if (start >= s.length) return this.token('<EOF>', '', start);
    const ch = s[start]!;
    const c = s.charCodeAt(start);
    const punct = PUNCTUATORS[ch];
    if (punct !== undefined) {
      this.pos++;
      return this.token(punct, '', start);
    }
    if (ch === '.' && s.startsWith('...', start)) {
      this.pos += 3;
      return this.token('...', '', start);
    }
    if (isNameStart(c)) {
      let end = start + 1;
      while (end < s.length && isNameChar(s.charCodeAt(end))) end++;
      this.pos = end;
      return this.token('Name', s.slice(start, end), start);
    }
    if (c === 0x2d || isDigit(c)) return this.readNumber(start);
    if (ch === '"') return s.startsWith('"""', start) ? this.readBlockString(start) : this.readString(start);
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) this.fail(`Cannot contain the invalid character "\\u${String(c).padStart(4, '0')}"`, start);
    if (ch === "'") this.fail(`Unexpected single quote character ('), did you mean to use a double quote (")?`, start);
    this.fail(`Cannot parse the unexpected character "${firstByte(s, start)}".`, start);
  }

  private digits(): number {
    const s = this.src;
    const from = this.pos;
    while (this.pos < s.length && isDigit(s.charCodeAt(this.pos))) this.pos++;
    return this.pos - from;
  }

  private describeNext(): string {
    return this.pos < this.src.length ? `"${firstByte(this.src, this.pos)}"` : '<EOF>';
  }

  private readNumber(start: number): Token {
    const s = this.src;
    let float = false;
    if (s[this.pos] === '-') this.pos++;
    if (s[this.pos] === '0') {
      this.pos++;
      const consumed = this.digits();
      if (consumed !== 0) {
        this.pos -= consumed;
        this.fail(`Invalid number, unexpected digit after 0: ${this.describeNext()}.`, this.pos);
      }
    } else if (this.digits() === 0) this.fail(`Invalid number, expected digit but got: ${this.describeNext()}.`, this.pos);
    if (s[this.pos] === '.') {
      float = true;
      this.pos++;
      if (this.digits() === 0) this.fail(`Invalid number, expected digit but got: ${this.describeNext()}.`, this.pos);
    }
    if (s[this.pos] === 'e' || s[this.pos] === 'E') {
      float = true;
      this.pos++;
      if (s[this.pos] === '-' || s[this.pos] === '+') this.pos++;
      if (this.digits() === 0) this.fail(`Invalid number, expected digit but got: ${this.describeNext()}.`, this.pos);
    }
    return this.token(float ? 'Float' : 'Int', s.slice(start, this.pos), start);
  }

  private readString(start: number): Token {
    const s = this.src;
    let out = '';
    this.pos = start + 1;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c === 0x0a || c === 0x0d) break;
      if (c < 0x20 && c !== 0x09) this.fail(`Invalid character within String: "\\u${String(c).padStart(4, '0')}".`, this.pos);
      if (c === 0x22) {
        this.pos++;
        // The token starts after the opening quote, as gqlparser's does.
        return { kind: 'String', value: out, line: this.line, column: this.column(start + 1) };
      }
      if (c !== 0x5c) {
        out += s[this.pos];
        this.pos++;
        continue;
      }
      if (this.pos + 1 >= s.length) {
        this.pos++;
        this.fail('Invalid character escape sequence.', this.pos);
      }
      const esc = s[this.pos + 1]!;
      if (esc === 'u') {
        if (this.pos + 6 >= s.length) {
          const rest = s.slice(this.pos);
          this.pos++;
          this.fail(`Invalid character escape sequence: \\${rest}.`, this.pos);
        }
        const hex = s.slice(this.pos + 2, this.pos + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
          const seq = s.slice(this.pos, this.pos + 5);
          this.pos++;
          this.fail(`Invalid character escape sequence: \\${seq}.`, this.pos);
        }
        out += String.fromCharCode(parseInt(hex, 16));
        this.pos += 6;
        continue;
      }
      const simple: Record<string, string> = { '"': '"', '/': '/', '\\': '\\', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      const v = simple[esc];
      if (v === undefined) {
        this.pos++;
        this.fail(`Invalid character escape sequence: \\${esc}.`, this.pos);
      }
      out += v;
      this.pos += 2;
    }
    this.fail('Unterminated string.', this.pos);
  }

  private readBlockString(start: number): Token {
    const s = this.src;
    let buf = '';
    this.pos = start + 3;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c === 0x22 && s.startsWith('"""', this.pos)) {
        // Line and column as gqlparser's makeValueToken reads them at the token's end, from its start after the quotes.
        const t = { kind: 'BlockString' as const, value: blockStringValue(buf), line: this.line, column: this.columnFrom(start + 3) };
        this.pos += 3;
        return t;
      }
      if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) this.fail(`Invalid character within String: "\\u${String(c).padStart(4, '0')}".`, this.pos);
      if (c === 0x5c && s.startsWith('\\"""', this.pos)) {
        buf += '"""';
        this.pos += 4;
      } else if (c === 0x0d || c === 0x0a) {
        if (c === 0x0d && s.charCodeAt(this.pos + 1) === 0x0a) this.pos++;
        buf += '\n';
        this.pos++;
        this.line++;
        this.lineStart = this.pos;
      } else {
        buf += s[this.pos];
        this.pos++;
      }
    }
    this.fail('Unterminated string.', this.pos);
  }
}
