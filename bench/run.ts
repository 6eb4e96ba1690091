/**
 * `npm run bench`: Sluice's local runtime vs direct-to-upstream vs Portkey's gateway,
 * all through the same test upstream, in one run; then the Lambda artifact's size and
 * init time; then the Rego benchmark when bench/rego.ts exists. Writes
 * bench/results/gateway.md. Loopback only; every loop is bounded in count and time.
 *
 * Knobs (environment): BENCH_REQUESTS (2000), BENCH_WARMUP (200), BENCH_ROUNDS (4),
 * BENCH_CONCURRENCY (32), BENCH_RUNS (3), BENCH_DURATION_MS (4000),
 * BENCH_INIT_SAMPLES (9), BENCH_OUT (bench/results/gateway.md), BENCH_COMMIT (git HEAD),
 * BENCH_BASELINE (a git ref: that commit's Sluice, exported with `git archive`, runs as a
 * fourth target `sluice@REF` in the same run, for before/after ratios), BENCH_SKIP
 * (comma-separated: `artifact`, `rego` — parts not to run).
 *
 * `npm run bench -- --artifact`: only the Lambda artifact's size and init time, printed
 * (no servers started, no report written). `npm run bench -- soak`: the soak benchmark
 * (bench/soak.ts → bench/results/soak.md).
 */
import '../bin/require-node.js'; // first: refuses a Node older than 24
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem, type } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { measureArtifact, esbuildVersion, type ArtifactResult } from './lib/artifact.js';
import { chatBody, chatRequest, closedLoopThroughput, sequentialLatency, type Target } from './lib/http-load.js';
import { renderGatewayReport, summariseLatency, type BenchSettings, type LatencySummary, type MachineInfo, type ThroughputSummary } from './lib/report.js';
import { newUpstreamKey, startBareProxy, startPortkey, startSluice, startUpstream, SLUICE_PROXY_ID, type BenchEnv, type Started } from './lib/targets.js';
import { ownCpuMicros, processCpuMicros, traceLineCounter } from './lib/cpu.js';
import { median } from './lib/stats.js';
import { replyTo } from '../test/support/openai-upstream.js';
import { Agent } from 'node:http';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const int = (name: string, fallback: number) => {
  const n = Number(process.env[name]);
  return Number.isInteger(n) && n > 0 ? n : fallback;
};

const PROMPT = 'hello from the sluice benchmark';
const settings: BenchSettings = {
  requests: int('BENCH_REQUESTS', 2000),
  warmup: int('BENCH_WARMUP', 200),
  rounds: int('BENCH_ROUNDS', 4),
  concurrency: int('BENCH_CONCURRENCY', 32),
  runs: int('BENCH_RUNS', 3),
  durationMs: int('BENCH_DURATION_MS', 4000),
  warmupMs: 1000,
  plainModel: 'gpt-4o-mini',
  // 1 ms between events, so a gateway that buffered the stream would show it in TTFT.
  streamModel: 'test-slow@first=0,gap=1',
  prompt: PROMPT,
  initSamples: int('BENCH_INIT_SAMPLES', 9),
};
const outFile = resolve(root, process.env.BENCH_OUT ?? 'bench/results/gateway.md');
const log = (line: string) => process.stdout.write(`[bench] ${line}\n`);

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'missing';
  }
}

function machineInfo(): MachineInfo {
  // BENCH_COMMIT names the commit when the benchmark runs from an exported snapshot (no .git).
  let commit = process.env.BENCH_COMMIT ?? 'unknown';
  if (!process.env.BENCH_COMMIT) {
    try {
      commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      // not a git checkout
    }
  }
  const ownVersion = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  return {
    date: new Date().toISOString(),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: totalmem() / 1024 ** 3,
    os: `${type()} ${release()}`,
    node: process.version,
    versions: {
      sluice: ownVersion,
      '@portkey-ai/gateway': packageVersion('@portkey-ai/gateway'),
      '@hono/node-server': packageVersion('@hono/node-server'),
      '@middy/core': packageVersion('@middy/core'),
      esbuild: esbuildVersion,
    },
    commit,
    loadBefore: loadavg(),
    loadAfter: [],
  };
}

/** One plain and one streamed request per target must come back right before anything is timed. */
async function verify(target: Target): Promise<void> {
  const agent = new Agent({ keepAlive: false });
  try {
    const plain = await chatRequest(agent, target, chatBody(settings.plainModel, PROMPT, false), false);
    const content = plain.ok ? (JSON.parse(plain.body) as { choices: { message: { content: string } }[] }).choices[0]?.message.content : undefined;
    if (content !== replyTo(PROMPT)) throw new Error(`${target.name}: plain check failed (status ${plain.status}): ${plain.body.slice(0, 300)}`);
    const stream = await chatRequest(agent, target, chatBody(settings.streamModel, PROMPT, true), true);
    if (!stream.ok || !stream.body.includes('"usage":{')) {
      throw new Error(`${target.name}: stream check failed (status ${stream.status}): ${stream.body.slice(0, 300)}`);
    }
  } finally {
    agent.destroy();
  }
}

