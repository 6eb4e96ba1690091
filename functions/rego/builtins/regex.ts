/**
 * Regex builtins with Go's regexp (RE2) semantics: linear-time matching, never JavaScript's
 * backtracking RegExp on policy input. regex.match runs on our lazy DFA (re2-dfa.ts) where it
 * models the pattern exactly, else on re2js, which also validates every pattern (Go's syntax
 * errors) and serves the builtins that need match positions. Compiled patterns live in
 * bounded LRUs.
 */
import { RE2JS } from 're2js';
import { LinearMatcher } from './re2-dfa.js';
import type { Value } from '../value.js';
import { builtinError, def, int, str } from './operands.js';
import { GlobSyntaxError, globsIntersect, parseGlob } from './glob-intersection.js';
import type { BuiltinDef } from './types.js';

const CACHE_MAX = 500;
const cache = new Map<string, RE2JS>();
/** Each DFA holds at most 64 KB of transitions: 256 of them bound the cache at 16 MB. */
const MATCHER_CACHE_MAX = 256;
const matchers = new Map<string, Matcher>();

interface Matcher {
  test(s: string): boolean;
}

function lru<T>(map: Map<string, T>, max: number, key: string, make: () => T): T {
  const hit = map.get(key);
  if (hit !== undefined) {
    map.delete(key);
    map.set(key, hit);
    return hit;
  }
  const value = make();
  if (map.size >= max) map.delete(map.keys().next().value!);
  map.set(key, value);
  return value;
}

/** Bounded LRU of compiled RE2 programs, shared by regex and glob builtins. */
export function cachedCompile(key: string, compile: () => RE2JS): RE2JS {
  return lru(cache, CACHE_MAX, key, compile);
}

/** A pattern's boolean matcher: the lazy DFA where it models the pattern, else re2js. */
export function compileMatcher(name: string, pattern: string): Matcher {
  return lru(matchers, MATCHER_CACHE_MAX, pattern, () => {
    const re = compileRegex(name, pattern); // validates: Go's syntax errors come from re2js
    return LinearMatcher.compile(pattern) ?? re;
  });
}

/** Number of compiled programs held (bounded by CACHE_MAX). */
export function cachedPatternCount(): number {
  return cache.size;
}

/** Compiles a Go regexp; syntax errors become OPA's builtin error ("error parsing regexp: …"). */
export function compileRegex(name: string, pattern: string): RE2JS {
  try {
    return cachedCompile(`r:${pattern}`, () => RE2JS.compile(pattern));
  } catch (e) {
    throw builtinError(name, e instanceof Error ? e.message : String(e));
  }
}

/** Match positions as Go's regexp allMatches: no empty match right after a previous match. */
function* allMatches(re: RE2JS, s: string, n: number): Generator<{ start: number; end: number; groups: Array<string | null> }> {
  if (n === 0) return;
  const m = re.matcher(s);
  const groupCount = re.groupCount();
  let pos = 0;
  let prevEnd = -1;
  let found = 0;
  while (pos <= s.length && (n < 0 || found < n)) {
    if (!m.find(pos)) return;
    const start = m.start();
    const end = m.end();
    let accept = true;
    if (end === pos) {
      if (start === prevEnd) accept = false;
      const cp = s.codePointAt(pos);
      pos += cp !== undefined && cp > 0xffff ? 2 : 1;
    } else {
      pos = end;
    }
    prevEnd = end;
    if (accept) {
      const groups: Array<string | null> = [];
      for (let g = 0; g <= groupCount; g++) groups.push(m.group(g));
      found++;
      yield { start, end, groups };
    }
  }
}

/** Go's Regexp.Split(s, -1). */
function goSplit(re: RE2JS, s: string, pattern: string): string[] {
  if (pattern.length > 0 && s.length === 0) return [''];
  const out: string[] = [];
  let beg = 0;
  let end = 0;
  for (const m of allMatches(re, s, -1)) {
    end = m.start;
    if (m.end !== 0) out.push(s.slice(beg, end));
    beg = m.end;
  }
  if (end !== s.length) out.push(s.slice(beg));
  return out;
}

/** Go's Regexp.Expand template syntax: $1, ${1}, $name, ${name}, $$. */
function expand(template: string, groups: ReadonlyArray<string | null>, named: Record<string, number>): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const d = template.indexOf('$', i);
    if (d < 0) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, d);
    i = d + 1;
    if (template[i] === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string | undefined;
    if (template[i] === '{') {
      const close = template.indexOf('}', i);
      const inner = close < 0 ? '' : template.slice(i + 1, close);
      if (close >= 0 && /^[A-Za-z0-9_]+$/.test(inner)) {
        name = inner;
        i = close + 1;
      }
    } else {
      const m = /^[A-Za-z0-9_]+/.exec(template.slice(i));
      if (m) {
        name = m[0];
        i += m[0].length;
      }
    }
    if (name === undefined) {
      out += '$';
      continue;
    }
    const idx = /^\d+$/.test(name) ? Number(name) : named[name];
    if (idx !== undefined && idx < groups.length) out += groups[idx] ?? '';
  }
  return out;
}

