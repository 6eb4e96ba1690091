/**
 * Rego engine benchmark: compile time of a 200-line policy, evaluation latency (p50/p99) of
 * the reference gateway policies in docs/policies/, and heap use across 1,000,000
 * evaluations. `npx tsx bench/rego.ts` writes bench/results/rego.md; `runRegoBench()` (used
 * by bench/run.ts) writes the same file and returns the markdown section.
 *
 * Regex section: the secret-regex policy and two policies whose patterns need the automaton
 * (no literal shortcut decides them on this text), p50/p99 over ≥ 10,000 evaluations after
 * 1,000 warm-up, three rounds; each pattern alone through the regex.match builtin beside
 * native RegExp.test (same input, same run) and V8's experimental linear engine where it
 * accepts the pattern.
 *
 * Knobs (environment): REGO_BENCH_EVALS (100000 timed evaluations per policy),
 * REGO_BENCH_REGEX_EVALS (20000), REGO_BENCH_MEMORY_EVALS (1000000).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, type as osType, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { compileMatcher } from '../functions/rego/builtins/regex.js';
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

/**
 * 8 KB of prompt text as the gateway receives it (a flat string out of JSON.parse), with an AWS
 * key near the end. It holds '-', '@' and '.', so the literals the SSN and e-mail patterns
 * require are present and the automaton scans the whole text for them.
 */
export function promptOf8KB(): string {
  const line = 'Please summarise the following meeting notes - cc @ops. ';
  const text = `${line.repeat(Math.ceil(8192 / line.length))}`.slice(0, 8192 - 40) + ' key AKIAABCDEFGHIJKLMNOP end';
  return JSON.parse(JSON.stringify(text)) as string;
}

/** The literal-free patterns of the regex section, with the native JavaScript pattern of the same meaning. */
const EXTRA_PATTERNS = [
  { name: 'US SSN', re2: String.raw`\d{3}-\d{2}-\d{4}`, js: /[0-9]{3}-[0-9]{2}-[0-9]{4}/ },
  { name: 'e-mail address', re2: String.raw`[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}`, js: /[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}/ },
];

