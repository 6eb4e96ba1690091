import { randomBytes } from 'node:crypto';
import { hashKey, looksLikeGatewayKey, timingSafeEqualHex } from '../stores/keys.js';
import { rateKey, type RateLimiter } from '../spend/rate-limiter.js';
import { looksLikeAdminKey, roleAllows, type AdminKeyRecord, type AdminRole } from './admin-keys.js';
import type { AdminStore, ConsoleSession } from './admin-store.js';
import { ConsoleError, unauthenticated, type ConsoleRequest } from './http.js';

/**
 * Who is calling the admin API, and whether the request may go on:
 * - the Host: locally only `127.0.0.1:PORT` and `localhost:PORT` (a DNS-rebinding page names
 *   its own host, so it is refused); in AWS the Function URL's own domain;
 * - the credential: the session cookie (HttpOnly, SameSite=Strict; `__Host-` and Secure in
 *   AWS) or `Authorization: Bearer sk-sluice-adm_…` for scripts; a gateway key never;
 * - on a state change with the cookie: the CSRF token in `X-Sluice-CSRF` and an `Origin`
 *   equal to the console's own (SameSite alone is not enough: another port on 127.0.0.1 is
 *   the same site).
 */
export interface SiteConfig {
  /** In AWS (a Function URL): https, `__Host-` cookie, Secure. */
  aws: boolean;
  /** Locally: the port the runtime listens on, when known (else any port on a loopback name). */
  localPort?: number;
  /** The container server behind a TLS load balancer (SLUICE_PUBLIC_HOST): the one Host answered. */
  publicHost?: string;
}

export const SESSION_TTL_MS = 8 * 3_600_000;
export const NONCE_TTL_MS = 10 * 60_000;
/** Sign-in attempts per source address and per minute, and in total per minute (shared store). */
export const SIGN_IN_PER_IP_PER_MINUTE = 10;
export const SIGN_IN_PER_MINUTE = 100;

export const cookieName = (site: SiteConfig) => (site.aws ? '__Host-sluice_console' : 'sluice_console');

export function sessionCookie(site: SiteConfig, value: string, maxAgeS: number): string {
  return `${cookieName(site)}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${site.aws ? '; Secure' : ''}`;
}

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost']);

/** The console's own origin for this Host, or a 421 when the Host is not one this runtime answers. */
export function checkHost(req: ConsoleRequest, site: SiteConfig): string {
  const host = (req.headers.host ?? '').toLowerCase();
  if (site.publicHost !== undefined) {
    if (host !== site.publicHost) throw new ConsoleError(421, 'This host is not served: the console answers only its configured public host.', 'misdirected_host');
    return `https://${host}`;
  }
  if (site.aws) {
    if (!/^[a-z0-9.-]+(:\d+)?$/.test(host)) throw new ConsoleError(421, 'This host is not served.', 'misdirected_host');
    return `https://${host}`;
  }
  const m = /^([a-z0-9.]+):(\d{1,5})$/.exec(host);
  if (!m || !LOOPBACK_NAMES.has(m[1]!) || (site.localPort !== undefined && Number(m[2]) !== site.localPort)) {
    throw new ConsoleError(421, 'The local console answers only Host 127.0.0.1:PORT or localhost:PORT.', 'misdirected_host');
  }
  return `http://${host}`;
}

export interface Caller {
  adminKeyId: string;
  role: AdminRole;
  orgId?: string;
  /** The cookie session (absent: a bearer admin key). */
  session?: ConsoleSession;
}

/** The caller, or a 401. A revoked key's sessions end with it. */
export async function authenticate(req: ConsoleRequest, site: SiteConfig, store: AdminStore, now: number): Promise<Caller> {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
  if (bearer !== undefined) {
    if (looksLikeGatewayKey(bearer)) throw unauthenticated('A gateway key does not work for the admin API: use an admin key (sluice admin-keys create).', 'gateway_key_not_admin');
    const key = await keyFor(bearer, store);
    return callerOf(key);
  }
  const token = req.cookies[cookieName(site)];
  if (!token || !/^[A-Za-z0-9_-]{43}$/.test(token)) throw unauthenticated();
  const session = await store.getSession(hashKey(token), now);
  if (!session) throw unauthenticated('The console session has expired: sign in again.', 'session_expired');
  const key = await store.getKey(session.adminKeyId);
  if (!key || key.revokedAt) throw unauthenticated('The admin key of this session was revoked.', 'admin_key_revoked');
  return { ...callerOf(key), session };
}

