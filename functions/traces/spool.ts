import { appendFile, mkdir, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TraceRecord } from './recorder.js';
import { stepRows, type TraceStepRow } from './rows.js';
import { jsonOf, type TraceBatch } from './sink.js';

export interface SpoolReplay {
  files: number;
  rows: number;
}

export interface TraceSpoolOptions {
  /** Bytes the spool may hold on disk across all destinations (default 1 GiB); beyond it, rows are lost (counted). */
  maxBytes?: number;
  now?: () => number;
}

/**
 * The on-disk overflow of the fan-out (long-running processes only): traces a
 * destination could not take (its queue was full, or it failed) are appended as JSON
 * lines (one TraceRecord per line, as the JSONL store writes them) under
 * `<dir>/<destination>/<ms>-<seq>.jsonl`, and replayed into that destination when it
 * works again. Its own directory, so a broken traces directory loses nothing.
 *
 * Appends for one destination run one after another; a replay (one at a time per
 * destination) first closes the file being appended to (later spills start a new one,
 * which it leaves alone) and then sends the closed files oldest first, deleting each
 * once sent. A replay that fails part-way writes the unsent
 * lines back; traces already sent may be sent again, which every store collapses
 * (the step id is the key).
 */
export class TraceSpool {
  private readonly maxBytes: number;
  private readonly now: () => number;
  private used: Promise<number> | undefined;
  private usedBytes = 0;
  private seq = 0;
  private readonly current = new Map<string, string>();
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly replays = new Map<string, Promise<SpoolReplay>>();

  constructor(
    readonly dir: string,
    opts: TraceSpoolOptions = {},
  ) {
    this.maxBytes = opts.maxBytes ?? 1024 ** 3;
    this.now = opts.now ?? Date.now;
  }

  /** Appends the traces; resolves false (nothing written) when the spool is full or unwritable. */
  append(destination: string, traces: readonly TraceBatch[]): Promise<boolean> {
    return this.serial(destination, async () => {
      await this.scan();
      const text = traces.map((t) => `${jsonOf(t)}\n`).join('');
      const bytes = Buffer.byteLength(text);
      if (this.usedBytes + bytes > this.maxBytes) return false;
      const folder = join(this.dir, destination);
      let file = this.current.get(destination);
      if (!file) {
        file = join(folder, `${String(this.now()).padStart(15, '0')}-${String(this.seq++).padStart(6, '0')}.jsonl`);
        this.current.set(destination, file);
      }
      try {
        await mkdir(folder, { recursive: true });
        await appendFile(file, text);
      } catch {
        this.current.delete(destination);
        return false;
      }
      this.usedBytes += bytes;
      return true;
    });
  }

  /** Whether anything is spooled for this destination (a directory read). */
  async pending(destination: string): Promise<boolean> {
    return (await this.files(destination)).length > 0;
  }

  /**
   * Sends what is spooled for `destination` through `send`, `chunk` traces per call,
   * oldest first. Rejects with send's error at the first failure (the unsent rest stays).
   */
  replay(destination: string, send: (traces: TraceBatch[]) => Promise<void>, chunk = 500): Promise<SpoolReplay> {
    const running = this.replays.get(destination);
    if (running) return running;
    const run = this.replayFiles(destination, send, chunk).finally(() => this.replays.delete(destination));
    this.replays.set(destination, run);
    return run;
  }

  private async replayFiles(destination: string, send: (traces: TraceBatch[]) => Promise<void>, chunk: number): Promise<SpoolReplay> {
    // Appends go on meanwhile, into a new file this replay leaves alone.
    this.current.delete(destination);
    await this.chains.get(destination);
    const open = this.current.get(destination);
    const names = (await this.files(destination)).filter((n) => !open?.endsWith(n));
    let rows = 0;
    for (const name of names) {
      const path = join(this.dir, destination, name);
      const text = await readFile(path, 'utf8');
      const batches = parseSpoolText(text).map((record) => spooledBatch(record));
      for (let i = 0; i < batches.length; i += chunk) {
        const part = batches.slice(i, i + chunk);
        try {
          await send(part);
        } catch (err) {
          const restText = batches
            .slice(i)
            .map((b) => `${jsonOf(b)}\n`)
            .join('');
          await writeFile(path, restText);
          this.usedBytes -= Buffer.byteLength(text) - Buffer.byteLength(restText);
          throw err;
        }
        for (const b of part) rows += b.rowCount ?? b.rows.length;
      }
      await unlink(path);
      this.usedBytes -= Buffer.byteLength(text);
    }
    return { files: names.length, rows };
  }

  private async files(destination: string): Promise<string[]> {
    try {
      return (await readdir(join(this.dir, destination))).filter((f) => f.endsWith('.jsonl')).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
      throw err;
    }
  }

  /** The bytes already on disk (from earlier runs), read once. */
  private scan(): Promise<number> {
    this.used ??= (async () => {
      let total = 0;
      let folders: string[] = [];
      try {
        folders = await readdir(this.dir);
      } catch {
        return 0;
      }
      for (const folder of folders) {
        for (const name of await this.files(folder).catch(() => [])) total += (await stat(join(this.dir, folder, name)).catch(() => ({ size: 0 }))).size;
      }
      this.usedBytes += total;
      return total;
    })();
    return this.used;
  }

  private serial<T>(destination: string, op: () => Promise<T>): Promise<T> {
    const run = (this.chains.get(destination) ?? Promise.resolve()).then(op, op);
    this.chains.set(
      destination,
      run.catch(() => undefined),
    );
    return run;
  }
}

/** A spooled trace, its rows rebuilt on first read. */
function spooledBatch(record: TraceRecord): TraceBatch {
  let rows: TraceStepRow[] | undefined;
  return {
    record,
    rowCount: record.steps.length,
    get rows() {
      return (rows ??= stepRows(record));
    },
  };
}

/** The records of a spool file; a line cut by a crash mid-append is skipped. */
function parseSpoolText(text: string): TraceRecord[] {
  const out: TraceRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const value = JSON.parse(line) as TraceRecord;
      if (typeof value.traceId === 'string' && Array.isArray(value.steps)) out.push(value);
    } catch {
      // nothing to recover from a cut line
    }
  }
  return out;
}

/**
 * `sluice traces replay-spool`: sends spooled rows through `insert`, one file at a time,
 * deleting each file once its rows are stored. Reads both kinds of line: a trace record
 * (the fan-out's spool) and a step row (spools written before it). Safe to repeat: the
 * store collapses rows it already has.
 */
export async function replaySpool(spoolDir: string, insert: (rows: TraceStepRow[]) => Promise<void>): Promise<SpoolReplay> {
  let names: string[];
  try {
    names = (await readdir(spoolDir)).filter((f) => f.endsWith('.jsonl')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { files: 0, rows: 0 };
    throw err;
  }
  let rows = 0;
  for (const name of names) {
    const path = join(spoolDir, name);
    const lines = (await readFile(path, 'utf8')).split('\n').filter((l) => l.trim() !== '');
    const parsed: TraceStepRow[] = [];
    for (const line of lines) {
      try {
        const value = JSON.parse(line) as TraceStepRow | TraceRecord;
        if ('step_id' in value) parsed.push(value);
        else if ('traceId' in value && Array.isArray(value.steps)) parsed.push(...stepRows(value));
      } catch {
        // a line cut by a crash mid-append: nothing to recover from it
      }
    }
    for (let i = 0; i < parsed.length; i += 5_000) await insert(parsed.slice(i, i + 5_000));
    await unlink(path);
    rows += parsed.length;
  }
  return { files: names.length, rows };
}
