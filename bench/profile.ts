/**
 * `npx tsx bench/profile.ts`: where Sluice's CPU goes per request. Starts the test
 * upstream and `sluice dev` exactly as `npm run bench` does (bench/lib/targets.ts), the
 * latter under `node --cpu-prof`, drives plain chat completions through it in a closed
 * loop, stops it (SIGTERM → process.exit, so the profile is written) and prints a
 * summary of the profile: self and inclusive time by function, self time by file.
 *
 * Knobs: PROFILE_CONCURRENCY (32), PROFILE_DURATION_MS (8000), PROFILE_STREAM (unset:
 * plain; 1: streamed `test-slow@first=0,gap=1`), PROFILE_DIR (a temp dir; the
 * .cpuprofile is kept there and its path printed, e.g. to open in Chrome DevTools).
 */
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderProfileSummary, summariseProfile } from './lib/cpuprofile.js';
import { chatBody, closedLoopThroughput } from './lib/http-load.js';
import { newUpstreamKey, startSluice, startUpstream, type BenchEnv, type Started } from './lib/targets.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const int = (name: string, fallback: number) => {
  const n = Number(process.env[name]);
  return Number.isInteger(n) && n > 0 ? n : fallback;
};

async function main(): Promise<void> {
  const workDir = mkdtempSync(join(tmpdir(), 'sluice-profile-'));
  const profDir = resolve(process.env.PROFILE_DIR ?? join(workDir, 'profile'));
  mkdirSync(profDir, { recursive: true });
  const env: BenchEnv = { root, workDir, upstreamKey: newUpstreamKey() };
  const running: Started[] = [];
  let completed = 0;
  try {
    const upstream = await startUpstream(env);
    running.push(upstream);
    const sluice = await startSluice(env, upstream.url, {
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`, '--import', './bench/lib/exit-on-sigterm.mjs'],
    });
    running.push(sluice);
    const stream = process.env.PROFILE_STREAM === '1';
    const body = chatBody(stream ? 'test-slow@first=0,gap=1' : 'gpt-4o-mini', 'hello from the sluice benchmark', stream);
    const result = await closedLoopThroughput(sluice.target, body, {
      concurrency: int('PROFILE_CONCURRENCY', 32),
      warmupMs: 1000,
      durationMs: int('PROFILE_DURATION_MS', 8000),
      maxRequests: 500_000,
      stream,
    });
    completed = result.completed;
    process.stdout.write(`[profile] ${result.requestsPerSecond.toFixed(0)} req/s, ${result.completed} completed, ${result.errors} errors\n`);
  } finally {
    for (const s of running.reverse()) await s.child.stop();
  }
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile written in ${profDir}`);
  process.stdout.write(`[profile] ${join(profDir, file)}\n\n`);
  // The profile also covers start-up and warm-up; per-request figures divide by the measured requests only.
  process.stdout.write(`${renderProfileSummary(summariseProfile(join(profDir, file), root), completed)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`[profile] failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
