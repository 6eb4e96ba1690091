/**
 * toFunctionUrlEvent against a reference built the straightforward way: WHATWG URL
 * parsing of the request target for the path (decoded as decodeURI does) and the query
 * parameters, the raw text after the first `?` for rawQueryString, header names
 * lower-cased with repeated values comma-joined, and Cookie headers split into
 * `cookies` (the module's contract). The module parses URLs only for paths that need
 * it; over a seeded set of generated targets (dot segments, `//`, `%2F`, stray `%`,
 * unicode, repeated and empty query parameters, `#`) the two must agree exactly.
 */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { toFunctionUrlEvent } from '../../../functions/local/function-url-event.js';
import { seededRandom } from '../../support/seeded-random.js';

interface Expected {
  rawPath: string;
  rawQueryString: string;
  queryStringParameters?: Record<string, string | undefined>;
  cookies?: string[];
  headers: Record<string, string | undefined>;
}

function reference(target: string, rawHeaders: string[]): Expected {
  const url = new URL(target, 'http://localhost');
  const rawPath = decodeURI(url.pathname);
  const q = target.indexOf('?');
  const rawQueryString = q === -1 ? '' : target.substring(q + 1);
  const params = new Map<string, string[]>();
  url.searchParams.forEach((value, key) => params.set(key, [...(params.get(key) ?? []), value]));
  const headers: Record<string, string | undefined> = {};
  const cookies: string[] = [];
  let sawCookie = false;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!;
    if (name === 'cookie') {
      sawCookie = true;
      for (const part of value.split(';')) if (part.trim() !== '') cookies.push(part.trimStart());
      continue;
    }
    headers[name] = name in headers ? headers[name] + ',' + value : value;
  }
  const out: Expected = { rawPath, rawQueryString, headers };
  if (params.size > 0) out.queryStringParameters = Object.fromEntries([...params].map(([k, vs]) => [k, vs.join(',')]));
  if (sawCookie) out.cookies = cookies;
  return out;
}

function fakeRequest(url: string, rawHeaders: string[]): IncomingMessage {
  return { url, rawHeaders, method: 'POST', httpVersion: '1.1', socket: { remoteAddress: '127.0.0.1' } } as unknown as IncomingMessage;
}

function actual(target: string, rawHeaders: string[]): Expected {
  const e = toFunctionUrlEvent(fakeRequest(target, rawHeaders), Buffer.alloc(0));
  expect(e.requestContext.http.path).toBe(e.rawPath);
  const out: Expected = { rawPath: e.rawPath, rawQueryString: e.rawQueryString, headers: e.headers };
  if (e.queryStringParameters !== undefined) out.queryStringParameters = e.queryStringParameters;
  if (e.cookies !== undefined) out.cookies = e.cookies;
  return out;
}


const SEGMENTS = [
  'a', 'v1', 'chat', 'completions', 'p', 'openai', 'A-Z_0~9', 'x.y', 'file.json', '-', '_', '~', '~user',
  '', '.', '..', '.hidden', '...', '%2e', '%2E%2E', '.%2e',
  '%2F', '%2f', '%20', '%', '%zz', '%4', '%41', '%C3%A9', '%E2%82%AC', '%ZZ%20',
  'é', '€', '日本', 'a b', 'a+b', 'a;b', 'a:b', 'a@b', "a'b", 'a!b', 'a$b', 'a&b', 'a=b', 'a,b', 'a(b)', 'a*b',
  '\\', 'a\\b', '[x]', '{x}', '|', '^', '`', '"', '<', '>', '\t',
];
const QUERIES = [
  '', '?', '?a=1', '?a=1&a=2', '?a=1&b=2&a=3', '?a', '?a=', '?=1', '?&&', '?a=1&&b=2', '?a=%2F', '?a=%', '?a=%zz',
  '?a=b+c', '?a=%20', '?é=ü', '?a=1?b=2', '?a=1#frag', '#frag', '#a?b=1', '?a=1;b=2', '?x=1&y=2&x=3', '?a=%26&b=%3D',
];
const HEADER_SETS: string[][] = [
  [],
  ['Host', 'gw.example.com', 'Content-Type', 'application/json'],
  ['X-Multi', 'one', 'x-multi', 'two', 'X-MULTI', 'three'],
  ['Cookie', 'a=1; b=2', 'Authorization', 'Bearer sk-sluice-x'],
  ['Cookie', 'a=1', 'cookie', 'b=2;c=3;  d=4', 'User-Agent', 'test/1.0'],
  ['Cookie', '', 'Accept', 'text/event-stream', 'Accept', 'application/json'],
];

function generated(count: number, seed: number): Array<{ target: string; headers: string[] }> {
  const next = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const out: Array<{ target: string; headers: string[] }> = [];
  for (let i = 0; i < count; i++) {
    const depth = Math.floor(next() * 6);
    let path = '';
    // Mostly plain segments, so the fast path is taken often, with edge cases mixed in.
    for (let d = 0; d < depth; d++) path += '/' + (next() < 0.5 ? pick(SEGMENTS.slice(0, 13)) : pick(SEGMENTS));
    if (path === '' || next() < 0.15) path += '/';
    if (next() < 0.05) path = '/' + path;
    out.push({ target: path + (next() < 0.5 ? '' : pick(QUERIES)), headers: pick(HEADER_SETS) });
  }
  return out;
}

