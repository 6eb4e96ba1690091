import { randomBytes } from 'node:crypto';
import { close, open, promises as fs, write } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_SESSION_TIMINGS, nextTurn, pruneRemembered, type SessionStore, type SessionTimings, type TurnInput, type TurnRecord, type TurnResult } from './store.js';

const openFd = promisify(open);
const writeFd = promisify(write);
const closeFd = promisify(close);

/**
 * SessionStore for the local runtime: the state lives in memory and every change is
 * appended, written behind, to a journal, `<dataDir>/sessions.jsonl` — one JSON line per
 * counted turn or written link. A turn is therefore counted with no I/O on the request
 * path, and atomically, since its read-modify-write has no `await` in between.
 *
 * The journal is opened once and kept open for appending: writes never create
 * directory entries after the first use (so removing the data dir never races with
 * them). On first use it is replayed, expired records are dropped and it is compacted
 * (rewritten with one line per live record, by rename); it is compacted again when it
 * grows past 8 MiB. A torn last line (a crash mid-write) is ignored. One gateway
 * process owns a data dir's sessions. A failed write is retried with the next one and
 * reported once by the next call, which the session plugin logs.
 */
export interface FileSessionStoreOptions {
  dataDir: string;
  now?: () => number;
  timings?: SessionTimings;
  /** Compact the journal when it grows past this many bytes. */
  compactBytes?: number;
  /**
   * Sessions (and, separately, links) held at most (default 20,000 each). When full, the least
   * recently used is forgotten: its next request starts a new session. Without a bound every
   * request without a session header kept a record for the whole retention, which was the
   * gateway's second memory retainer under sustained load (issue #17, bench/results/soak.md).
   */
  maxEntries?: number;
}

interface SessionsState {
  sessions: Map<string, TurnRecord>;
  links: Map<string, { sessionId: string; retainUntil: number }>;
}

/** Journal lines. `session` and `link` carry a whole record; `turn` one counted turn. */
type JournalLine =
  | { op: 'turn'; id: string; trace: string; proxyId: string; turn: number; expiresAt: number; retainUntil: number }
  | { op: 'session'; id: string; record: TurnRecord }
  | { op: 'link'; key: string; sessionId: string; retainUntil: number };

export const SESSIONS_FILE_NAME = 'sessions.jsonl';
const DEFAULT_COMPACT_BYTES = 8 * 1024 * 1024;
const DEFAULT_MAX_ENTRIES = 20_000;

/** Sets `key` as the most recently used entry (Map order), then forgets the least recently used beyond `max`. */
function setBounded<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  trimOldest(map, max);
}

function trimOldest<V>(map: Map<string, V>, max: number): void {
  for (const key of map.keys()) {
    if (map.size <= max) return;
    map.delete(key);
  }
}

export class FileSessionStore implements SessionStore {
  private readonly dataDir: string;
  private readonly filePath: string;
  private readonly now: () => number;
  private readonly timings: SessionTimings;
  private readonly compactBytes: number;
  private readonly maxEntries: number;
  private state: SessionsState | undefined;
  private loading: Promise<SessionsState> | undefined;
  private fd: number | undefined;
  private journalBytes = 0;
  private queued: string[] = [];
  private writing: Promise<void> | undefined;
  private writeError: Error | undefined;

  constructor(options: FileSessionStoreOptions) {
    this.dataDir = options.dataDir;
    this.filePath = join(options.dataDir, SESSIONS_FILE_NAME);
    this.now = options.now ?? Date.now;
    this.timings = options.timings ?? DEFAULT_SESSION_TIMINGS;
    this.compactBytes = options.compactBytes ?? DEFAULT_COMPACT_BYTES;
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  }

  async getLink(key: string): Promise<string | undefined> {
    const link = (await this.load()).links.get(key);
    return link && link.retainUntil > this.now() ? link.sessionId : undefined;
  }

  async putLink(key: string, sessionId: string): Promise<void> {
    this.reportWriteError();
    const state = await this.load();
    const link = { sessionId, retainUntil: this.now() + this.timings.retentionMs };
    setBounded(state.links, key, link, this.maxEntries);
    this.append({ op: 'link', key, ...link });
  }

  async advanceTurn(input: TurnInput): Promise<TurnResult> {
    this.reportWriteError();
    const state = await this.load();
    const { record, result } = nextTurn(state.sessions.get(input.sessionId), input, this.now(), this.timings);
    if (record && result.owned) {
      setBounded(state.sessions, input.sessionId, record, this.maxEntries);
      const { proxyId, turn, expiresAt, retainUntil } = record;
      this.append({ op: 'turn', id: input.sessionId, trace: input.traceId, proxyId, turn, expiresAt, retainUntil });
    }
    return result;
  }

