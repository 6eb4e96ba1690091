import { mkdirSync, watch, type FSWatcher } from 'node:fs';
import { resolve } from 'node:path';

/**
 * Change generations of the files in a local data directory, from fs.watch: the long-
 * running local gateway learns that the CLI (another process) changed `control.json` or
 * `spend.json` without a stat per request. A burst of events for one file (the CLI writes
 * a temp file and renames it over the document) counts once, DEBOUNCE_MS after its first
 * event; stores and caches compare generations to know their copy is stale.
 *
 * One watcher per directory per process, unref'd (a CLI process still exits). Where
 * fs.watch is unavailable, `generation` returns undefined and callers fall back to
 * checking the file themselves.
 */
export const DEBOUNCE_MS = 20;

export interface DataDirWatch {
  /** How many settled changes `file` (a name inside the directory) has seen; undefined when not watching. */
  generation(file: string): number | undefined;
  /** This process just wrote `file`: every reader in the process sees it now, not after the debounce. */
  wrote(file: string): void;
}

const watches = new Map<string, DataDirWatch>();

export function watchDataDir(dir: string): DataDirWatch {
  const key = resolve(dir);
  let w = watches.get(key);
  if (!w) {
    w = startWatch(key);
    watches.set(key, w);
  }
  return w;
}

function startWatch(dir: string): DataDirWatch {
  const generations = new Map<string, number>();
  const pending = new Set<string>();
  let watcher: FSWatcher | undefined;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    watcher = watch(dir, { persistent: false }, (_event, name) => {
      // No name (some platforms): every file may have changed.
      const file = name === null ? '*' : String(name);
      if (pending.has(file)) return;
      pending.add(file);
      setTimeout(() => {
        pending.delete(file);
        if (file === '*') for (const f of generations.keys()) generations.set(f, generations.get(f)! + 1);
        generations.set(file, (generations.get(file) ?? 0) + 1);
      }, DEBOUNCE_MS).unref();
    });
    watcher.on('error', () => {
      watcher?.close();
      watcher = undefined;
    });
    watcher.unref();
  } catch {
    watcher = undefined;
  }
  return {
    generation(file) {
      if (!watcher) return undefined;
      if (!generations.has(file)) generations.set(file, 0);
      return generations.get(file)!;
    },
    wrote(file) {
      generations.set(file, (generations.get(file) ?? 0) + 1);
    },
  };
}
