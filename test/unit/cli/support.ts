// Shared helpers for the CLI tests: an io that records output, and a temp data dir.
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIo } from '../../../bin/commands/args.js';

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
