import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { TraceStepRow } from './rows.js';

export interface SpoolReplay {
  files: number;
  rows: number;
}

/**
 * Sends the rows a sink could not deliver (`<dataDir>/traces/spool/*.jsonl`) through
 * `insert`, one file at a time, deleting each file once its rows are stored. Safe to
 * repeat: the store collapses rows it already has.
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
        parsed.push(JSON.parse(line) as TraceStepRow);
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
