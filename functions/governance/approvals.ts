import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { withFileLock } from '../stores/file-lock.js';

/**
 * Held requests waiting for an operator. A hold is bound to (proxy, key, body hash);
 * an approval lets exactly one re-send of that same request through (a conditional
 * write from approved to consumed), before it expires.
 */
export type StoredApprovalStatus = 'pending' | 'approved' | 'denied' | 'consumed';
export type ApprovalStatus = StoredApprovalStatus | 'expired';

export interface ApprovalRecord {
  id: string;
  proxyId: string;
  keyId: string;
  /** SHA-256 hex of the request body bytes. */
  bodyHash: string;
  reasons: string[];
  policyVersion?: number;
  traceId: string;
  status: StoredApprovalStatus;
  createdAt: string;
  expiresAt: string;
  /** The approver (operator name or IAM principal) and when. */
  decidedBy?: string;
  decidedAt?: string;
  consumedAt?: string;
}

export type ConsumeOutcome = 'consumed' | 'not_found' | 'mismatch' | 'pending' | 'denied' | 'expired' | 'used';

/** A hold to record: the request it binds and why it was held, and how long it may wait. */
export interface NewHold extends Pick<ApprovalRecord, 'proxyId' | 'keyId' | 'bodyHash' | 'reasons' | 'policyVersion' | 'traceId'> {
  ttlMs: number;
}

export interface ApprovalStore {
  /** Records a hold, or returns the pending hold of the same (proxy, key, body hash). */
  hold(h: NewHold, now: number): Promise<{ record: ApprovalRecord; created: boolean }>;
  get(id: string): Promise<ApprovalRecord | undefined>;
  list(filter?: { proxyId?: string; status?: ApprovalStatus }, now?: number): Promise<ApprovalRecord[]>;
  /** pending → approved|denied; undefined when there is no such pending, unexpired approval. */
  decide(id: string, decision: 'approved' | 'denied', by: string, now: number): Promise<ApprovalRecord | undefined>;
  /** approved → consumed, once, for the same proxy, key and body hash, before expiry. */
  consume(id: string, binding: { proxyId: string; keyId: string; bodyHash: string }, now: number): Promise<ConsumeOutcome>;
}

/** The status a client sees: a pending or approved hold past its expiry is expired. */
export function effectiveStatus(r: ApprovalRecord, now: number): ApprovalStatus {
  if ((r.status === 'pending' || r.status === 'approved') && Date.parse(r.expiresAt) <= now) return 'expired';
  return r.status;
}

/** Shared rules for both stores: pure transitions on one record. */
export function consumeOutcome(r: ApprovalRecord | undefined, binding: { proxyId: string; keyId: string; bodyHash: string }, now: number): ConsumeOutcome {
  if (!r || r.proxyId !== binding.proxyId) return 'not_found';
  if (r.keyId !== binding.keyId || r.bodyHash !== binding.bodyHash) return 'mismatch';
  const status = effectiveStatus(r, now);
  if (status === 'approved') return 'consumed';
  if (status === 'consumed') return 'used';
  return status;
}

/** A new pending hold, with a fresh UUID id (the envelope validates X-Sluice-Approval-Id as one). */
export function pendingRecord(h: NewHold, now: number): ApprovalRecord {
  return {
    id: randomUUID(),
    proxyId: h.proxyId,
    keyId: h.keyId,
    bodyHash: h.bodyHash,
    reasons: h.reasons,
    ...(h.policyVersion !== undefined ? { policyVersion: h.policyVersion } : {}),
    traceId: h.traceId,
    status: 'pending',
    createdAt: new Date(now).toISOString(),
    expiresAt: new Date(now + h.ttlMs).toISOString(),
  };
}

interface Doc {
  version: 1;
  approvals: Record<string, ApprovalRecord>;
}

/** The local runtime's store: approvals.json in the data directory, read-modify-write under a lock file (the CLI shares it). */
export class FileApprovalStore implements ApprovalStore {
  private readonly path: string;
  private readonly lockPath: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, 'approvals.json');
    this.lockPath = join(dataDir, 'approvals.lock');
  }

  hold(h: NewHold, now: number) {
    return this.change((doc) => {
      for (const r of Object.values(doc.approvals)) {
        if (r.proxyId === h.proxyId && r.keyId === h.keyId && r.bodyHash === h.bodyHash && effectiveStatus(r, now) === 'pending') return { record: r, created: false };
      }
      const record = pendingRecord(h, now);
      doc.approvals[record.id] = record;
      // Keep the file small: drop records a day past their expiry.
      for (const [id, r] of Object.entries(doc.approvals)) if (Date.parse(r.expiresAt) < now - 86_400_000) delete doc.approvals[id];
      return { record, created: true };
    });
  }

  async get(id: string) {
    const doc = await this.read();
    return Object.hasOwn(doc.approvals, id) ? doc.approvals[id] : undefined;
  }

  async list(filter: { proxyId?: string; status?: ApprovalStatus } = {}, now = Date.now()) {
    const doc = await this.read();
    return Object.values(doc.approvals)
      .filter((r) => (filter.proxyId === undefined || r.proxyId === filter.proxyId) && (filter.status === undefined || effectiveStatus(r, now) === filter.status))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  decide(id: string, decision: 'approved' | 'denied', by: string, now: number) {
    return this.change((doc) => {
      const r = Object.hasOwn(doc.approvals, id) ? doc.approvals[id] : undefined;
      if (!r || effectiveStatus(r, now) !== 'pending') return undefined;
      r.status = decision;
      r.decidedBy = by;
      r.decidedAt = new Date(now).toISOString();
      return r;
    });
  }

  consume(id: string, binding: { proxyId: string; keyId: string; bodyHash: string }, now: number) {
    return this.change((doc) => {
      const r = Object.hasOwn(doc.approvals, id) ? doc.approvals[id] : undefined;
      const outcome = consumeOutcome(r, binding, now);
      if (outcome === 'consumed' && r) {
        r.status = 'consumed';
        r.consumedAt = new Date(now).toISOString();
      }
      return outcome;
    });
  }

  private async read(): Promise<Doc> {
    try {
      const doc = JSON.parse(await fs.readFile(this.path, 'utf8')) as Doc;
      if (doc.version === 1 && typeof doc.approvals === 'object') return doc;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    return { version: 1, approvals: {} };
  }

  private async change<T>(fn: (doc: Doc) => T): Promise<T> {
    await fs.mkdir(join(this.path, '..'), { recursive: true });
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
