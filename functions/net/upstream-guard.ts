import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { blockedIpReason, isMetadataHostname, PRIVATE_NETWORK, type BlockReason } from './blocked-address.js';
import { formatIp, parseIp, type ParsedIp } from './ip-literal.js';

/**
 * SSRF-safe upstream targets. A base URL is parsed, its host name resolved once, every
 * answer judged (refused if ANY is blocked: a name that answers a public and a private
 * address is an attack or a misconfiguration either way), and the checked address is
 * returned so that the connection goes to that address and nowhere else, so a DNS answer
 * that changes between check and connect (rebinding) cannot redirect the request: dial it
 * with `pinnedRequestOptions(target)` (safe with keep-alive agents), or pass
 * `pinnedLookup(target)` as the `lookup` option of node:http/https.
 *
 * Upstream calls never follow redirects (node:http/https do not; a caller must not add a
 * redirect-following layer), so a 3xx cannot send a request to an unchecked host.
 */

export type ResolvedAddress = { address: string; family: 4 | 6 };
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface CheckedTarget {
  /** The parsed base URL; shared by all callers of a cached check, so never mutate it. */
  url: URL;
  /** Host name without IPv6 brackets, lower case: what to pass as `hostname`/`servername`. */
  hostname: string;
  /** The checked address to connect to (canonical text). */
  address: string;
  family: 4 | 6;
  port: number;
}

export type SsrfReason =
  | BlockReason
  | 'invalid-url'
  | 'scheme' // not https (or not http(s) with private networks allowed)
  | 'userinfo' // credentials in the URL
  | 'unresolvable'; // DNS gave no usable answer

export class SsrfError extends Error {
  constructor(
    readonly reason: SsrfReason,
    message: string,
  ) {
    super(message);
    this.name = 'SsrfError';
  }
}

export interface CheckOptions {
  allowPrivateNetwork: boolean;
}

export interface UpstreamGuardOptions {
  /** Defaults to node:dns `lookup` with all answers (the OS resolver, /etc/hosts included). */
  resolve?: Resolver;
  /** How long a checked target is reused without DNS. Default 30 s. */
  ttlMs?: number;
  now?: () => number;
  /** Bound on cached targets (per-request `X-Sluice-Upstream` URLs could otherwise grow it). */
  maxEntries?: number;
}

export interface UpstreamGuard {
  check(baseUrl: string, opts: CheckOptions): Promise<CheckedTarget>;
}

export const defaultResolver: Resolver = async (hostname) => {
  const answers = await dnsLookup(hostname, { all: true, order: 'verbatim' });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

interface CacheEntry {
  expiresAt: number;
  result: Promise<CheckedTarget>;
}

export function createUpstreamGuard(options: UpstreamGuardOptions = {}): UpstreamGuard {
  const resolve = options.resolve ?? defaultResolver;
  const ttlMs = options.ttlMs ?? 30_000;
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 1000;
  const cache = new Map<string, CacheEntry>();

  return {
    check(baseUrl, opts) {
      const key = (opts.allowPrivateNetwork ? 'p ' : 'n ') + baseUrl;
      const t = now();
      const hit = cache.get(key);
      if (hit !== undefined && hit.expiresAt > t) return hit.result;
      if (hit !== undefined) cache.delete(key);

      // Concurrent checks of the same URL share one resolution.
      const result = checkTarget(baseUrl, opts, resolve);
      const entry: CacheEntry = { expiresAt: t + ttlMs, result };
      cache.set(key, entry);
      if (cache.size > maxEntries) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
      // A refusal is as cacheable as an approval (no DNS per repeated bad request), but
      // a DNS failure may be transient and is retried on the next request.
      result.catch((err: unknown) => {
        if (!(err instanceof SsrfError) || err.reason === 'unresolvable') {
          if (cache.get(key) === entry) cache.delete(key);
        }
      });
      return result;
    },
  };
}

async function checkTarget(baseUrl: string, opts: CheckOptions, resolve: Resolver): Promise<CheckedTarget> {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    // The raw text is not echoed: it may carry credentials.
    throw new SsrfError('invalid-url', 'upstream base URL is not a valid absolute URL');
  }
  const hostname = stripBrackets(url.hostname).toLowerCase();
  const secure = url.protocol === 'https:';
  if (!secure && !(url.protocol === 'http:' && opts.allowPrivateNetwork)) {
    const allowed = opts.allowPrivateNetwork ? 'https or http' : 'https';
    throw new SsrfError('scheme', `upstream ${hostname || 'URL'}: scheme ${url.protocol} is not allowed (${allowed} only)`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new SsrfError('userinfo', `upstream ${hostname}: credentials in the URL are not allowed; use a credential reference`);
  }
  if (hostname === '') throw new SsrfError('invalid-url', 'upstream base URL has no host');
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);

  if (isMetadataHostname(hostname)) {
    throw new SsrfError('metadata', `upstream ${hostname} is a cloud metadata endpoint and is never allowed`);
  }

  // The URL parser has already normalised IPv4 spellings (a numeric-looking host that is
  // not a valid IPv4 fails to parse); IPv6 literals still need unwrapping here.
  const literal = parseIp(hostname);
  if (literal !== undefined) {
    judge(hostname, literal, opts, true);
    return { url, hostname, address: formatIp(literal), family: literal.family, port };
  }

  let answers: ResolvedAddress[];
  try {
    answers = await resolve(hostname);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new SsrfError('unresolvable', `upstream ${hostname} could not be resolved${typeof code === 'string' ? ` (${code})` : ''}`);
  }
  if (answers.length === 0) throw new SsrfError('unresolvable', `upstream ${hostname} resolved to no address`);

  let chosen: ParsedIp | undefined;
  for (const answer of answers) {
    const ip = parseIp(answer.address);
    if (ip === undefined) {
      throw new SsrfError('not-an-ip-address', `upstream ${hostname} resolved to something that is not an IP address`);
    }
    judge(hostname, ip, opts, false);
    chosen ??= ip;
  }
  const pinned = chosen as ParsedIp;
  return { url, hostname, address: formatIp(pinned), family: pinned.family, port };
}