function regexMatch(name: string): BuiltinDef {
  return def(name, ['string', 'string'], 'boolean', (args) => {
    const pattern = str(name, args, 0);
    const value = str(name, args, 1);
    return compileMatcher(name, pattern).test(value);
  });
}

/** Go's regexp.QuoteMeta. */
function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/** OPA's compileRegexTemplate (from gorilla/mux): literal text quoted, delimited parts as regexes, anchored. */
function templateRegex(tpl: string, open: string, close: string): string {
  const idxs: number[] = [];
  let level = 0;
  let idx = 0;
  for (let i = 0; i < tpl.length; i++) {
    const c = tpl[i];
    if (c === open) {
      if (++level === 1) idx = i;
    } else if (c === close) {
      level--;
      if (level === 0) idxs.push(idx, i + 1);
      else if (level < 0) throw new Error(`unbalanced braces in ${JSON.stringify(tpl)}`);
    }
  }
  if (level !== 0) throw new Error(`unbalanced braces in ${JSON.stringify(tpl)}`);
  let pattern = '^';
  let end = 0;
  for (let i = 0; i < idxs.length; i += 2) {
    const raw = tpl.slice(end, idxs[i]);
    end = idxs[i + 1]!;
    const part = tpl.slice(idxs[i]! + 1, end - 1);
    RE2JS.compile(`^${part}$`);
    pattern += `${quoteMeta(raw)}(${part})`;
  }
  return `${pattern}${quoteMeta(tpl.slice(end))}$`;
}

function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

export const regexBuiltins: readonly BuiltinDef[] = [
  def('regex.template_match', ['string', 'string', 'string', 'string'], 'boolean', (args) => {
    const name = 'regex.template_match';
    const tpl = str(name, args, 0);
    const value = str(name, args, 1);
    const open = str(name, args, 2);
    const close = str(name, args, 3);
    if (utf8Length(open) !== 1) throw builtinError(name, `start delimiter has to be exactly one character long but is ${utf8Length(open)} long`);
    // OPA reports the start delimiter's length here too.
    if (utf8Length(close) !== 1) throw builtinError(name, `end delimiter has to be exactly one character long but is ${utf8Length(open)} long`);
    let re: RE2JS;
    try {
      re = cachedCompile(`t:${open}${close}:${tpl}`, () => RE2JS.compile(templateRegex(tpl, open, close)));
    } catch (e) {
      throw builtinError(name, e instanceof Error ? e.message : String(e));
    }
    return re.test(value);
  }),
  regexMatch('regex.match'),
  regexMatch('re_match'),
  def('regex.globs_match', ['string', 'string'], 'boolean', (args) => {
    const parse = (i: number) => {
      try {
        return parseGlob(str('regex.globs_match', args, i));
      } catch (err) {
        if (err instanceof GlobSyntaxError) throw builtinError('regex.globs_match', `input-glob-${i + 1}: ${err.message}`);
        throw err;
      }
    };
    return globsIntersect(parse(0), parse(1));
  }),
  def('regex.is_valid', ['any'], 'boolean', (args) => {
    const p = args[0]!;
    if (typeof p !== 'string') return false;
    try {
      compileRegex('regex.is_valid', p);
      return true;
    } catch {
      return false;
    }
  }),
  def('regex.find_n', ['string', 'string', 'number'], 'array', (args) => {
    const re = compileRegex('regex.find_n', str('regex.find_n', args, 0));
    const value = str('regex.find_n', args, 1);
    const n = int('regex.find_n', args, 2);
    return [...allMatches(re, value, n)].map((m) => m.groups[0] ?? '');
  }),
  def('regex.find_all_string_submatch_n', ['string', 'string', 'number'], 'array', (args) => {
    const name = 'regex.find_all_string_submatch_n';
    const re = compileRegex(name, str(name, args, 0));
    const value = str(name, args, 1);
    const n = int(name, args, 2);
    return [...allMatches(re, value, n)].map((m) => m.groups.map((g) => g ?? '') as Value[]);
  }),
  def('regex.split', ['string', 'string'], 'array', (args) => {
    const pattern = str('regex.split', args, 0);
    const re = compileRegex('regex.split', pattern);
    return goSplit(re, str('regex.split', args, 1), pattern);
  }),
  def('regex.replace', ['string', 'string', 'string'], 'string', (args) => {
    const s = str('regex.replace', args, 0);
    const re = compileRegex('regex.replace', str('regex.replace', args, 1));
    const template = str('regex.replace', args, 2);
    const named = re.namedGroups();
    let out = '';
    let last = 0;
    for (const m of allMatches(re, s, -1)) {
      out += s.slice(last, m.start) + expand(template, m.groups, named);
      last = m.end;
    }
    return out + s.slice(last);
  }),
];