async function latency(targets: Target[], stream: boolean): Promise<LatencySummary[]> {
  const body = chatBody(stream ? settings.streamModel : settings.plainModel, PROMPT, stream);
  const perRound = Math.ceil(settings.requests / settings.rounds);
  const acc = new Map(targets.map((t) => [t.name, { total: [] as number[], ttft: [] as number[], errors: 0, roundP50: [] as number[] }]));
  for (let round = 0; round < settings.rounds; round++) {
    for (const target of targets) {
      const run = await sequentialLatency(target, body, stream, {
        count: perRound,
        warmup: round === 0 ? settings.warmup : 20,
        maxMs: 90_000,
      });
      const a = acc.get(target.name)!;
      a.total.push(...run.totalMs);
      a.ttft.push(...run.ttftMs);
      a.errors += run.errors;
      a.roundP50.push(median(stream ? run.ttftMs : run.totalMs));
    }
    log(`  ${stream ? 'stream' : 'plain'} round ${round + 1}/${settings.rounds} done`);
  }
  return targets.map((t) => {
    const a = acc.get(t.name)!;
    return { ...summariseLatency(t.name, a.total, a.ttft, a.errors), roundP50: a.roundP50 };
  });
}

/** A target with the processes its CPU is counted in and, for Sluice, where its traces land. */
interface Measured {
  target: Target;
  /** The gateway's process (none for direct calls). */
  pid?: number;
  /** Sluice: its JSONL trace directory; the window ends only when every request's trace is there. */
  traces?: () => number;
}

async function throughput(targets: Measured[], upstreamPid: number): Promise<ThroughputSummary[]> {
  const body = chatBody(settings.plainModel, PROMPT, false);
  const acc = new Map(targets.map((t) => [t.target.name, { runs: [] as number[], errors: 0, cpu: { gateway: [] as number[], upstream: [] as number[], client: [] as number[] }, backlog: [] as number[], drainMs: [] as number[] }]));
  for (let run = 0; run < settings.runs; run++) {
    for (const m of targets) {
      const tracesBefore = m.traces?.();
      const cpu0 = { gateway: m.pid ? processCpuMicros(m.pid) : 0, upstream: processCpuMicros(upstreamPid), client: ownCpuMicros() };
      const result = await closedLoopThroughput(m.target, body, {
        concurrency: settings.concurrency,
        warmupMs: settings.warmupMs,
        durationMs: settings.durationMs,
        maxRequests: 200_000,
      });
      const a = acc.get(m.target.name)!;
      let rps = result.requestsPerSecond;
      if (m.traces && tracesBefore !== undefined) {
        // The window ends when this run's traces are on disk: what is still queued is reported and waited for.
        const endOfLoad = performance.now();
        a.backlog.push(Math.max(0, result.issued - (m.traces() - tracesBefore)));
        while (m.traces() - tracesBefore < result.issued && performance.now() - endOfLoad < 30_000) await new Promise((r) => setTimeout(r, 10));
        const drainMs = performance.now() - endOfLoad;
        a.drainMs.push(drainMs);
        rps = result.completed / (result.seconds + drainMs / 1000);
      }
      const perRequest = (micros: number) => micros / Math.max(1, result.issued);
      a.cpu.gateway.push(m.pid ? perRequest(processCpuMicros(m.pid) - cpu0.gateway) : Number.NaN);
      a.cpu.upstream.push(perRequest(processCpuMicros(upstreamPid) - cpu0.upstream));
      a.cpu.client.push(perRequest(ownCpuMicros() - cpu0.client));
      a.runs.push(rps);
      a.errors += result.errors;
      log(`  throughput run ${run + 1}/${settings.runs} ${m.target.name}: ${rps.toFixed(0)} req/s (${result.errors} errors), gateway CPU ${a.cpu.gateway.at(-1)!.toFixed(0)} µs/request`);
    }
  }
  return targets.map((t) => ({ target: t.target.name, ...acc.get(t.target.name)! }));
}

const GOVERNED_POLICY = `package sluice.policy
deny contains "tool delete_database is not allowed" if {
  some tool in input.tool_names
  tool == "delete_database"
}
deny contains "a credential in the prompt" if {
  some m in input.messages
  regex.match(\`(sk-[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16})\`, m.text)
}
`;