function judge(hostname: string, ip: ParsedIp, opts: CheckOptions, literal: boolean): void {
  const reason = blockedIpReason(ip, opts);
  if (reason === undefined) return;
  const address = formatIp(ip);
  const subject = !literal
    ? `upstream ${hostname} resolves to ${address}, which is`
    : address === hostname
      ? `upstream ${hostname} is`
      : `upstream ${hostname} (${address}) is`;
  const hint = !opts.allowPrivateNetwork && PRIVATE_NETWORK.has(reason) ? ' unless the proxy allows private networks' : '';
  throw new SsrfError(reason, `${subject} a blocked address (${reason})${hint}`);
}

function stripBrackets(host: string): string {
  return host.length > 1 && host.charCodeAt(0) === 0x5b ? host.slice(1, -1) : host;
}

/**
 * A `lookup` for node:http/https (and node:net/tls) that always answers the checked
 * address, so the socket connects where the check said it may. It refuses any other
 * host name, so a pinned agent cannot be reused for an unchecked host.
 */
export function pinnedLookup(target: CheckedTarget): LookupFunction {
  const { address, family, hostname } = target;
  return (host, options, callback) => {
    // Node calls back asynchronously from its own resolver; keep that contract.
    process.nextTick(() => {
      if (stripBrackets(host).toLowerCase() !== hostname) {
        const err: NodeJS.ErrnoException = new Error(`pinned lookup for ${hostname} refused host ${host}`);
        err.code = 'ENOTFOUND';
        callback(err, '', 0);
      } else if (options.all === true) {
        callback(null, [{ address, family }]);
      } else {
        callback(null, address, family);
      }
    });
  };
}

export interface PinnedRequestOptions {
  /** The checked address itself, so no name resolution happens at connect time. */
  host: string;
  port: number;
  /** TLS SNI and certificate check name (omitted for IP-literal hosts, where SNI is not allowed). */
  servername?: string;
  /** The caller's headers plus `host` naming the upstream, as the URL spells it. */
  headers: Record<string, string>;
}

/**
 * Request options for node:http/https that dial the checked address directly. Prefer
 * these over `{ host: hostname, lookup: pinnedLookup(target) }` with a keep-alive agent:
 * an agent pools sockets by host name, so a socket opened to one checked address would
 * be reused for a later check of the same name that approved a different address (for
 * instance by a proxy that allows private networks, then by one that does not). With
 * the address as `host` the pool key carries the address, and TLS still verifies the
 * certificate against `servername`.
 */
export function pinnedRequestOptions(target: CheckedTarget, headers: Record<string, string> = {}): PinnedRequestOptions {
  const options: PinnedRequestOptions = {
    host: target.address,
    port: target.port,
    headers: { ...headers, host: target.url.host },
  };
  if (target.url.protocol === 'https:' && parseIp(target.hostname) === undefined) {
    let end = target.hostname.length;
    while (end > 0 && target.hostname.charCodeAt(end - 1) === 0x2e) end--; // SNI names carry no trailing dot
    options.servername = target.hostname.slice(0, end);
  }
  return options;
}
