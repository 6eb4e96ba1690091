import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SESSION_TIMINGS, nextTurn, type SessionStore, type SessionTimings, type TurnInput, type TurnRecord, type TurnResult } from './store.js';

/**
 * SessionStore for the local runtime: the document lives in memory and is written
 * behind to `<dataDir>/sessions.json` (replaced atomically by rename; at most one
 * write in flight, later changes coalesced into the next one). A turn is therefore
 * counted with no I/O on the request path, and atomically, since the read-modify-write
 * runs without an await in between.
 *
 * One gateway process owns a data dir's sessions: the file is read once, at first
 * use. Expired records are dropped on every write. A failed write is retried, and
 * reported once by the next call, which the session plugin logs.
 */
export interface FileSessionStoreOptions {
  dataDir: string;
  now?: () => number;
  timings?: SessionTimings;
}

interface SessionsDocument {
  version: 1;
  sessions: Record<string, TurnRecord>;
  links: Record<string, { sessionId: string; retainUntil: number }>;
}

export const SESSIONS_FILE_NAME = 'sessions.json';

export class FileSessionStore implements SessionStore {
  private readonly dataDir: string;
  private readonly filePath: string;
  private readonly now: () => number;
  private readonly timings: SessionTimings;
  private doc: SessionsDocument | undefined;
  private loading: Promise<SessionsDocument> | undefined;
  private dirty = false;
  private writing: Promise<void> | undefined;
  private writeError: Error | undefined;

  constructor(options: FileSessionStoreOptions) {
    this.dataDir = options.dataDir;
    this.filePath = join(options.dataDir, SESSIONS_FILE_NAME);
    this.now = options.now ?? Date.now;
    this.timings = options.timings ?? DEFAULT_SESSION_TIMINGS;
  }

  async getLink(key: string): Promise<string | undefined> {
    const link = (await this.load()).links[key];
    return link && link.retainUntil > this.now() ? link.sessionId : undefined;
  }

  async putLink(key: string, sessionId: string): Promise<void> {
    this.reportWriteError();
    const doc = await this.load();
    doc.links[key] = { sessionId, retainUntil: this.now() + this.timings.retentionMs };
    this.changed();
  }

  async advanceTurn(input: TurnInput): Promise<TurnResult> {
    this.reportWriteError();
    const doc = await this.load();
    const { record, result } = nextTurn(doc.sessions[input.sessionId], input, this.now(), this.timings);
    if (record) {
      doc.sessions[input.sessionId] = record;
      this.changed();
    }
    return result;
  }

  /** Resolves once everything changed so far is on disk (tests, shutdown); rejects if the last write failed. */
  async idle(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.writeError) throw this.writeError;
  }

  private async load(): Promise<SessionsDocument> {
    if (this.doc) return this.doc;
    this.loading ??= this.read();
    try {
      this.doc ??= await this.loading;
    } catch (err) {
      this.loading = undefined;
      throw err;
    }
    return this.doc;
  }

  private changed(): void {
    this.dirty = true;
    this.writing ??= this.flush();
  }

  /** A failed write surfaces once, before the next change (nothing is changed by that call). */
  private reportWriteError(): void {
    const failed = this.writeError;
    if (!failed) return;
    this.writeError = undefined;
    this.writing ??= this.flush();
    throw new Error(`sessions could not be written to ${this.filePath}: ${failed.message}`);
  }

  private async flush(): Promise<void> {
    try {
      while (this.dirty && this.doc) {
        this.dirty = false;
        dropExpired(this.doc, this.now());
        await this.write(JSON.stringify(this.doc));
      }
      this.writeError = undefined;
    } catch (err) {
      this.dirty = true; // retried with the next change
      this.writeError = err as Error;
    } finally {
      this.writing = undefined;
    }
  }

  private async read(): Promise<SessionsDocument> {
    let text: string;
    try {
      text = await fs.readFile(this.filePath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyDocument();
      throw err;
    }
    const doc = JSON.parse(text) as Partial<SessionsDocument> | null;
    if (!doc || doc.version !== 1 || typeof doc.sessions !== 'object' || typeof doc.links !== 'object') {
      throw new Error(`${this.filePath} is not a Sluice sessions document (version 1)`);
    }
    return doc as SessionsDocument;
  }

  private async write(text: string): Promise<void> {
    await fs.mkdir(this.dataDir, { recursive: true, mode: 0o700 });
    const temp = `${this.filePath}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    await fs.writeFile(temp, text, { mode: 0o600, flag: 'wx' });
    try {
      await fs.rename(temp, this.filePath);
    } catch (err) {
      await fs.rm(temp, { force: true });
      throw err;
    }
  }
}

function dropExpired(doc: SessionsDocument, now: number): void {
  for (const [id, record] of Object.entries(doc.sessions)) if (record.retainUntil <= now) delete doc.sessions[id];
  for (const [key, link] of Object.entries(doc.links)) if (link.retainUntil <= now) delete doc.links[key];
}

function emptyDocument(): SessionsDocument {
  return { version: 1, sessions: {}, links: {} };
}