/** The governed chain: a request Rego policy (both rules allow), a budget and rate limits on the proxy. */
function governedOptions(env: BenchEnv): Parameters<typeof startSluice>[2] {
  const policyFile = join(env.workDir, 'governed.rego');
  writeFileSync(policyFile, GOVERNED_POLICY);
  return {
    name: 'sluice-governed',
    // A budget needs a price for every model it meters (the streamed scenario's name included).
    env: { SLUICE_PRICING_OVERRIDES: JSON.stringify({ models: { [settings.plainModel]: { input: 0.15, output: 0.6 }, [settings.streamModel]: { input: 0.15, output: 0.6 } } }) },
    setup: (cli) => {
      cli(['policies', 'set', SLUICE_PROXY_ID, '--stage', 'request', policyFile]);
      cli(['budgets', 'set', '--proxy', SLUICE_PROXY_ID, '--limit', '1000000', '--period', 'month']);
      cli(['limits', 'set', '--proxy', SLUICE_PROXY_ID, '--rpm', '10000000', '--tpm', '999999999']);
    },
  };
}

/** Sluice at another commit (exported from git into the work dir, sharing this checkout's node_modules). */
async function startBaseline(env: BenchEnv, upstreamUrl: string, ref: string): Promise<Started> {
  const commit = execFileSync('git', ['rev-parse', '--short', ref], { cwd: root, encoding: 'utf8' }).trim();
  const dir = join(env.workDir, `baseline-${commit}`);
  mkdirSync(dir, { recursive: true });
  execFileSync('sh', ['-c', `git archive ${commit} | tar -x -C '${dir}'`], { cwd: root });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return startSluice({ ...env, root: dir }, upstreamUrl, { name: `sluice@${commit}` });
}

/** File sizes in Sluice's data directory (state the file store rewrites per request shows up here). */
function describeDataDir(dir: string): string {
  const sizeOf = (path: string): number => {
    const st = statSync(path);
    return st.isDirectory() ? readdirSync(path).reduce((n, f) => n + sizeOf(join(path, f)), 0) : st.size;
  };
  try {
    return readdirSync(dir)
      .map((f) => `${f} ${(sizeOf(join(dir, f)) / 1024).toFixed(0)} KiB`)
      .join(', ');
  } catch (error) {
    return `not readable (${(error as Error).message})`;
  }
}

