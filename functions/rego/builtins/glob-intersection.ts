/**
 * regex.globs_match: do two "glob-style" regular expressions share a non-empty string?
 * As OPA (which uses github.com/yashtewari/glob-intersection), only `.`, `*`, `+`,
 * `[…]` with ranges, and `\` escapes are special; everything else is a literal.
 * Each pattern becomes a small NFA; the product of the two is searched breadth-first
 * for an accepting state reached after at least one character — linear in the product
 * of the pattern sizes, whatever the patterns.
 */

/** A set of characters: any character, or a union of inclusive code-point ranges. */
type CharSet = { any: true } | { any: false; ranges: [number, number][] };

interface Token {
  set: CharSet;
  /** `*` repeats the token zero or more times; `+` is expanded to `x x*` when parsing. */
  star: boolean;
}

export class GlobSyntaxError extends Error {}

export function parseGlob(pattern: string): Token[] {
  const cps = [...pattern].map((c) => c.codePointAt(0)!);
  const tokens: Token[] = [];
  let i = 0;
  while (i < cps.length) {
    const c = cps[i]!;
    let set: CharSet;
    if (c === 0x2a || c === 0x2b) throw new GlobSyntaxError(`quantifier '${String.fromCodePoint(c)}' at position ${i} follows nothing`);
    if (c === 0x2e) {
      set = { any: true };
      i++;
    } else if (c === 0x5c) {
      if (i + 1 >= cps.length) throw new GlobSyntaxError('pattern ends with an unfinished escape');
      set = { any: false, ranges: [[cps[i + 1]!, cps[i + 1]!]] };
      i += 2;
    } else if (c === 0x5b) {
      const ranges: [number, number][] = [];
      i++;
      while (i < cps.length && cps[i] !== 0x5d) {
        let lo = cps[i]!;
        if (lo === 0x5c) {
          if (i + 1 >= cps.length) throw new GlobSyntaxError('pattern ends with an unfinished escape');
          lo = cps[++i]!;
        }
        i++;
        if (cps[i] === 0x2d && i + 1 < cps.length && cps[i + 1] !== 0x5d) {
          let hi = cps[i + 1]!;
          i += 2;
          if (hi === 0x5c) {
            if (i >= cps.length) throw new GlobSyntaxError('pattern ends with an unfinished escape');
            hi = cps[i++]!;
          }
          if (hi < lo) throw new GlobSyntaxError(`invalid range ${String.fromCodePoint(lo)}-${String.fromCodePoint(hi)}`);
          ranges.push([lo, hi]);
        } else {
          ranges.push([lo, lo]);
        }
      }
      if (i >= cps.length) throw new GlobSyntaxError('character class is not closed');
      if (ranges.length === 0) throw new GlobSyntaxError('empty character class');
      i++;
      set = { any: false, ranges };
    } else {
      set = { any: false, ranges: [[c, c]] };
      i++;
    }
    const q = cps[i];
    if (q === 0x2a) {
      tokens.push({ set, star: true });
      i++;
    } else if (q === 0x2b) {
      tokens.push({ set, star: false }, { set, star: true });
      i++;
    } else {
      tokens.push({ set, star: false });
    }
  }
  return tokens;
}

function intersects(a: CharSet, b: CharSet): boolean {
  if (a.any || b.any) return true;
  return a.ranges.some(([lo1, hi1]) => b.ranges.some(([lo2, hi2]) => lo1 <= hi2 && lo2 <= hi1));
}

/** Positions reachable from `i` without consuming a character (skipping starred tokens). */
function closure(tokens: Token[], i: number): number[] {
  const out = [i];
  while (i < tokens.length && tokens[i]!.star) out.push(++i);
  return out;
}

/** After consuming one character at token `i`: a starred token may repeat, a plain one moves on. */
function advance(tokens: Token[], i: number): number[] {
  return tokens[i]!.star ? closure(tokens, i) : closure(tokens, i + 1);
}

export function globsIntersect(a: Token[], b: Token[]): boolean {
  const seen = new Set<string>();
  const queue: [number, number][] = [];
  // Start: nothing consumed yet, so reaching the end here does not count (the empty string is excluded).
  for (const i of closure(a, 0)) for (const j of closure(b, 0)) queue.push([i, j]);
  for (let head = 0; head < queue.length; head++) {
    const [i, j] = queue[head]!;
    if (i === a.length || j === b.length) continue;
    if (!intersects(a[i]!.set, b[j]!.set)) continue;
    for (const ni of advance(a, i)) {
      for (const nj of advance(b, j)) {
        if (ni === a.length && nj === b.length) return true;
        const key = `${ni},${nj}`;
        if (seen.has(key)) continue;
        seen.add(key);
        queue.push([ni, nj]);
      }
    }
  }
  return false;
}
