/**
 * glob.match with gobwas/glob semantics (as OPA uses it), compiled to an RE2 program so
 * matching stays linear-time: `*` any run of non-delimiter characters, `**` any run,
 * `?` one non-delimiter character, `[abc]` `[a-z]` `[!abc]` classes, `{a,b}` alternatives,
 * `\` escapes.
 */
import { RE2JS } from 're2js';
import { cachedCompile } from './regex.js';
import { builtinError, def, elementError, str, typeError } from './operands.js';
import type { BuiltinDef } from './types.js';

class GlobSyntaxError extends Error {}

function escapeClassChar(c: string): string {
  return /[\\\]\[^-]/.test(c) ? `\\${c}` : c;
}

function quoteChar(c: string): string {
  return RE2JS.quote(c);
}

/** Translates a glob into an RE2 expression body. */
function translate(glob: string, delims: readonly string[]): string {
  const notDelim = delims.length === 0 ? '(?s:.)' : `[^${delims.map(escapeClassChar).join('')}]`;
  const chars = [...glob];
  let i = 0;

  function parseSeq(inAlt: boolean): string {
    let out = '';
    while (i < chars.length) {
      const c = chars[i]!;
      if (inAlt && (c === ',' || c === '}')) return out;
      i++;
      switch (c) {
        case '*':
          if (chars[i] === '*') {
            i++;
            out += '(?s:.)*';
          } else {
            out += `${notDelim}*`;
          }
          break;
        case '?':
          out += notDelim;
          break;
        case '[': {
          let neg = false;
          if (chars[i] === '!') {
            neg = true;
            i++;
          }
          let cls = '';
          let closed = false;
          let first = true;
          while (i < chars.length) {
            const d = chars[i]!;
            if (d === ']' && !first) {
              closed = true;
              i++;
              break;
            }
            first = false;
            if (chars[i + 1] === '-' && chars[i + 2] !== undefined && chars[i + 2] !== ']') {
              const lo = d;
              const hi = chars[i + 2]!;
              if (lo > hi) throw new GlobSyntaxError('invalid range');
              cls += `${escapeClassChar(lo)}-${escapeClassChar(hi)}`;
              i += 3;
            } else {
              cls += escapeClassChar(d);
              i++;
            }
          }
          if (!closed || cls === '') throw new GlobSyntaxError('unexpected end of input');
          out += neg ? `[^${cls}]` : `[${cls}]`;
          break;
        }
        case '{': {
          const alts: string[] = [];
          for (;;) {
            alts.push(parseSeq(true));
            const d = chars[i];
            if (d === ',') {
              i++;
              continue;
            }
            if (d === '}') {
              i++;
              break;
            }
            throw new GlobSyntaxError('unexpected end of input');
          }
          out += `(?:${alts.join('|')})`;
          break;
        }
        case '\\':
          if (i >= chars.length) throw new GlobSyntaxError('unexpected end of input');
          out += quoteChar(chars[i]!);
          i++;
          break;
        default:
          out += quoteChar(c);
      }
    }
    if (inAlt) throw new GlobSyntaxError('unexpected end of input');
    return out;
  }

  return parseSeq(false);
}

function delimiters(v: unknown): string[] {
  if (v === null) return [];
  if (!Array.isArray(v)) throw typeError('glob.match', 2, v as never, 'array', 'null');
  const out: string[] = [];
  for (const e of v) {
    if (typeof e !== 'string') throw elementError('glob.match', 2, v, e, 'string');
    if ([...e].length !== 1) throw elementError('glob.match', 2, v, e, 'rune');
    out.push(e);
  }
  return out.length === 0 ? ['.'] : out;
}

// gobwas/glob's special characters, escaped by glob.quote_meta.
const GLOB_SPECIALS = new Set(['*', '?', '\\', '[', ']', '{', '}']);

export const globBuiltins: readonly BuiltinDef[] = [
  def('glob.quote_meta', ['string'], 'string', (args) =>
    [...str('glob.quote_meta', args, 0)].map((c) => (GLOB_SPECIALS.has(c) ? `\\${c}` : c)).join(''),
  ),
  def('glob.match', ['string', 'array|null', 'string'], 'boolean', (args) => {
    const pattern = str('glob.match', args, 0);
    const delims = delimiters(args[1]);
    const subject = str('glob.match', args, 2);
    const re = cachedCompile(`g:${delims.join('')}:${pattern}`, () => {
      try {
        return RE2JS.compile(`^(?:${translate(pattern, delims)})$`);
      } catch (e) {
        throw builtinError('glob.match', e instanceof Error ? e.message : String(e));
      }
    });
    return re.test(subject);
  }),
];

