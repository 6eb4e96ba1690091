// Shared helpers for the CLI tests: an io that records output, a temp data dir, and a
// harness for the commands that work on the control store.
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import type { CliIo, StoreCommandDeps } from '../../../bin/commands/args.js';
import { FileControlStore } from '../../../functions/stores/file-store.js';

export interface RecordingIo extends CliIo {
  out(): string;
  err(): string;
}

export function recordingIo(): RecordingIo {
  let out = '';
  let err = '';
  return {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    out: () => out,
    err: () => err,
  };
}

export async function tempDataDir(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await fs.mkdtemp(join(tmpdir(), 'sluice-cli-'));
  return { dir, remove: () => fs.rm(dir, { recursive: true, force: true }) };
}

/** A store command (`runProxiesCommand`, `runKeysCommand`, ...). */
export type StoreCommand = (argv: string[], io: CliIo, deps: StoreCommandDeps) => Promise<number>;

export interface StoreCommandHarness {
  /** This test's deps (a file store in a fresh temp data dir, clock at `now`); tests may change them. */
  readonly deps: StoreCommandDeps;
  /** A separate store instance on the same data dir, as another process would see it. */
  readonly reader: FileControlStore;
  /** Runs the command with this test's deps and a recording io. */
  run(...argv: string[]): Promise<{ code: number; out: string; err: string }>;
}

/**
 * Registers beforeEach/afterEach hooks that give every test a fresh temp data dir (removed
 * afterwards), deps opening a FileControlStore there, and a reader store on it.
 */
export function storeCommandHarness(command: StoreCommand, now: Date): StoreCommandHarness {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let deps: StoreCommandDeps;
  let reader: FileControlStore;
  beforeEach(async () => {
    data = await tempDataDir();
    deps = { openStore: async () => new FileControlStore({ dataDir: data.dir }), now: () => now };
    reader = new FileControlStore({ dataDir: data.dir });
  });
  afterEach(() => data.remove());
  return {
    get deps() {
      return deps;
    },
    get reader() {
      return reader;
    },
    async run(...argv) {
      const io = recordingIo();
      const code = await command(argv, io, deps);
      return { code, out: io.out(), err: io.err() };
    },
  };
}