/** The Rego engineer's benchmark, when present; it writes its own results. */
async function runRegoBenchIfPresent(notes: string[]): Promise<void> {
  const regoBench = join(root, 'bench', 'rego.ts');
  if (!existsSync(regoBench)) {
    notes.push('bench/rego.ts not present: Rego benchmark not run.');
    return;
  }
  log('rego benchmark (bench/rego.ts)…');
  try {
    const mod = (await import(pathToFileURL(regoBench).href)) as { runRegoBench?: () => unknown };
    if (typeof mod.runRegoBench !== 'function') {
      notes.push('bench/rego.ts exports no runRegoBench(): Rego benchmark not run.');
      return;
    }
    const markdown = await mod.runRegoBench();
    if (typeof markdown === 'string') process.stdout.write(`\n${markdown}\n`);
    notes.push('Rego benchmark: run by bench/rego.ts runRegoBench(); its results are in bench/results/rego.md.');
  } catch (error) {
    notes.push(`Rego benchmark failed: ${(error as Error).message}`);
    log(`rego benchmark failed: ${(error as Error).message}`);
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const machine = machineInfo();
  const workDir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const env: BenchEnv = { root, workDir, upstreamKey: newUpstreamKey() };
  const notes: string[] = [];
  const running: Started[] = [];
  let artifact: ArtifactResult | { error: string };
  let plain: LatencySummary[] = [];
  let stream: LatencySummary[] = [];
  let tput: ThroughputSummary[] = [];
  try {
    log(`work dir ${workDir}`);
    const upstream = await startUpstream(env);
    running.push(upstream);
    log(`upstream ${upstream.url}`);
    const bare = await startBareProxy(env, upstream.url);
    running.push(bare);
    log(`bare proxy ${bare.target.baseUrl}`);
    const sluice = await startSluice(env, upstream.url);
    running.push(sluice);
    log(`sluice ${sluice.target.baseUrl}`);
    const governed = await startSluice(env, upstream.url, governedOptions(env));
    running.push(governed);
    log(`sluice-governed ${governed.target.baseUrl}`);
    const baseline = process.env.BENCH_BASELINE ? await startBaseline(env, upstream.url, process.env.BENCH_BASELINE) : undefined;
    if (baseline) {
      running.push(baseline);
      log(`${baseline.target.name} ${baseline.target.baseUrl}`);
    }
    const portkey = await startPortkey(env, upstream.url);
    running.push(portkey);
    log(`portkey ${portkey.target.baseUrl}`);
    const targets = [upstream.target, bare.target, sluice.target, governed.target, ...(baseline ? [baseline.target] : []), portkey.target];
    for (const t of targets) await verify(t);
    log('all targets answer correctly (plain and stream)');

    log('latency, plain…');
    plain = await latency(targets, false);
    log('latency, stream…');
    stream = await latency(targets, true);
    log('throughput…');
    const measured: Measured[] = [
      { target: upstream.target },
      { target: bare.target, pid: bare.child.process.pid },
      { target: sluice.target, pid: sluice.child.process.pid, traces: traceLineCounter(join(sluice.dataDir, 'traces')) },
      { target: governed.target, pid: governed.child.process.pid, traces: traceLineCounter(join(governed.dataDir, 'traces')) },
      ...(baseline ? [{ target: baseline.target, pid: baseline.child.process.pid }] : []),
      { target: portkey.target, pid: portkey.child.process.pid },
    ];
    tput = await throughput(measured, upstream.child.process.pid!);
  } finally {
    for (const s of running.reverse()) await s.child.stop();
  }
  notes.push(`Sluice's data directory after the run: ${describeDataDir(join(workDir, 'sluice-data'))}.`);

  const skip = new Set((process.env.BENCH_SKIP ?? '').split(',').map((x) => x.trim()));
  if (skip.has('artifact')) {
    artifact = { error: 'skipped (BENCH_SKIP=artifact).' };
  } else {
    log('Lambda artifact…');
    try {
      artifact = await measureArtifact(root, workDir, settings.initSamples);
    } catch (error) {
      artifact = { error: (error as Error).message };
    }
  }

  notes.push(
    'Portkey runs with bench/portkey/preload.mjs: it binds 127.0.0.1 instead of all interfaces, refuses non-loopback fetches, and works around Portkey issue #1389 (every streamed answer failed with `TypeError: immutable` — Portkey appends headers to the upstream fetch Response, whose headers @hono/node-server ≥ 1.14.2 passes on with the "immutable" guard; versions before 1.14.2 do not start on Node 24, Portkey PR #1605). The preload re-wraps each upstream fetch Response in a native Response with a copy of its headers; the body stream is passed on, not buffered.',
    "Portkey's Node stream handler waits 25 ms (setTimeout) before forwarding the first chunk of an OpenAI-format stream; that shows in its TTFT.",
    'Sluice runs as `npm start` would (tsx, file store, default log level: one JSON log line per request); it writes a JSONL trace per request under its data directory. Its figures include the local runtime\'s Function URL emulation (event v2 built from the HTTP request, prelude written and parsed), which AWS replaces with the real Function URL.',
    'All processes share 2 cores with the load generator (and with anything else running on the machine — see the load average), so absolute numbers are pessimistic and noisy; compare targets within this run.',
  );
  if (skip.has('rego')) notes.push('Rego benchmark not run (BENCH_SKIP=rego).');
  else await runRegoBenchIfPresent(notes);

  machine.loadAfter = loadavg();
  const markdown = renderGatewayReport({
    machine,
    settings,
    plain,
    stream,
    throughput: tput,
    artifact,
    notes,
    elapsedSeconds: (performance.now() - started) / 1000,
  });
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, markdown);
  rmSync(workDir, { recursive: true, force: true });
  log(`wrote ${outFile}`);
  process.stdout.write(`\n${markdown}\n`);
}

async function artifactOnly(): Promise<void> {
  const workDir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  try {
    const a = await measureArtifact(root, workDir, settings.initSamples);
    log(`code at init ${a.bundleBytes} bytes in ${a.initFiles} files (aim ≤ 1,000,000); lazy ${a.lazyBytes} bytes (largest ${a.lazyLargest.map((c) => `${c.file} ${c.bytes}`).join(', ')}); source map ${a.sourceMapBytes} bytes`);
    log(`init median ${a.initMedianMs.toFixed(1)} ms over ${a.initMs.length} processes: ${a.initMs.map((ms) => ms.toFixed(0)).join(', ')}`);
    log(`largest: ${a.largestInputs.map((i) => `${i.name} ${(i.bytes / 1024).toFixed(0)} KiB`).join(', ')}`);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

const entry = process.argv.includes('soak') ? import('./soak.js').then((m) => m.runSoak()) : process.argv.includes('--artifact') ? artifactOnly() : main();
entry.catch((error: unknown) => {
  process.stderr.write(`[bench] failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
