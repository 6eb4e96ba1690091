import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { TraceRecord } from './recorder.js';
import { stepRows } from './rows.js';
import { listItemOf, type TraceListItem } from './trace-list.js';

/** Where one record of a trace sits: a byte range of a day file. */
export interface RecordLocation {
  file: string;
  start: number;
  end: number;
}

interface FileState {
  ino: bigint;
  /** Bytes consumed so far (always just after a newline). */
  offset: number;
}

interface Entry {
  item?: TraceListItem;
  locations: RecordLocation[];
}

const DAY_FILE = /^\d{4}-\d{2}-\d{2}\.jsonl$/;
// 1 MiB: the parse of a chunk is synchronous, so a request arriving during a build waits at most one chunk per step.
const READ_CHUNK = 1024 * 1024;

/**
 * An in-memory index over the local JSONL trace store, so list, session and spend
 * queries never re-read the files: each refresh reads only the bytes appended since
 * the last one (a stat per day file when nothing changed). It keeps one summary per
 * trace (no bodies) and the byte ranges of its records, so a trace's detail is a few
 * positioned reads.
 *
 * Bounded: at most `maxTraces` traces. When full, the oldest are dropped and
 * `coveredFromMs` moves forward; callers answer older ranges by scanning the files.
 * A day file that shrank or was replaced is read again from its start (the whole
 * index is rebuilt, as its entries may have moved).
 */
export class LocalTraceIndex {
  private files = new Map<string, FileState>();
  private entries = new Map<string, Entry>();
  /** Items ascending by (startedAtMs, traceId); re-sorted when `dirty`. */
  private sorted: TraceListItem[] = [];
  private dirty = false;
  private refreshing: Promise<void> | undefined;
  private built = false;
  /** Traces that started before this were dropped (full index); -Infinity while nothing was. */
  coveredFromMs = -Infinity;

  constructor(
    readonly dir: string,
    readonly maxTraces = 200_000,
  ) {}

  /** Brings the index up to date with the files; concurrent callers share one refresh. */
  refresh(): Promise<void> {
    this.refreshing ??= this.readNewBytes()
      .then(() => {
        this.built = true;
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  /** True while the first read of every file runs (later refreshes read only appended bytes). */
  get firstBuildRunning(): boolean {
    return !this.built && this.refreshing !== undefined;
  }

  /** Every indexed trace, oldest first (do not modify). */
  items(): readonly TraceListItem[] {
    if (this.dirty) {
      this.sorted.sort((a, b) => a.startedAtMs - b.startedAtMs || (a.traceId < b.traceId ? -1 : a.traceId > b.traceId ? 1 : 0));
      this.dirty = false;
    }
    return this.sorted;
  }

  /** Index of the first item with startedAtMs ≥ ms (binary search). */
  lowerBound(ms: number): number {
    const items = this.items();
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (items[mid]!.startedAtMs < ms) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  locations(traceId: string): readonly RecordLocation[] {
    return this.entries.get(traceId)?.locations ?? [];
  }

  /** Reads the records of one trace back from its byte ranges. */
  async records(traceId: string): Promise<TraceRecord[]> {
    const out: TraceRecord[] = [];
    for (const loc of this.locations(traceId)) {
      const handle = await open(join(this.dir, loc.file), 'r');
      try {
        const buf = Buffer.alloc(loc.end - loc.start);
        await handle.read(buf, 0, buf.length, loc.start);
        out.push(JSON.parse(buf.toString('utf8')) as TraceRecord);
      } catch {
        // a file replaced under us: the next refresh rebuilds the index
      } finally {
        await handle.close();
      }
    }
    return out;
  }

  private async readNewBytes(): Promise<void> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((f) => DAY_FILE.test(f)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const name of names) {
      const path = join(this.dir, name);
      let s;
      try {
        s = await stat(path, { bigint: true });
      } catch {
        continue;
      }
      const known = this.files.get(name);
      if (known && (known.ino !== s.ino || Number(s.size) < known.offset)) {
        this.reset();
        return this.readNewBytes();
      }
      const state = known ?? { ino: s.ino, offset: 0 };
      this.files.set(name, state);
      if (Number(s.size) > state.offset) await this.readFile(name, path, state, Number(s.size));
    }
  }

  private reset(): void {
    this.files.clear();
    this.entries.clear();
    this.sorted = [];
    this.dirty = false;
    this.coveredFromMs = -Infinity;
  }

  private async readFile(name: string, path: string, state: FileState, size: number): Promise<void> {
    const handle = await open(path, 'r');
    try {
      let carry = Buffer.alloc(0);
      let position = state.offset;
      while (position < size) {
        const buf = Buffer.alloc(Math.min(READ_CHUNK, size - position));
        const { bytesRead } = await handle.read(buf, 0, buf.length, position);
        if (bytesRead === 0) break;
        const data = carry.length ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
        const dataStart = position - carry.length;
        position += bytesRead;
        let lineStart = 0;
        for (let nl = data.indexOf(10, lineStart); nl >= 0; nl = data.indexOf(10, lineStart)) {
          if (nl > lineStart) this.add(name, data.subarray(lineStart, nl), dataStart + lineStart, dataStart + nl);
          lineStart = nl + 1;
        }
        carry = Buffer.from(data.subarray(lineStart));
        state.offset = dataStart + lineStart;
      }
    } finally {
      await handle.close();
    }
    this.evict();
  }

  private add(file: string, line: Buffer, start: number, end: number): void {
    let record: TraceRecord;
    try {
      record = JSON.parse(line.toString('utf8')) as TraceRecord;
    } catch {
      return; // a line cut by a crash mid-append
    }
    if (typeof record?.traceId !== 'string' || !Array.isArray(record.steps)) return;
    const entry = this.entries.get(record.traceId) ?? { locations: [] };
    entry.locations.push({ file, start, end });
    if (!entry.item && record.steps.some((s) => s.name === 'request_finished')) {
      const row = stepRows(record).find((r) => r.name === 'request_finished');
      if (row) {
        const item = listItemOf(row);
        // Older than what a full index still holds: the file scan answers for it.
        if (item.startedAtMs < this.coveredFromMs) {
          this.entries.delete(record.traceId);
          return;
        }
        entry.item = item;
        const last = this.sorted[this.sorted.length - 1];
        if (last && (last.startedAtMs > item.startedAtMs || (last.startedAtMs === item.startedAtMs && last.traceId > item.traceId))) this.dirty = true;
        this.sorted.push(item);
      }
    }
    this.entries.set(record.traceId, entry);
  }

  private evict(): void {
    if (this.entries.size <= this.maxTraces) return;
    const items = this.items();
    // Drop the oldest tenth at once, so a full index does not sort on every append.
    const drop = Math.min(items.length, this.entries.size - this.maxTraces + Math.ceil(this.maxTraces / 10));
    for (const item of items.slice(0, drop)) this.entries.delete(item.traceId);
    if (drop > 0) this.coveredFromMs = items[drop - 1]!.startedAtMs + 1;
    this.sorted = items.slice(drop);
    // Records without a finished step cannot be ordered: drop those too when still over.
    if (this.entries.size > this.maxTraces) {
      for (const [id, e] of this.entries) if (!e.item) this.entries.delete(id);
    }
  }
}

const indexes = new Map<string, LocalTraceIndex>();

/** One index per trace directory per process: a long-running gateway keeps it warm. */
export function sharedLocalIndex(dir: string): LocalTraceIndex {
  let index = indexes.get(dir);
  if (!index) {
    index = new LocalTraceIndex(dir);
    indexes.set(dir, index);
  }
  return index;
}
