import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TraceRecord } from './recorder.js';

/** Where finished traces go. Writes are asynchronous; a failure must never fail a request. */
export interface TraceSink {
  write(record: TraceRecord): Promise<void>;
}

/** The embedded default: one JSON line per trace under `<dir>/traces/YYYY-MM-DD.jsonl`. */
export function createJsonlTraceSink(dataDir: string): TraceSink {
  const dir = join(dataDir, 'traces');
  let ready: Promise<unknown> | undefined;
  return {
    async write(record) {
      ready ??= mkdir(dir, { recursive: true });
      await ready;
      const day = record.startedAt.slice(0, 10);
      await appendFile(join(dir, `${day}.jsonl`), `${JSON.stringify(record)}\n`);
    },
  };
}
