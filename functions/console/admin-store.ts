import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { withFileLock } from '../stores/file-lock.js';
import type { AdminKeyRecord, AdminRole } from './admin-keys.js';

/**
 * The console's own data, in a namespace apart from gateway keys: admin keys, signed-in
 * sessions, single-use sign-in nonces, and the audit log of admin actions.
 * Secrets (keys, session tokens, nonces) are kept only as SHA-256 hashes.
 */
export interface ConsoleSession {
  /** SHA-256 hex of the session cookie's value. */
  hash: string;
  adminKeyId: string;
  role: AdminRole;
  orgId?: string;
  /** Sent back in X-Sluice-CSRF on every state change. */
  csrf: string;
  createdAt: string;
  expiresAt: string;
}

export interface SignInNonce {
  /** SHA-256 hex of the nonce. */
  hash: string;
  adminKeyId: string;
  expiresAt: string;
}

export interface AuditEntry {
  at: string;
  /** The admin key id that acted (or `cli:<user>` for CLI actions, `anonymous` for a failed sign-in). */
  actor: string;
  action: string;
  target?: string;
  outcome: 'ok' | 'refused';
  details?: Record<string, string | number | boolean>;
}

export interface AdminStore {
  putKey(record: AdminKeyRecord): Promise<void>;
  getKeyByHash(hash: string): Promise<AdminKeyRecord | undefined>;
  getKey(id: string): Promise<AdminKeyRecord | undefined>;
  listKeys(): Promise<AdminKeyRecord[]>;
  /** False when there is no such key. */
  revokeKey(id: string, at: string): Promise<boolean>;

  putSession(session: ConsoleSession): Promise<void>;
  getSession(hash: string, now: number): Promise<ConsoleSession | undefined>;
  deleteSession(hash: string): Promise<void>;

  putNonce(nonce: SignInNonce): Promise<void>;
  /** Returns the nonce and removes it in one step (single use); undefined when unknown or expired. */
  takeNonce(hash: string, now: number): Promise<SignInNonce | undefined>;

  audit(entry: AuditEntry): Promise<void>;
  /** The most recent entries first, at most `limit`. */
  listAudit(limit: number): Promise<AuditEntry[]>;
}

/** Sessions and nonces end at their expiry; the file keeps at most this many of each (oldest dropped). */
const MAX_SESSIONS = 1000;
const MAX_NONCES = 100;
/** Audit entries read back by the console (the file itself is append-only and never trimmed). */
const MAX_AUDIT_READ = 10_000;

interface Doc {
  version: 1;
  keys: Record<string, AdminKeyRecord>;
  sessions: Record<string, ConsoleSession>;
  nonces: Record<string, SignInNonce>;
}

/**
 * The local runtime's admin store: `admin.json` (keys, sessions, nonces; read-modify-write
 * under a lock file, shared with the CLI) and `admin-audit.jsonl` (append-only) in the data dir.
 */
export class FileAdminStore implements AdminStore {
  private readonly path: string;
  private readonly lockPath: string;
  private readonly auditPath: string;

  constructor(private readonly dataDir: string) {
    this.path = join(dataDir, 'admin.json');
    this.lockPath = join(dataDir, 'admin.lock');
    this.auditPath = join(dataDir, 'admin-audit.jsonl');
  }

  putKey(record: AdminKeyRecord) {
    return this.change((doc) => {
      if (Object.hasOwn(doc.keys, record.id) || Object.values(doc.keys).some((k) => k.hash === record.hash)) throw new Error(`admin key ${record.id} exists`);
      doc.keys[record.id] = record;
    });
  }

  async getKeyByHash(hash: string) {
    return Object.values((await this.read()).keys).find((k) => k.hash === hash);
  }

  async getKey(id: string) {
    const doc = await this.read();
    return Object.hasOwn(doc.keys, id) ? doc.keys[id] : undefined;
  }

  async listKeys() {
    return Object.values((await this.read()).keys).sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  revokeKey(id: string, at: string) {
    return this.change((doc) => {
      const k = Object.hasOwn(doc.keys, id) ? doc.keys[id] : undefined;
      if (!k) return false;
      k.revokedAt ??= at;
      // Its sessions end with it.
      for (const [h, s] of Object.entries(doc.sessions)) if (s.adminKeyId === id) delete doc.sessions[h];
      return true;
    });
  }

  putSession(session: ConsoleSession) {
    return this.change((doc) => {
      prune(doc.sessions, Date.now(), MAX_SESSIONS - 1);
      doc.sessions[session.hash] = session;
    });
  }

  async getSession(hash: string, now: number) {
    const doc = await this.read();
    const s = Object.hasOwn(doc.sessions, hash) ? doc.sessions[hash] : undefined;
    return s && Date.parse(s.expiresAt) > now ? s : undefined;
  }

  deleteSession(hash: string) {
    return this.change((doc) => {
      delete doc.sessions[hash];
    });
  }

  putNonce(nonce: SignInNonce) {
    return this.change((doc) => {
      prune(doc.nonces, Date.now(), MAX_NONCES - 1);
      doc.nonces[nonce.hash] = nonce;
    });
  }

  takeNonce(hash: string, now: number) {
    return this.change((doc) => {
      const n = Object.hasOwn(doc.nonces, hash) ? doc.nonces[hash] : undefined;
      if (!n) return undefined;
      delete doc.nonces[hash];
      return Date.parse(n.expiresAt) > now ? n : undefined;
    });
  }

  async audit(entry: AuditEntry) {
    await fs.mkdir(this.dataDir, { recursive: true });
    await fs.appendFile(this.auditPath, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
  }

  async listAudit(limit: number) {
    let text: string;
    try {
      text = await fs.readFile(this.auditPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const lines = text.split('\n').filter(Boolean).slice(-Math.min(limit, MAX_AUDIT_READ));
    const out: AuditEntry[] = [];
    for (const line of lines.reverse()) {
      try {
        out.push(JSON.parse(line) as AuditEntry);
      } catch {
        // a line cut by a crash mid-append
      }
    }
    return out;
  }

  private async read(): Promise<Doc> {
    try {
      const doc = JSON.parse(await fs.readFile(this.path, 'utf8')) as Doc;
      if (doc.version === 1) return { version: 1, keys: doc.keys ?? {}, sessions: doc.sessions ?? {}, nonces: doc.nonces ?? {} };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    return { version: 1, keys: {}, sessions: {}, nonces: {} };
  }

  private async change<T>(fn: (doc: Doc) => T): Promise<T> {
    await fs.mkdir(this.dataDir, { recursive: true });
    return withFileLock(this.lockPath, {}, async () => {
      const doc = await this.read();
      const out = fn(doc);
      const tmp = `${this.path}.${process.pid}.${randomUUID()}.tmp`;
      await fs.writeFile(tmp, JSON.stringify(doc, null, 1), { mode: 0o600 });
      await fs.rename(tmp, this.path);
      return out;
    });
  }
}

/** Drops expired entries, then the oldest beyond `keep`. */
function prune<T extends { expiresAt: string }>(entries: Record<string, T>, now: number, keep: number): void {
  for (const [k, v] of Object.entries(entries)) if (Date.parse(v.expiresAt) <= now) delete entries[k];
  const live = Object.entries(entries).sort((a, b) => a[1].expiresAt.localeCompare(b[1].expiresAt));
  for (const [k] of live.slice(0, Math.max(0, live.length - keep))) delete entries[k];
}