/** The secret-regex policy's patterns (docs/policies/secret-regex.rego) with their native equivalents. */
const SECRET_PATTERNS = [
  { name: 'aws access key', re2: 'AKIA[0-9A-Z]{16}', js: /AKIA[0-9A-Z]{16}/ },
  { name: 'private key', re2: '-----BEGIN [A-Z ]*PRIVATE KEY-----', js: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
  // Go's \s is [\t\n\f\r ]; (?i) on ASCII letters is Unicode simple folding: 'iu'.
  { name: 'bearer token', re2: String.raw`(?i)bearer\s+[a-z0-9._~+/-]{20,}`, js: /bearer[\t\n\f\r ]+[a-z0-9._~+/-]{20,}/iu },
];

function patternPolicy(pattern: string): string {
  return `package sluice.content\n\ndeny contains "matched" if {\n\tsome message in input.messages\n\tregex.match(${JSON.stringify(pattern)}, message.text)\n}\n`;
}

function scenarios(): Scenario[] {
  const message = promptOf8KB();
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

interface Timing {
  p50: number;
  p99: number;
}

/** p50/p99 of `n` timed calls after `warm` untimed ones. */
function timeCalls(fn: () => unknown, warm: number, n: number): Timing {
  for (let i = 0; i < warm; i++) fn();
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    fn();
    t[i] = performance.now() - start;
  }
  const sorted = Array.from(t).sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
}

function timeEvals(policy: CompiledPolicy, s: Scenario, n: number): Timing & { result: unknown } {
  const result = policy.evaluate(s.query, s.opts).result;
  return { ...timeCalls(() => policy.evaluate(s.query, s.opts), Math.min(20_000, n), n), result };
}

/** "a–b" over rounds (one value when they agree to the printed precision). */
function spread(values: number[]): string {
  const lo = fmtUs(Math.min(...values));
  const hi = fmtUs(Math.max(...values));
  return lo === hi ? `${lo} µs` : `${lo}–${hi} µs`;
}

/** V8's experimental linear-time engine, where this Node accepts the flag and the pattern. */
function linearEngine(js: RegExp): RegExp | string {
  try {
    setFlagsFromString('--enable-experimental-regexp-engine');
    return new RegExp(js.source, `${js.flags}l`);
  } catch (err) {
    return (err as Error).message.replace(/^Invalid regular expression: /, '');
  }
}

function regexSection(evals: number): string[] {
  const out: string[] = [];
  const rounds = 3;
  const warm = 1000;
  const message = promptOf8KB();
  const input = { messages: [{ role: 'system', text: 'You are helpful.' }, { role: 'user', text: message }] };
  out.push('### Regex policies on 8 KB of prompt text', '');
  out.push(`${rounds} rounds of ${evals.toLocaleString('en-US')} timed evaluations after ${warm.toLocaleString('en-US')} warm-up each; ranges are min–max over the rounds. The text (\`promptOf8KB()\`) holds \`-\`, \`@\` and \`.\` throughout, so the SSN and e-mail patterns are decided by the automaton scanning all of it, not by a missing literal.`, '');
  const policies = [
    { name: 'secret-regex.rego (3 patterns)', source: readFileSync(join(root, 'docs', 'policies', 'secret-regex.rego'), 'utf8') },
    ...EXTRA_PATTERNS.map((p) => ({ name: `${p.name} \`${p.re2}\``, source: patternPolicy(p.re2) })),
  ];
  out.push('| policy | p50 | p99 | result |', '| --- | ---: | ---: | --- |');
  for (const pol of policies) {
    const policy = compilePolicy(pol.source);
    const opts = { input };
    const result = policy.evaluate('data.sluice.content.deny', opts).result;
    const runs = Array.from({ length: rounds }, () => timeCalls(() => policy.evaluate('data.sluice.content.deny', opts), warm, evals));
    out.push(`| ${pol.name} | ${spread(runs.map((r) => r.p50))} | ${spread(runs.map((r) => r.p99))} | \`${JSON.stringify(result)}\` |`);
  }
  out.push('');
  out.push('Each pattern alone on the same text: Sluice\'s `regex.match` (the builtin: cache lookup, literal prefilter, lazy DFA) against native `RegExp.test` of the equivalent JavaScript pattern (backtracking, shown as the baseline only: it never runs on policy input) and V8\'s experimental linear engine (`--enable-experimental-regexp-engine`, flag `l`).', '');
  out.push('| pattern | regex.match p50 | regex.match p99 | native p50 | native p99 | V8 linear p50 | V8 linear p99 | match |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const p of [...SECRET_PATTERNS, ...EXTRA_PATTERNS]) {
    const ours = compileMatcher('regex.match', p.re2);
    const linear = linearEngine(p.js);
    const want = p.js.test(message);
    if (ours.test(message) !== want) throw new Error(`regex.match disagrees with RegExp on ${p.re2}`);
    const r = Array.from({ length: rounds }, () => ({
      ours: timeCalls(() => ours.test(message), warm, evals),
      native: timeCalls(() => p.js.test(message), warm, evals),
      linear: typeof linear === 'string' ? undefined : timeCalls(() => linear.test(message), warm, Math.min(evals, 2000)),
    }));
    const lin = r[0]!.linear === undefined ? [`refused: ${String(linear)}`, ''] : [spread(r.map((x) => x.linear!.p50)), spread(r.map((x) => x.linear!.p99))];
    out.push(`| ${p.name} \`${p.re2}\` | ${spread(r.map((x) => x.ours.p50))} | ${spread(r.map((x) => x.ours.p99))} | ${spread(r.map((x) => x.native.p50))} | ${spread(r.map((x) => x.native.p99))} | ${lin[0]} | ${lin[1]} | ${want} |`);
  }
  out.push('', 'V8\'s linear engine runs at most 2,000 timed calls per round (it is slow); it refuses case-insensitive patterns and counted repetitions it cannot unroll.', '');
  return out;
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
  const regexEvals = Math.max(10_000, int('REGO_BENCH_REGEX_EVALS', 20_000));
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
    const n = s.regex ? Math.max(10_000, Math.floor(evals / 5)) : evals;
    const r = timeEvals(policy, s, n);
    out.push(`| ${s.name} | ${s.file} | ${n} | ${fmtUs(r.p50)} µs | ${fmtUs(r.p99)} µs | \`${JSON.stringify(r.result)}\` |`);
  }
  out.push('');
  out.push(...regexSection(regexEvals));

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
