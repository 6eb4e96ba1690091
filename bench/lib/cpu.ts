/**
 * CPU time of processes, for µs of CPU per request: user + system time from /proc/<pid>/stat
 * (Linux), and this process's own through process.cpuUsage().
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU of a process so far, in microseconds. */
export function processCpuMicros(pid: number): number {
  const stat = readFileText(`/proc/${pid}/stat`);
  // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / clockTicks()) * 1e6;
}

/** This process's CPU so far, in microseconds. */
export function ownCpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function readFileText(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Counts trace lines in JSONL files under `dir`, reading only what was appended since the last call. */
export function traceLineCounter(dir: string): () => number {
  const offsets = new Map<string, number>();
  let lines = 0;
  const buf = Buffer.alloc(1024 * 1024);
  return () => {
    let names: string[] = [];
    try {
      names = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
    } catch {
      return lines;
    }
    for (const name of names) {
      let offset = offsets.get(name) ?? 0;
      const fd = openSync(join(dir, name), 'r');
      try {
        for (;;) {
          const n = readSync(fd, buf, 0, buf.length, offset);
          if (n <= 0) break;
          for (let i = 0; i < n; i++) if (buf[i] === 10) lines++;
          offset += n;
        }
      } finally {
        closeSync(fd);
      }
      offsets.set(name, offset);
    }
    return lines;
  };
}
