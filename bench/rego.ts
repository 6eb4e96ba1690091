/**
 * Rego engine benchmark: compile time of a 200-line policy, evaluation latency (p50/p99) of
 * the reference gateway policies in docs/policies/, and heap use across 1,000,000
 * evaluations. `npx tsx bench/rego.ts` writes bench/results/rego.md; `runRegoBench()` (used
 * by bench/run.ts) writes the same file and returns the markdown section.
 *
 * Knobs (environment): REGO_BENCH_EVALS (100000 timed evaluations per policy),
 * REGO_BENCH_MEMORY_EVALS (1000000).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, type as osType, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { compilePolicy } from '../functions/rego/index.js';
import type { CompiledPolicy, EvalOptions } from '../functions/rego/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const int = (name: string, fallback: number): number => {
  const n = Number(process.env[name]);
  return Number.isInteger(n) && n > 0 ? n : fallback;
};

interface Scenario {
  readonly name: string;
  readonly file: string;
  readonly query: string;
  readonly opts: EvalOptions;
  readonly regex: boolean;
}

const NOW_NS = 1_763_985_600_000_000_000n; // Monday 2025-11-24 12:00 UTC: within business hours

function scenarios(): Scenario[] {
  const message = `${'Please summarise the following meeting notes. '.repeat(180)}`.slice(0, 8192 - 40) + ' key AKIAABCDEFGHIJKLMNOP end';
  return [
    {
      name: 'tool-name deny list',
      file: 'tool-deny.rego',
      query: 'data.sluice.tools.deny',
      opts: { input: { tool_names: ['web_search', 'shell_exec'], tools: [{ name: 'web_search' }, { name: 'shell_exec' }] } },
      regex: false,
    },
    { name: 'model allow list', file: 'model-allow.rego', query: 'data.sluice.models.deny', opts: { input: { model: { requested: 'gpt-4o', resolved: 'gpt-4o' } } }, regex: false },
    {
      name: 'per-user budget against data',
      file: 'user-budget.rego',
      query: 'data.sluice.budget.deny',
      opts: {
        input: { user: 'ann', request: { estimated_tokens: 250000 } },
        data: { budgets: { default_usd: 10, users: { ann: 50, bo: 20 } }, spend: { ann: 48, bo: 3 } },
      },
      regex: false,
    },
    { name: 'business hours', file: 'business-hours.rego', query: 'data.sluice.hours.deny', opts: { nowNs: NOW_NS }, regex: false },
    {
      name: 'regex over 8 KB of message content',
      file: 'secret-regex.rego',
      query: 'data.sluice.content.deny',
      opts: { input: { messages: [{ role: 'system', text: 'You are helpful.' }, { role: 'user', text: message }] } },
      regex: true,
    },
  ];
}

/** A 200-line policy mixing the constructs real gateway policies use (12 blocks of 16 lines). */
export function policyOf200Lines(): string {
  const lines = ['# Generated for the compile benchmark: 200 lines.', '# Each block: a partial set rule, an else chain,', '# a function, every, and a set comprehension.', '', 'package bench.big', '', 'import rego.v1', ''];
  for (let i = 0; i < 12; i++) {
    lines.push(
      `deny contains msg if {`,
      `\tsome tool in input.request.tools`,
      `\ttool.function.name == "tool_${i}"`,
      `\tmsg := sprintf("tool %s is blocked (rule ${i})", [tool.function.name])`,
      `}`,
      ``,
      `limit_${i} := l if {`,
      `\tl := object.get(data.limits, input.identity.user, ${i})`,
      `} else := ${i}`,
      ``,
      `tier_${i}(u) := "pro" if u in {"ann", "bo", "u${i}"}`,
      ``,
      `ok_${i} if every m in input.request.messages { count(m.content) < ${1000 + i} }`,
      ``,
      `names_${i} := {n | some n in input.names; startswith(n, "p${i}")}`,
      ``,
    );
  }
  return `${lines.join('\n')}\n`;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

function fmtUs(ms: number): string {
  const us = ms * 1000;
  return us >= 100 ? us.toFixed(0) : us.toFixed(1);
}

function timeEvals(policy: CompiledPolicy, s: Scenario, n: number): { p50: number; p99: number; result: unknown } {
  const result = policy.evaluate(s.query, s.opts).result;
  const warm = Math.min(20_000, n);
  for (let i = 0; i < warm; i++) policy.evaluate(s.query, s.opts);
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    policy.evaluate(s.query, s.opts);
    t[i] = performance.now() - start;
  }
  const sorted = Array.from(t).sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), result };
}

