import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { ControlStoreError, DuplicateKeyError } from './errors.js';
import { watchDataDir, type DataDirWatch } from './data-dir-watch.js';
import { withFileLock, type FileLockOptions } from './file-lock.js';
import type { ApiKeyRecord, ControlStore, ProxyConfig } from './types.js';

/**
 * The embedded control store: one JSON document under the data dir
 * (`control.json`, default dir `.sluice/`).
 *
 * - Writes are read-modify-write under a lock file (see file-lock.ts), to a temp
 *   file that is fsynced and renamed over the document, so a reader sees either
 *   the old or the new document, never a torn one, and two processes never lose
 *   each other's writes.
 * - Reads serve an in-memory snapshot, re-read only after fs.watch reported a change
 *   of the file (data-dir-watch.ts, debounced to 20 ms): a long-running gateway sees
 *   keys and proxies the CLI changes in another process on its next request, with no
 *   stat per lookup. `generation()` tells callers (the auth cache) that it changed.
 *   Where fs.watch is unavailable, each read stats the file instead.
 */
export interface FileControlStoreOptions {
  dataDir: string;
  lock?: FileLockOptions;
}

interface ControlDocument {
  version: 1;
  proxies: Record<string, ProxyConfig>;
  keys: Record<string, ApiKeyRecord>;
}

interface Snapshot {
  /** inode:size:mtimeNs of the file it was read from; 'absent' when there was no file. */
  signature: string;
  /** The watch generation it was read at (undefined without a watch). */
  generation?: number | undefined;
  doc: ControlDocument;
  keysByHash: Map<string, ApiKeyRecord>;
}

export const CONTROL_FILE_NAME = 'control.json';

export class FileControlStore implements ControlStore {
  readonly dataDir: string;
  readonly filePath: string;
  private readonly lockPath: string;
  private readonly lockOptions: FileLockOptions;
  private snapshot: Snapshot | undefined;
  /** Serializes this process's own writers so they queue here instead of spinning on the lock file. */
  private writeQueue: Promise<unknown> = Promise.resolve();

  constructor(options: FileControlStoreOptions) {
    this.dataDir = options.dataDir;
    this.filePath = join(options.dataDir, CONTROL_FILE_NAME);
    this.lockPath = join(options.dataDir, 'control.lock');
    this.lockOptions = options.lock ?? {};
  }

  async getProxy(id: string): Promise<ProxyConfig | undefined> {
    const { doc } = await this.current();
    return Object.hasOwn(doc.proxies, id) ? clone(doc.proxies[id]) : undefined;
  }

  async putProxy(proxy: ProxyConfig): Promise<void> {
    await this.mutate((doc) => {
      doc.proxies[proxy.id] = clone(proxy);
      return true;
    });
  }

  async listProxies(): Promise<ProxyConfig[]> {
    const { doc } = await this.current();
    return Object.values(doc.proxies)
      .sort((a, b) => a.id.localeCompare(b.id))
      .map(clone);
  }

  async deleteProxy(id: string): Promise<boolean> {
    return this.mutate((doc) => {
      if (!Object.hasOwn(doc.proxies, id)) return false;
      delete doc.proxies[id];
      return true;
    });
  }