async function keyFor(secret: string, store: AdminStore): Promise<AdminKeyRecord> {
  if (!looksLikeAdminKey(secret)) throw unauthenticated('Invalid admin key.', 'invalid_admin_key');
  const hash = hashKey(secret);
  const key = await store.getKeyByHash(hash);
  if (!key || !timingSafeEqualHex(key.hash, hash)) throw unauthenticated('Invalid admin key.', 'invalid_admin_key');
  if (key.revokedAt) throw unauthenticated('This admin key has been revoked.', 'admin_key_revoked');
  return key;
}

function callerOf(key: AdminKeyRecord): Caller {
  return { adminKeyId: key.id, role: key.role, ...(key.orgId !== undefined ? { orgId: key.orgId } : {}) };
}

/** A state change made with the session cookie needs the CSRF header and the console's Origin. */
export function checkStateChange(req: ConsoleRequest, caller: Caller, origin: string): void {
  if (!caller.session) return; // a bearer key is not an ambient credential
  checkOrigin(req, origin);
  const given = req.headers['x-sluice-csrf'] ?? '';
  if (!timingSafeEqualHex(given, caller.session.csrf)) throw new ConsoleError(403, 'Missing or wrong X-Sluice-CSRF header.', 'csrf_failed');
}

export function checkOrigin(req: ConsoleRequest, origin: string): void {
  if (req.headers.origin !== origin) throw new ConsoleError(403, 'This request must come from the console page itself (Origin check).', 'origin_mismatch');
}

export function requireRole(caller: Caller, needed: AdminRole): void {
  if (!roleAllows(caller.role, needed)) throw new ConsoleError(403, `This needs the ${needed} role (you are ${caller.role}).`, 'role_forbidden');
}

export const newSecret = (bytes = 32) => randomBytes(bytes).toString('base64url');

/** Counts one sign-in attempt in the shared store; a 429 when the source or everyone is over the limit. */
export async function limitSignIn(limiter: RateLimiter, sourceIp: string, now: number): Promise<void> {
  for (const [id, rpm] of [[sourceIp, SIGN_IN_PER_IP_PER_MINUTE], ['*', SIGN_IN_PER_MINUTE]] as const) {
    const outcome = await limiter.consume(rateKey('console-signin', id), { rpm }, 0, now);
    if (!outcome.ok) {
      const retry = Math.max(1, Math.ceil((outcome.resetsAt - now) / 1000));
      throw new ConsoleError(429, 'Too many sign-in attempts: wait a minute.', 'sign_in_rate_limited', { 'retry-after': String(retry) });
    }
  }
}

/** Exchanges a single-use nonce or an admin key for a session. */
export async function signIn(store: AdminStore, body: Record<string, unknown>, now: number): Promise<{ token: string; session: ConsoleSession }> {
  let key: AdminKeyRecord | undefined;
  if (typeof body.token === 'string') {
    if (!/^[A-Za-z0-9_-]{43}$/.test(body.token)) throw unauthenticated('This sign-in link is invalid.', 'invalid_sign_in_token');
    const nonce = await store.takeNonce(hashKey(body.token), now);
    if (!nonce) throw unauthenticated('This sign-in link was already used or has expired: restart npm start for a new one, or sign in with an admin key.', 'invalid_sign_in_token');
    key = await store.getKey(nonce.adminKeyId);
    if (!key || key.revokedAt) throw unauthenticated('The admin key of this sign-in link was revoked.', 'admin_key_revoked');
  } else if (typeof body.admin_key === 'string') {
    if (looksLikeGatewayKey(body.admin_key)) throw unauthenticated('A gateway key does not sign in to the console: use an admin key (sluice admin-keys create).', 'gateway_key_not_admin');
    key = await keyFor(body.admin_key, store);
  } else {
    throw unauthenticated('Send {"admin_key": "sk-sluice-adm_…"} or {"token": "<sign-in link token>"}.', 'missing_credential');
  }
  const token = newSecret();
  const session: ConsoleSession = {
    hash: hashKey(token),
    adminKeyId: key.id,
    role: key.role,
    ...(key.orgId !== undefined ? { orgId: key.orgId } : {}),
    csrf: newSecret(24),
    createdAt: new Date(now).toISOString(),
    expiresAt: new Date(now + SESSION_TTL_MS).toISOString(),
  };
  await store.putSession(session);
  return { token, session };
}

/** A sign-in nonce for the key (what `npm start` prints in its Console link). */
export async function issueNonce(store: AdminStore, adminKeyId: string, now: number): Promise<string> {
  const nonce = newSecret();
  await store.putNonce({ hash: hashKey(nonce), adminKeyId, expiresAt: new Date(now + NONCE_TTL_MS).toISOString() });
  return nonce;
}