  /** Resolves once every change so far is written (tests, shutdown); rejects if the last write failed. */
  async idle(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.writeError) throw this.writeError;
  }

  /** Writes what is queued and closes the journal. */
  async close(): Promise<void> {
    await this.idle();
    if (this.fd !== undefined) await closeFd(this.fd);
    this.fd = undefined;
    this.state = undefined;
    this.loading = undefined;
  }

  private async load(): Promise<SessionsState> {
    if (this.state) return this.state;
    this.loading ??= this.openJournal();
    try {
      this.state ??= await this.loading;
    } catch (err) {
      this.loading = undefined;
      throw err;
    }
    return this.state;
  }

  /** Replays and compacts the journal, then keeps it open for appending. */
  private async openJournal(): Promise<SessionsState> {
    await fs.mkdir(this.dataDir, { recursive: true, mode: 0o700 });
    let text: string | undefined;
    try {
      text = await fs.readFile(this.filePath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const state = text === undefined ? emptyState() : this.replay(text);
    if (text !== undefined) await this.compact(state);
    this.fd = await openFd(this.filePath, 'a', 0o600);
    return state;
  }

  private replay(text: string): SessionsState {
    const state = emptyState();
    const lines = text.split('\n');
    lines.forEach((raw, i) => {
      if (raw === '') return;
      let line: JournalLine;
      try {
        line = JSON.parse(raw) as JournalLine;
      } catch (err) {
        if (i === lines.length - 1) return; // torn by a crash mid-write: the change is lost, nothing else
        throw new Error(`${this.filePath} line ${i + 1} is not valid JSON; remove the file to start over`, { cause: err });
      }
      applyLine(state, line, this.filePath, i + 1);
    });
    dropExpired(state, this.now());
    trimOldest(state.sessions, this.maxEntries);
    trimOldest(state.links, this.maxEntries);
    return state;
  }

  /** Rewrites the journal with one line per live record (temp file, then rename). */
  private async compact(state: SessionsState): Promise<void> {
    dropExpired(state, this.now());
    const lines: string[] = [];
    for (const [id, record] of state.sessions) lines.push(JSON.stringify({ op: 'session', id, record } satisfies JournalLine));
    for (const [key, link] of state.links) lines.push(JSON.stringify({ op: 'link', key, ...link } satisfies JournalLine));
    const text = lines.map((l) => `${l}\n`).join('');
    const temp = `${this.filePath}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    await fs.writeFile(temp, text, { mode: 0o600, flag: 'wx' });
    try {
      await fs.rename(temp, this.filePath);
    } catch (err) {
      await fs.rm(temp, { force: true });
      throw err;
    }
    this.journalBytes = Buffer.byteLength(text);
  }

  private append(line: JournalLine): void {
    this.queued.push(`${JSON.stringify(line)}\n`);
    this.writing ??= this.flush();
  }

  private async flush(): Promise<void> {
    try {
      while (this.queued.length > 0 && this.fd !== undefined) {
        const chunk = Buffer.from(this.queued.join(''));
        this.queued = [];
        try {
          await writeAll(this.fd, chunk);
        } catch (err) {
          this.queued.unshift(chunk.toString('utf8')); // retried with the next write
          throw err;
        }
        this.journalBytes += chunk.length;
        if (this.journalBytes > this.compactBytes && this.state) {
          await this.compact(this.state);
          const old = this.fd;
          this.fd = await openFd(this.filePath, 'a', 0o600);
          await closeFd(old);
        }
      }
      this.writeError = undefined;
    } catch (err) {
      this.writeError = err as Error;
    } finally {
      this.writing = undefined;
    }
  }

  /** A failed write surfaces once, before the next change (nothing is changed by that call). */
  private reportWriteError(): void {
    const failed = this.writeError;
    if (!failed) return;
    this.writeError = undefined;
    this.writing ??= this.flush();
    throw new Error(`sessions could not be written to ${this.filePath}: ${failed.message}`);
  }
}

async function writeAll(fd: number, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await writeFd(fd, chunk, offset, chunk.length - offset, null);
    offset += bytesWritten;
  }
}

function applyLine(state: SessionsState, line: JournalLine, file: string, lineNo: number): void {
  switch (line?.op) {
    case 'turn': {
      const prev = state.sessions.get(line.id);
      const turns = line.turn === 1 || !prev ? { [line.trace]: line.turn } : pruneRemembered({ ...prev.turns, [line.trace]: line.turn });
      state.sessions.delete(line.id); // Map order = recency, as at run time
      state.sessions.set(line.id, { proxyId: line.proxyId, turn: line.turn, expiresAt: line.expiresAt, retainUntil: line.retainUntil, turns });
      return;
    }
    case 'session':
      state.sessions.set(line.id, line.record);
      return;
    case 'link':
      state.links.delete(line.key);
      state.links.set(line.key, { sessionId: line.sessionId, retainUntil: line.retainUntil });
      return;
    default:
      throw new Error(`${file} line ${lineNo} is not a Sluice sessions journal entry; remove the file to start over`);
  }
}

function dropExpired(state: SessionsState, now: number): void {
  for (const [id, record] of state.sessions) if (record.retainUntil <= now) state.sessions.delete(id);
  for (const [key, link] of state.links) if (link.retainUntil <= now) state.links.delete(key);
}

function emptyState(): SessionsState {
  return { sessions: new Map(), links: new Map() };
}
