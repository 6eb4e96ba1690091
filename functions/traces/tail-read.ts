import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { TraceRecord } from './recorder.js';
import { stepRows } from './rows.js';
import { listItemOf, type TraceListItem } from './trace-list.js';

const DAY_FILE = /^\d{4}-\d{2}-\d{2}\.jsonl$/;

export interface TraceTail {
  /** Finished traces found in the bytes read, in file order (not sorted). */
  items: TraceListItem[];
  /** True when every day file was read whole: nothing older exists that the read missed. */
  complete: boolean;
}

/**
 * The newest finished traces of the local JSONL store, read from the END of the day
 * files (newest file first), at most `maxBytes` in all. It answers the console's first
 * page while the full index (local-index.ts) is still being built, which reads every
 * file from its start. Records are appended when a request finishes, so the bytes read
 * hold every trace that finished after the oldest one read; a trace that started later
 * but finished before that may be missing, which is why an incomplete tail is `partial`.
 * A line cut by the read's start, or by a crash mid-append, is skipped.
 */
export async function readTraceTail(dir: string, maxBytes: number): Promise<TraceTail> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((f) => DAY_FILE.test(f)).sort().reverse();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { items: [], complete: true };
    throw err;
  }
  const items: TraceListItem[] = [];
  const seen = new Set<string>();
  let budget = maxBytes;
  let complete = true;
  for (const name of names) {
    if (budget <= 0) {
      complete = false;
      break;
    }
    const path = join(dir, name);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch {
      continue;
    }
    const length = Math.min(size, budget);
    const start = size - length;
    budget -= length;
    if (start > 0) complete = false;
    const buf = Buffer.alloc(length);
    const handle = await open(path, 'r');
    try {
      await handle.read(buf, 0, length, start);
    } finally {
      await handle.close();
    }
    const fileItems: TraceListItem[] = [];
    // From a mid-file start, the first line is cut: begin after its newline.
    let lineStart = start > 0 ? buf.indexOf(10) + 1 : 0;
    if (start > 0 && lineStart === 0) continue;
    for (let nl = buf.indexOf(10, lineStart); nl >= 0; nl = buf.indexOf(10, lineStart)) {
      const item = itemOf(buf.subarray(lineStart, nl));
      if (item && !seen.has(item.traceId)) {
        seen.add(item.traceId);
        fileItems.push(item);
      }
      lineStart = nl + 1;
    }
    items.push(...fileItems);
  }
  return { items, complete };
}

function itemOf(line: Buffer): TraceListItem | undefined {
  if (line.length === 0) return undefined;
  let record: TraceRecord;
  try {
    record = JSON.parse(line.toString('utf8')) as TraceRecord;
  } catch {
    return undefined;
  }
  if (typeof record?.traceId !== 'string' || !Array.isArray(record.steps) || !record.steps.some((s) => s.name === 'request_finished')) return undefined;
  const row = stepRows(record).find((r) => r.name === 'request_finished');
  return row ? listItemOf(row) : undefined;
}