  async getKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const record = (await this.current()).keysByHash.get(hash);
    return record ? clone(record) : undefined;
  }

  async putKey(key: ApiKeyRecord): Promise<void> {
    await this.mutate((doc) => {
      if (Object.hasOwn(doc.keys, key.id)) throw new DuplicateKeyError('id', key.id);
      if (Object.values(doc.keys).some((k) => k.hash === key.hash)) throw new DuplicateKeyError('hash', key.id);
      doc.keys[key.id] = clone(key);
      return true;
    });
  }

  async listKeys(proxyId?: string): Promise<ApiKeyRecord[]> {
    const { doc } = await this.current();
    return Object.values(doc.keys)
      .filter((k) => proxyId === undefined || k.proxyId === proxyId)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id))
      .map(clone);
  }

  async revokeKey(id: string, at: string): Promise<boolean> {
    return this.mutate((doc) => {
      const key = Object.hasOwn(doc.keys, id) ? doc.keys[id] : undefined;
      if (!key) return false;
      key.revokedAt ??= at; // a second revoke keeps the first time
      return true;
    });
  }

  /**
   * How many times another writer changed the document since this process started
   * watching it; undefined without a watch. Caches of what the store says key on it.
   */
  generation(): number | undefined {
    return (this.watch ??= watchDataDir(this.dataDir)).generation(CONTROL_FILE_NAME);
  }

  private watch: DataDirWatch | undefined;

  /** The snapshot of the file as it is now: read again only after the watch saw it change (or, without a watch, its stat did). */
  private async current(): Promise<Snapshot> {
    const generation = this.generation();
    if (generation !== undefined) {
      if (this.snapshot && this.snapshot.generation === generation) return this.snapshot;
      const fresh = await this.readSnapshot();
      fresh.generation = generation;
      this.snapshot = fresh;
      return fresh;
    }
    const signature = await this.statSignature();
    if (this.snapshot && this.snapshot.signature === signature) return this.snapshot;
    this.snapshot = await this.readSnapshot();
    return this.snapshot;
  }

  private async statSignature(): Promise<string> {
    try {
      const s = await fs.stat(this.filePath, { bigint: true });
      return `${s.ino}:${s.size}:${s.mtimeNs}`;
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return 'absent';
      throw error;
    }
  }

  /** Reads through one file descriptor so the signature and the content belong together. */
  private async readSnapshot(): Promise<Snapshot> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.filePath, 'r');
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return toSnapshot('absent', emptyDocument());
      throw error;
    }
    try {
      const s = await handle.stat({ bigint: true });
      const text = await handle.readFile('utf8');
      return toSnapshot(`${s.ino}:${s.size}:${s.mtimeNs}`, this.parse(text));
    } finally {
      await handle.close();
    }
  }

  private parse(text: string): ControlDocument {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new ControlStoreError(`${this.filePath} is not valid JSON; restore it from a backup or remove it`, {
        cause: error,
      });
    }
    const doc = value as Partial<ControlDocument> | null;
    if (!doc || doc.version !== 1 || typeof doc.proxies !== 'object' || typeof doc.keys !== 'object') {
      throw new ControlStoreError(`${this.filePath} is not a Sluice control document (version 1)`);
    }
    return doc as ControlDocument;
  }

  /**
   * Runs `change` on a freshly read document under the lock and writes the
   * result if `change` reports a modification (returns true). Its return value
   * is passed through.
   */
  private mutate(change: (doc: ControlDocument) => boolean): Promise<boolean> {
    const run = async (): Promise<boolean> => {
      await fs.mkdir(this.dataDir, { recursive: true, mode: 0o700 });
      return withFileLock(this.lockPath, this.lockOptions, async () => {
        const generation = this.generation();
        const fresh = await this.readSnapshot();
        const doc = clone(fresh.doc);
        const changed = change(doc);
        if (!changed) {
          this.snapshot = { ...fresh, generation };
          return false;
        }
        await this.writeAtomically(JSON.stringify(doc, null, 2) + '\n');
        // Other instances in this process see the write at once; the watch's own event for it later costs one re-read.
        this.watch?.wrote(CONTROL_FILE_NAME);
        this.snapshot = { ...toSnapshot(await this.statSignature(), doc), generation: this.generation() };
        return true;
      });
    };
    const result = this.writeQueue.then(run, run);
    this.writeQueue = result.catch(() => undefined);
    return result;
  }

  private async writeAtomically(text: string): Promise<void> {
    const temp = `${this.filePath}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    const handle = await fs.open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await fs.rename(temp, this.filePath);
    } catch (error) {
      await fs.rm(temp, { force: true });
      throw error;
    }
    await syncDirectory(this.dataDir);
  }
}

function toSnapshot(signature: string, doc: ControlDocument): Snapshot {
  const keysByHash = new Map<string, ApiKeyRecord>();
  for (const key of Object.values(doc.keys)) keysByHash.set(key.hash, key);
  return { signature, doc, keysByHash };
}

function emptyDocument(): ControlDocument {
  return { version: 1, proxies: {}, keys: {} };
}

/** Makes the rename durable; some platforms cannot fsync a directory, which is not fatal. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // best effort
  } finally {
    await handle?.close();
  }
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === code;
}
