import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FunctionUrlEvent } from '../gateway/types.js';

/** Content types a Function URL delivers as text; anything else arrives base64-encoded. */
const TEXT_TYPES = /^(text\/|application\/(json|.*\+json|xml|.*\+xml|javascript|x-www-form-urlencoded))/i;

/**
 * Turns a node:http request into the exact event a Lambda Function URL sends
 * (payload format 2.0): header names lower-cased and repeated values comma-joined,
 * cookies split out, rawPath/rawQueryString as received, body text or base64.
 */
export function toFunctionUrlEvent(req: IncomingMessage, body: Buffer, now = new Date()): FunctionUrlEvent {
  const { path, searchParams } = pathAndQuery(req.url ?? '/');
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] ?? '').toLowerCase();
    const value = req.rawHeaders[i + 1] ?? '';
    if (name === 'cookie') {
      cookies = [...(cookies ?? []), ...value.split(/;\s*/).filter(Boolean)];
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const rawQueryString = (req.url ?? '').includes('?') ? (req.url ?? '').slice((req.url ?? '').indexOf('?') + 1) : '';
  const query: Record<string, string> = {};
  if (searchParams) for (const [k, v] of searchParams) query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
  const isText = TEXT_TYPES.test(headers['content-type'] ?? '');
  const event: FunctionUrlEvent = {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString,
    headers,
    requestContext: {
      accountId: 'anonymous',
      apiId: 'local',
      domainName: headers['host'] ?? 'localhost',
      domainPrefix: (headers['host'] ?? 'localhost').split('.')[0] ?? 'localhost',
      http: {
        method: req.method ?? 'GET',
        path,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: formatClfTime(now),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: body.length > 0 && !isText,
  };
  if (cookies) event.cookies = cookies;
  if (Object.keys(query).length > 0) event.queryStringParameters = query;
  if (body.length > 0) event.body = isText ? body.toString('utf8') : body.toString('base64');
  return event;
}

/**
 * Plain paths: unreserved characters only, no empty segments, no segment starting with a dot
 * (so no dot segments): WHATWG URL parsing would return them unchanged.
 */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*\/?$/;

/** The decoded path and, when there is a query string, its parameters; URL parsing only when the path needs it. */
function pathAndQuery(target: string): { path: string; searchParams?: URLSearchParams } {
  const q = target.indexOf('?');
  const pathPart = q < 0 ? target : target.slice(0, q);
  if (PLAIN_PATH.test(pathPart)) {
    return q < 0 ? { path: pathPart } : { path: pathPart, searchParams: new URL(target, 'http://localhost').searchParams };
  }
  const url = new URL(target, 'http://localhost');
  return { path: decodeURI(url.pathname), searchParams: url.searchParams };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** The text has one-second resolution: the last second's is reused. */
let lastClf = { second: Number.NaN, text: '' };
function formatClfTime(d: Date): string {
  const second = Math.floor(d.getTime() / 1000);
  if (second === lastClf.second) return lastClf.text;
  const p = (n: number) => String(n).padStart(2, '0');
  const text = `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
  lastClf = { second, text };
  return text;
}