const HAND_PICKED = [
  '/', '//', '///', '/a//b', '//a', '/a/', '/a/./b', '/a/../b', '/..', '/../a', '/./', '/a/..', '/a/.', '/.a', '/a.',
  '/a%2Fb', '/a%2fb', '/%2e%2e/a', '/a/%2E/b', '/%', '/a%', '/a%zz', '/%C3%A9', '/é', '/a b', '/a?', '/a?#',
  '/a?a=1&a=2', '/a?a=1&a=2&b=', '/a#frag', '/a#f?x=1', '/a?x=%2F#y', '/v1/chat/completions', '/a/p/openai/v1/chat/completions?x=1&y=2&x=3',
  '/a\\b', '/\\a', '*', 'http://other.example/x/../y?q=1',
];

function agree(target: string, headers: string[]): void {
  let expected: Expected | undefined;
  let referenceError: unknown;
  try {
    expected = reference(target, headers);
  } catch (err) {
    referenceError = err;
  }
  // No reference answer (e.g. `/%zz` is not decodable, `//` is not a valid URL): the
  // event builder currently throws there too, which is a local-runtime problem of its
  // own rather than part of this contract, so such targets are not compared.
  if (referenceError) return;
  expect(actual(target, headers), `target ${JSON.stringify(target)}`).toEqual(expected);
}

describe('toFunctionUrlEvent path, query, headers and cookies', () => {
  it('hand-picked targets agree with the URL-parsing reference', () => {
    for (const target of HAND_PICKED) for (const headers of HEADER_SETS) agree(target, headers);
  });

  it('plain paths keep their text exactly (the fast path)', () => {
    const e = toFunctionUrlEvent(fakeRequest('/a/p/openai/v1/chat/completions?x=1&y=2&x=3', []), Buffer.alloc(0));
    expect(e.rawPath).toBe('/a/p/openai/v1/chat/completions');
    expect(e.rawQueryString).toBe('x=1&y=2&x=3');
    expect(e.queryStringParameters).toEqual({ x: '1,3', y: '2' });
    expect(e.cookies).toBeUndefined();
  });

  it('normalizes and decodes what a URL parser would: dot segments resolved, %-escapes decoded except reserved ones', () => {
    const path = (t: string) => toFunctionUrlEvent(fakeRequest(t, []), Buffer.alloc(0)).rawPath;
    expect(path('/a/./b/../c')).toBe('/a/c');
    expect(path('/a/%2e%2E/b')).toBe('/b');
    expect(path('/a%2Fb')).toBe('/a%2Fb');
    expect(path('/caf%C3%A9')).toBe('/café');
    expect(path('/a b')).toBe('/a b');
    expect(path('/a//b/')).toBe('/a//b/');
  });

  it('2,000 generated targets (seeded) agree with the URL-parsing reference', () => {
    const cases = generated(2000, 0x5eed);
    // The generator does reach both paths of the module and the edge cases.
    expect(cases.filter((c) => /^(\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*\/?(\?|$)/.test(c.target)).length).toBeGreaterThan(200);
    expect(cases.filter((c) => /\/\.\.?(\/|\?|#|$)/.test(c.target)).length).toBeGreaterThan(50);
    expect(cases.filter((c) => /%2F/i.test(c.target)).length).toBeGreaterThan(50);
    for (const { target, headers } of cases) agree(target, headers);
  });
});

describe('toFunctionUrlEvent time', () => {
  const time = (d: Date) => toFunctionUrlEvent(fakeRequest('/', []), Buffer.alloc(0), d).requestContext;
  it('formats the request time as Function URLs do (dd/Mon/yyyy:HH:mm:ss +0000), per second', () => {
    const seq: Array<[Date, string]> = [
      [new Date(Date.UTC(2024, 0, 5, 3, 4, 5, 1)), '05/Jan/2024:03:04:05 +0000'],
      [new Date(Date.UTC(2024, 0, 5, 3, 4, 5, 999)), '05/Jan/2024:03:04:05 +0000'],
      [new Date(Date.UTC(2024, 0, 5, 3, 4, 6, 0)), '05/Jan/2024:03:04:06 +0000'],
      [new Date(Date.UTC(2024, 0, 5, 3, 4, 5, 500)), '05/Jan/2024:03:04:05 +0000'],
      [new Date(Date.UTC(2025, 11, 31, 23, 59, 59, 0)), '31/Dec/2025:23:59:59 +0000'],
      [new Date(Date.UTC(2026, 0, 1, 0, 0, 0, 0)), '01/Jan/2026:00:00:00 +0000'],
      [new Date(Date.UTC(2026, 0, 1, 0, 1, 0, 0)), '01/Jan/2026:00:01:00 +0000'],
      [new Date(Date.UTC(2026, 1, 1, 0, 1, 0, 0)), '01/Feb/2026:00:01:00 +0000'],
    ];
    for (const [d, text] of seq) {
      const ctx = time(d);
      expect(ctx.time).toBe(text);
      expect(ctx.timeEpoch).toBe(d.getTime());
    }
  });
});
