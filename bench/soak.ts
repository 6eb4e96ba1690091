/**
 * `npm run bench -- soak`: sustained load on `npm start` (the local runtime), governed:
 * a request Rego policy, a budget and rate limits on the proxy. Writes bench/results/soak.md.
 *
 * 100k requests (BENCH_SOAK_REQUESTS) at c = 32 (BENCH_SOAK_CONCURRENCY), plain and streamed
 * alternating, through a gateway process started with a heap probe (bench/lib/heap-probe.mjs:
 * SIGUSR2 → forced GC → process.memoryUsage()). Measured:
 *  - the gateway's RSS every second (/proc/<pid>/status);
 *  - heap after a forced GC: idle (after warm-up), after 10k requests, after all of them;
 *  - traces: JSONL lines on disk vs requests sent, how long after the last response the
 *    last trace landed, the spool left over, and `trace_rows_lost` lines in the gateway log.
 * Goals (issue #17): RSS ≤ 256 MiB and flat after warm-up; heap after GC ≤ idle + 32 MiB at
 * 10k and at the end; every trace persisted within 2 s of the end of load, none lost.
 * Knobs: BENCH_SOAK_REQUESTS, BENCH_SOAK_CONCURRENCY, BENCH_SOAK_SNAPSHOT=1 (heap snapshots at
 * each probe, kept in the work dir, which is then not deleted), BENCH_OUT.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { traceLineCounter } from './lib/cpu.js';
import { chatBody, chatRequest, type Target } from './lib/http-load.js';
import { newUpstreamKey, startSluice, startUpstream, SLUICE_PROXY_ID, type BenchEnv, type Started } from './lib/targets.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const int = (name: string, fallback: number) => {
  const n = Number(process.env[name]);
  return Number.isInteger(n) && n > 0 ? n : fallback;
};
const REQUESTS = int('BENCH_SOAK_REQUESTS', 100_000);
const CONCURRENCY = int('BENCH_SOAK_CONCURRENCY', 32);
const WARMUP = 2_000;
const PROBE_AT = Math.min(10_000, REQUESTS);
const SNAPSHOT = process.env.BENCH_SOAK_SNAPSHOT === '1';
const OUT = resolve(root, process.env.BENCH_OUT ?? 'bench/results/soak.md');
const MiB = 1024 * 1024;
const STREAM_MODEL = 'test-slow@first=0,gap=1';
const GOALS = { rssMiB: 256, heapAboveIdleMiB: 32, persistSeconds: 2 };
const log = (line: string) => process.stdout.write(`[soak] ${line}\n`);

const REQUEST_POLICY = `package sluice.policy
deny contains "tool delete_database is not allowed" if {
  some tool in input.tool_names
  tool == "delete_database"
}
deny contains "a credential in the prompt" if {
  some m in input.messages
  regex.match(\`(sk-[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16})\`, m.text)
}
`;

interface HeapProbe {
  at: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  beforeGc: { rss: number; heapTotal: number; heapUsed: number };
  maxHeapTotal: number;
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb * 1024;
}

/** RSS by mapping kind (/proc/<pid>/smaps): the node binary, anonymous memory, the malloc heap. */
function memoryMap(pid: number): string {
  const agg = new Map<string, number>();
  let current = '[anon]';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) current = line.split(/\s+/)[5] || '[anon]';
    else if (line.startsWith('Rss:')) agg.set(current, (agg.get(current) ?? 0) + Number(line.split(/\s+/)[1]) * 1024);
  }
  return [...agg]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([k, v]) => `${k.split('/').pop()} ${(v / MiB).toFixed(0)} MiB`)
    .join(', ');
}

async function probeHeap(pid: number, file: string): Promise<HeapProbe> {
  const before = existsSync(file) ? statSync(file).mtimeMs : 0;
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    if (existsSync(file) && statSync(file).mtimeMs !== before) return JSON.parse(readFileSync(file, 'utf8')) as HeapProbe;
  }
  throw new Error('heap probe did not answer');
}

function spoolFiles(dir: string): number {
  let n = 0;
  try {
    for (const sink of readdirSync(dir)) n += readdirSync(join(dir, sink)).filter((f) => f.endsWith('.jsonl')).length;
  } catch {
    // no spool at all
  }
  return n;
}

