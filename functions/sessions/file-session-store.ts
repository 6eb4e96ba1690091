import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { withFileLock } from '../stores/file-lock.js';
import { DEFAULT_SESSION_TIMINGS, nextTurn, type SessionStore, type SessionTimings, type TurnInput, type TurnRecord, type TurnResult } from './store.js';

/**
 * SessionStore for the local runtime: one JSON document, `<dataDir>/sessions.json`,
 * changed read-modify-write under `<dataDir>/sessions.lock` (so a second process on the
 * same data dir does not lose writes) and replaced atomically by rename. Reads are
 * served from memory and re-read the file only when its stat signature changed.
 * Expired records are dropped whenever the document is written. Session state is not
 * worth an fsync per turn: a crash loses at most the last turns' counters.
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
  private readonly lockPath: string;
  private readonly now: () => number;
  private readonly timings: SessionTimings;
  private cached: { signature: string; doc: SessionsDocument } | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: FileSessionStoreOptions) {
    this.dataDir = options.dataDir;
    this.filePath = join(options.dataDir, SESSIONS_FILE_NAME);
    this.lockPath = join(options.dataDir, 'sessions.lock');
    this.now = options.now ?? Date.now;
    this.timings = options.timings ?? DEFAULT_SESSION_TIMINGS;
  }

  async getLink(key: string): Promise<string | undefined> {
    const link = (await this.current()).links[key];
    return link && link.retainUntil > this.now() ? link.sessionId : undefined;
  }

  async putLink(key: string, sessionId: string): Promise<void> {
    await this.mutate((doc) => {
      doc.links[key] = { sessionId, retainUntil: this.now() + this.timings.retentionMs };
    });
  }

  advanceTurn(input: TurnInput): Promise<TurnResult> {
    return this.mutate((doc) => {
      const { record, result } = nextTurn(doc.sessions[input.sessionId], input, this.now(), this.timings);
      if (record) doc.sessions[input.sessionId] = record;
      return result;
    });
  }

  /** Resolves once every write queued so far has finished (tests, shutdown). */
  async idle(): Promise<void> {
    await this.queue;
  }

  /** The document as the file holds it now: one stat, and a read only when it changed. */
  private async current(): Promise<SessionsDocument> {
    const signature = await this.signature();
    if (this.cached?.signature === signature) return this.cached.doc;
    const doc = await this.read();
    this.cached = { signature, doc };
    return doc;
  }

  private mutate<T>(change: (doc: SessionsDocument) => T): Promise<T> {
    const run = async (): Promise<T> => {
      await fs.mkdir(this.dataDir, { recursive: true, mode: 0o700 });
      return withFileLock(this.lockPath, {}, async () => {
        const doc = await this.current();
        const result = change(doc);
        dropExpired(doc, this.now());
        try {
          await this.write(doc);
        } catch (err) {
          this.cached = undefined; // memory ran ahead of the file: re-read next time
          throw err;
        }
        this.cached = { signature: await this.signature(), doc };
        return result;
      });
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async signature(): Promise<string> {
    try {
      const st = await fs.stat(this.filePath, { bigint: true });
      return `${st.ino}:${st.size}:${st.mtimeNs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
      throw err;
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

  private async write(doc: SessionsDocument): Promise<void> {
    const temp = `${this.filePath}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    await fs.writeFile(temp, JSON.stringify(doc), { mode: 0o600, flag: 'wx' });
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
