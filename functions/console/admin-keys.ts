import { randomBase62, hashKey } from '../stores/keys.js';

/**
 * Admin keys sign people in to the console and the admin API. They are not gateway keys:
 * their own prefix (`sk-sluice-adm_`, which the gateway-key pattern never matches, so one
 * is refused on every model route), their own namespace in the stores, and only their
 * SHA-256 hash is kept. Every `sk-…` redaction masks them like any other secret.
 */
export const ADMIN_KEY_PREFIX = 'sk-sluice-adm_';
const ADMIN_KEY_PATTERN = /^sk-sluice-adm_[0-9A-Za-z]{43}$/;
const ADMIN_KEY_ID_PATTERN = /^adm_[0-9A-Za-z]{16}$/;

export const ADMIN_ROLES = ['viewer', 'approver', 'admin'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

/** What each role may do: viewers read, approvers also decide holds, admins also test policies. */
const RANK: Record<AdminRole, number> = { viewer: 0, approver: 1, admin: 2 };
export function roleAllows(role: AdminRole, needed: AdminRole): boolean {
  return RANK[role] >= RANK[needed];
}

export function isAdminRole(s: string): s is AdminRole {
  return (ADMIN_ROLES as readonly string[]).includes(s);
}

export interface AdminKeyRecord {
  /** Public id, `adm_…`: safe to log and print. */
  id: string;
  /** SHA-256 hex of the key. */
  hash: string;
  role: AdminRole;
  /** When set, the key sees and acts on this org's proxies, traces and approvals only. */
  orgId?: string;
  name?: string;
  createdAt: string;
  revokedAt?: string;
}

export function generateAdminKey(): { key: string; id: string; hash: string } {
  const key = ADMIN_KEY_PREFIX + randomBase62(43);
  return { key, id: `adm_${randomBase62(16)}`, hash: hashKey(key) };
}

export function looksLikeAdminKey(s: string): boolean {
  return ADMIN_KEY_PATTERN.test(s);
}

export function isAdminKeyId(s: string): boolean {
  return ADMIN_KEY_ID_PATTERN.test(s);
}