async function load(target: Target, count: number, onDone: () => void): Promise<{ errors: number; statuses: Map<number, number>; seconds: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  // max_tokens keeps each request's token bound (what the tokens-per-minute limit counts) small.
  const withMax = (body: string) => JSON.stringify({ ...(JSON.parse(body) as object), max_tokens: 32 });
  const plain = withMax(chatBody('gpt-4o-mini', 'hello from the soak benchmark', false));
  const streamed = withMax(chatBody(STREAM_MODEL, 'hello from the soak benchmark', true));
  let next = 0;
  let errors = 0;
  const statuses = new Map<number, number>();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) {
        const i = next++;
        const stream = i % 2 === 1;
        const sample = await chatRequest(agent, target, stream ? streamed : plain, stream, 30_000);
        statuses.set(sample.status, (statuses.get(sample.status) ?? 0) + 1);
        if (!sample.ok) errors++;
        onDone();
      }
    }),
  );
  agent.destroy();
  return { errors, statuses, seconds: (performance.now() - t0) / 1000 };
}

export async function runSoak(): Promise<void> {
  const workDir = mkdtempSync(join(tmpdir(), 'sluice-soak-'));
  const env: BenchEnv = { root, workDir, upstreamKey: newUpstreamKey() };
  const running: Started[] = [];
  const probeFile = join(workDir, 'heap.json');
  const samples: { t: number; rss: number; done: number }[] = [];
  let sent = 0;
  try {
    const upstream = await startUpstream(env);
    running.push(upstream);
    const policyFile = join(workDir, 'request.rego');
    writeFileSync(policyFile, REQUEST_POLICY);
    const sluice = await startSluice(env, upstream.url, {
      nodeArgs: [...(process.env.BENCH_SOAK_NODE_ARGS ?? '').split(' ').filter(Boolean), '--expose-gc', '--import', './bench/lib/heap-probe.mjs'],
      env: {
        HEAP_PROBE_FILE: probeFile,
        ...(SNAPSHOT ? { HEAP_PROBE_SNAPSHOT: '1' } : {}),
        // A budget needs a price for every model it meters (the streamed scenario's name included).
        SLUICE_PRICING_OVERRIDES: JSON.stringify({ models: { 'gpt-4o-mini': { input: 0.15, output: 0.6 }, [STREAM_MODEL]: { input: 0.15, output: 0.6 } } }),
      },
      setup: (cli) => {
        cli(['policies', 'set', SLUICE_PROXY_ID, '--stage', 'request', policyFile]);
        cli(['budgets', 'set', '--proxy', SLUICE_PROXY_ID, '--limit', '1000000', '--period', 'month']);
        cli(['limits', 'set', '--proxy', SLUICE_PROXY_ID, '--rpm', '1000000', '--tpm', '100000000']);
      },
    });
    running.push(sluice);
    const pid = sluice.child.process.pid!;
    const traces = traceLineCounter(join(sluice.dataDir, 'traces'));
    const t0 = Date.now();
    const sampler = setInterval(() => samples.push({ t: (Date.now() - t0) / 1000, rss: rssOf(pid), done: sent }), 1000);

    log(`warm-up ${WARMUP} requests…`);
    const warm = await load(sluice.target, WARMUP, () => sent++);
    if (warm.errors) throw new Error(`warm-up: ${warm.errors} failed requests (statuses ${JSON.stringify([...warm.statuses])}); see ${sluice.child.logFile}`);
    const warmEnd = (Date.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 1_000));
    const idle = await probeHeap(pid, probeFile);
    log(`idle heap after GC ${(idle.heapUsed / MiB).toFixed(1)} MiB, rss ${(idle.rss / MiB).toFixed(0)} MiB`);

    log(`${PROBE_AT} requests…`);
    const first = await load(sluice.target, PROBE_AT, () => sent++);
    const at10k = await probeHeap(pid, probeFile);
    log(`after ${PROBE_AT}: heap after GC ${(at10k.heapUsed / MiB).toFixed(1)} MiB`);
    // A second probe at 40k (the issue's figures at 10k and 40k requests).
    const MID = 40_000;
    const mid = REQUESTS > MID ? await load(sluice.target, MID - PROBE_AT, () => sent++) : { errors: 0, statuses: new Map<number, number>(), seconds: 0 };
    const at40k = REQUESTS > MID ? await probeHeap(pid, probeFile) : undefined;
    if (at40k) log(`after ${MID}: heap after GC ${(at40k.heapUsed / MiB).toFixed(1)} MiB, rss ${(at40k.rss / MiB).toFixed(0)} MiB`);
    const rest = REQUESTS - (at40k ? MID : PROBE_AT);
    log(`${rest} more…`);
    const second = rest > 0 ? await load(sluice.target, rest, () => sent++) : { errors: 0, statuses: new Map<number, number>(), seconds: 0 };
    const endOfLoad = performance.now();
    let persisted = traces();
    let persistMs = 0;
    while (persisted < sent && performance.now() - endOfLoad < 30_000) {
      await new Promise((r) => setTimeout(r, 20));
      persisted = traces();
    }
    persistMs = performance.now() - endOfLoad;
    const atEnd = await probeHeap(pid, probeFile);
    const maps = memoryMap(pid);
    log(`memory map at the end: ${maps}; largest V8 heap seen ${(atEnd.maxHeapTotal / MiB).toFixed(0)} MiB; before GC heapTotal ${(atEnd.beforeGc.heapTotal / MiB).toFixed(0)} MiB`);
    log(`after all: heap after GC ${(atEnd.heapUsed / MiB).toFixed(1)} MiB; traces ${persisted}/${sent} in ${persistMs.toFixed(0)} ms`);
    clearInterval(sampler);
    for (const s of running.reverse()) await s.child.stop();
    running.length = 0;
    const logText = readFileSync(sluice.child.logFile, 'utf8');
    const lostLines = logText.split('\n').filter((l) => l.includes('"trace_rows_lost"'));
    const lost = lostLines.reduce((n, l) => n + Number(/"trace_rows_lost":(\d+)/.exec(l)?.[1] ?? 0), 0);
    const spooled = spoolFiles(join(sluice.dataDir, 'trace-spool'));

    const after = samples.filter((s) => s.t >= warmEnd + 5);
    const maxRss = Math.max(...after.map((s) => s.rss));
    const third = Math.max(1, Math.floor(after.length / 3));
    const mean = (xs: { rss: number }[]) => xs.reduce((n, s) => n + s.rss, 0) / Math.max(1, xs.length);
    const early = mean(after.slice(0, third));
    const late = mean(after.slice(-third));
    const loadSeconds = first.seconds + mid.seconds + second.seconds;
    const errors = first.errors + mid.errors + second.errors;
    const statuses = new Map<number, number>();
    for (const m of [first.statuses, mid.statuses, second.statuses]) for (const [k, v] of m) statuses.set(k, (statuses.get(k) ?? 0) + v);
    const heapGrowthMiB = (p: HeapProbe) => (p.heapUsed - idle.heapUsed) / MiB;
    const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');
    const rows = samples.filter((_, i) => i % 10 === 0 || i === samples.length - 1);
    const md = [
      '# Soak: sustained load on `npm start`, governed',
      '',
      `Run: ${new Date().toISOString()} · ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'} · load average ${loadavg().map((x) => x.toFixed(1)).join(' / ')} · Node ${process.version} · \`npm run bench -- soak\``,
      '',
      `${REQUESTS.toLocaleString('en')} requests at c = ${CONCURRENCY} after ${WARMUP.toLocaleString('en')} warm-up requests, plain and streamed alternating (streams: 1 ms between events), through \`sluice dev\` (file store, JSONL traces) with a request Rego policy (a tool deny and a credential regex, both allowing), a budget and rate limits on the proxy. The upstream and the load generator are separate processes on the same 2 cores.`,
      '',
      '## Against the goals',
      '',
      '| measure | value | goal | |',
      '|---|---|---|---|',
      `| peak RSS after warm-up | ${(maxRss / MiB).toFixed(0)} MiB | ≤ ${GOALS.rssMiB} MiB | ${verdict(maxRss / MiB <= GOALS.rssMiB)} |`,
      `| RSS drift (mean of last third − first third after warm-up) | ${((late - early) / MiB).toFixed(1)} MiB | flat (≤ 16 MiB) | ${verdict((late - early) / MiB <= 16)} |`,
      `| heap after forced GC, idle | ${(idle.heapUsed / MiB).toFixed(1)} MiB | | |`,
      `| heap after forced GC after ${PROBE_AT.toLocaleString('en')} | ${(at10k.heapUsed / MiB).toFixed(1)} MiB (idle ${heapGrowthMiB(at10k) >= 0 ? '+' : ''}${heapGrowthMiB(at10k).toFixed(1)}), RSS ${(at10k.rss / MiB).toFixed(0)} MiB | ≤ idle + ${GOALS.heapAboveIdleMiB} MiB | ${verdict(heapGrowthMiB(at10k) <= GOALS.heapAboveIdleMiB)} |`,
      ...(at40k
        ? [`| heap after forced GC after ${MID.toLocaleString('en')} | ${(at40k.heapUsed / MiB).toFixed(1)} MiB (idle ${heapGrowthMiB(at40k) >= 0 ? '+' : ''}${heapGrowthMiB(at40k).toFixed(1)}), RSS ${(at40k.rss / MiB).toFixed(0)} MiB | ≤ idle + ${GOALS.heapAboveIdleMiB} MiB | ${verdict(heapGrowthMiB(at40k) <= GOALS.heapAboveIdleMiB)} |`]
        : []),
      `| heap after forced GC after all ${REQUESTS.toLocaleString('en')} | ${(atEnd.heapUsed / MiB).toFixed(1)} MiB (idle ${heapGrowthMiB(atEnd) >= 0 ? '+' : ''}${heapGrowthMiB(atEnd).toFixed(1)}) | ≤ idle + ${GOALS.heapAboveIdleMiB} MiB | ${verdict(heapGrowthMiB(atEnd) <= GOALS.heapAboveIdleMiB)} |`,
      `| traces on disk / requests sent | ${persisted.toLocaleString('en')} / ${sent.toLocaleString('en')} | all | ${verdict(persisted >= sent)} |`,
      `| last trace on disk after the last response | ${(persistMs / 1000).toFixed(2)} s | ≤ ${GOALS.persistSeconds} s | ${verdict(persisted >= sent && persistMs / 1000 <= GOALS.persistSeconds)} |`,
      `| trace rows lost (\`trace_rows_lost\` in the gateway log) | ${lost} | 0 | ${verdict(lost === 0)} |`,
      `| spool files left | ${spooled} | 0 | ${verdict(spooled === 0)} |`,
      `| failed requests | ${errors} (statuses ${[...statuses].map(([k, v]) => `${k}: ${v}`).join(', ')}) | 0 | ${verdict(errors === 0)} |`,
      '',
      `Throughput: ${(REQUESTS / loadSeconds).toFixed(0)} req/s over ${loadSeconds.toFixed(0)} s. Heap probes: RSS ${(idle.rss / MiB).toFixed(0)} / ${(at10k.rss / MiB).toFixed(0)} / ${(atEnd.rss / MiB).toFixed(0)} MiB, external ${(idle.external / MiB).toFixed(1)} / ${(at10k.external / MiB).toFixed(1)} / ${(atEnd.external / MiB).toFixed(1)} MiB.`,
      '',
      '## RSS over time (every 10 s)',
      '',
      '| s | requests done | RSS MiB |',
      '|---|---|---|',
      ...rows.map((s) => `| ${s.t.toFixed(0)} | ${s.done.toLocaleString('en')} | ${(s.rss / MiB).toFixed(0)} |`),
      '',
      '## What this proves and what it does not',
      '',
      '- It proves, for a long-running process (the local runtime, the container server built on it), that a request is released at its last byte, that the trace queues keep up with this load and are bounded, and that nothing reaches the spool or is lost when the sink (the JSONL file) is healthy.',
      '- It does not prove Lambda behaviour: there, an invocation waits up to 500 ms after its last byte for its own rows and the environment is frozen afterwards; rows not stored by then are counted as `trace_rows_lost`, which only the deployed metric and alarm can show.',
      '- The spool and its replay are exercised by tests (test/unit/traces/fanout.test.ts), not by this run.',
      '',
    ].join('\n');
    mkdirSync(dirname(OUT), { recursive: true });
    writeFileSync(OUT, md);
    log(`wrote ${OUT}`);
    process.stdout.write(`\n${md}\n`);
  } finally {
    for (const s of running.reverse()) await s.child.stop();
    if (!SNAPSHOT) rmSync(workDir, { recursive: true, force: true });
    else log(`heap snapshots kept in ${workDir}`);
  }
}