function gcFunction(): (() => void) | undefined {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return g;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

export async function runRegoBench(): Promise<string> {
  const evals = int('REGO_BENCH_EVALS', 100_000);
  const memoryEvals = int('REGO_BENCH_MEMORY_EVALS', 1_000_000);
  const out: string[] = [];
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  out.push('## Rego engine', '');
  out.push(`Machine: ${cpu} (${cpus().length} cores), ${osType()} ${release()}, Node ${process.version}. Date: ${new Date().toISOString()}. Load average at start: ${loadavg().map((l) => l.toFixed(1)).join(' / ')} (other work on the machine inflates averages and tails).`, '');
  out.push('Evaluations go through `CompiledPolicy.evaluate(query, { input, data })`, the API the gateway uses: each call converts the JSON input to Rego values, evaluates the cached compiled query and converts the result back to JSON. Policies are compiled once and reused.', '');

  // Compile time of a 200-line policy.
  const src = policyOf200Lines();
  const lineCount = src.split('\n').length - 1;
  for (let i = 0; i < 5; i++) compilePolicy(src);
  const compileTimes: number[] = [];
  for (let i = 0; i < 50; i++) {
    const start = performance.now();
    compilePolicy(src);
    compileTimes.push(performance.now() - start);
  }
  compileTimes.sort((a, b) => a - b);
  out.push('### Compile', '');
  out.push('| policy | lines | median | max (50 runs) |', '| --- | ---: | ---: | ---: |');
  out.push(`| generated mix (partial sets, else chains, functions, every, comprehensions) | ${lineCount} | ${percentile(compileTimes, 0.5).toFixed(2)} ms | ${compileTimes[compileTimes.length - 1]!.toFixed(2)} ms |`, '');

  // Evaluation latency of the reference policies.
  out.push('### Evaluation of the reference policies (docs/policies/)', '');
  out.push('| policy | file | evaluations | p50 | p99 | result |', '| --- | --- | ---: | ---: | ---: | --- |');
  for (const s of scenarios()) {
    const policy = compilePolicy(readFileSync(join(root, 'docs', 'policies', s.file), 'utf8'));
    const n = s.regex ? Math.max(1000, Math.floor(evals / 20)) : evals;
    const r = timeEvals(policy, s, n);
    out.push(`| ${s.name} | ${s.file} | ${n} | ${fmtUs(r.p50)} µs | ${fmtUs(r.p99)} µs | \`${JSON.stringify(r.result)}\` |`);
  }
  out.push('');

  // Memory across 1,000,000 evaluations.
  const gc = gcFunction();
  const s = scenarios()[0]!;
  const policy = compilePolicy(readFileSync(join(root, 'docs', 'policies', s.file), 'utf8'));
  for (let i = 0; i < 10_000; i++) policy.evaluate(s.query, s.opts);
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const start = performance.now();
  for (let i = 0; i < memoryEvals; i++) policy.evaluate(s.query, s.opts);
  const elapsed = performance.now() - start;
  gc?.();
  const after = process.memoryUsage().heapUsed;
  const mb = (b: number): string => (b / 1024 / 1024).toFixed(2);
  out.push('### Memory', '');
  out.push(`${memoryEvals.toLocaleString('en-US')} evaluations of the ${s.name} policy in ${(elapsed / 1000).toFixed(1)} s (${fmtUs(elapsed / memoryEvals)} µs each on average). heapUsed ${gc ? 'after a full GC' : '(no GC available)'}: ${mb(before)} MB before, ${mb(after)} MB after (${after >= before ? '+' : ''}${mb(after - before)} MB).`, '');
  const md = `${out.join('\n')}\n`;
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(join(root, 'bench', 'results', 'rego.md'), md);
  return md;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  runRegoBench().then(
    (md) => process.stdout.write(md),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
