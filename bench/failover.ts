/**
 * `npx tsx bench/failover.ts`: the latency failover adds (issue #16). Writes
 * bench/results/failover.md. Loopback only, the local runtime hosting the real handler.
 *
 * Variants, sequential plain chat requests, interleaved in rounds (the spread of the
 * rounds is reported):
 * - healthy: a single-target proxy on the OpenAI-wire test upstream (the baseline);
 * - closed breaker: a proxy whose own upstream refuses connections (`retries 0`), one
 *   fallback to the healthy proxy, breakers that never open: every request pays the
 *   refused connect, then is served by the fallback;
 * - open breaker: the same proxy with default breakers, opened by the first failures:
 *   the primary is skipped;
 * - fallback configured: a healthy proxy with one fallback that never fires — its status
 *   line waits for the body's first chunk (functions/gateway/first-chunk.ts), the cost of
 *   being able to fail over until then. Also measured streamed (time to first token),
 *   against the healthy single-target proxy streamed.
 * Then the "done when" check: 1,000 requests with the primary down through a proxy with
 * one fallback (default breakers): how many answered 200.
 *
 * Knobs: BENCH_FAILOVER_REQUESTS (300 per variant per round), BENCH_FAILOVER_ROUNDS (3),
 * BENCH_OUT (bench/results/failover.md).
 */
import '../functions/local/awslambda.js';
import { writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { Agent } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGatewayHandler } from '../functions/gateway/handler.js';
import { depsFromEnv } from '../functions/gateway/deps.js';
import { startLocalServer } from '../functions/local/server.js';
import { CircuitBreakers, DEFAULT_BREAKER } from '../functions/routing/breaker.js';
import { FileControlStore } from '../functions/stores/file-store.js';
import { generateGatewayKey } from '../functions/stores/keys.js';
import type { ProxyConfig } from '../functions/stores/types.js';
import { refusedUrl } from '../test/support/faulty-upstream.js';
import { startOpenAIUpstream } from '../test/support/openai-upstream.js';
import { chatBody, chatRequest, type Target } from './lib/http-load.js';
import { percentile } from './lib/stats.js';

const int = (name: string, fallback: number) => {
  const n = Number(process.env[name]);
  return Number.isInteger(n) && n > 0 ? n : fallback;
};
const REQUESTS = int('BENCH_FAILOVER_REQUESTS', 300);
const ROUNDS = int('BENCH_FAILOVER_ROUNDS', 3);
const OUT = process.env.BENCH_OUT ?? 'bench/results/failover.md';

async function gateway(upstreamUrl: string, down: string, breakers: CircuitBreakers | undefined) {
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-bench-failover-'));
  const store = new FileControlStore({ dataDir });
  const env = { SLUICE_DATA_DIR: dataDir, SLUICE_IDENTITY_SIGNING_KEY: 'bench', SLUICE_LOG_LEVEL: 'SILENT' };
  const base = { orgId: 'bench', provider: 'openai-compatible' as const, byok: false, allowPrivateNetwork: true, createdAt: new Date().toISOString() };
  const proxies: ProxyConfig[] = [
    { ...base, id: 'healthy', name: 'healthy', baseUrl: upstreamUrl },
    { ...base, id: 'down', name: 'down', baseUrl: down, routing: { fallbacks: ['healthy'], retries: 0 } },
    { ...base, id: 'guarded', name: 'guarded', baseUrl: upstreamUrl, routing: { fallbacks: ['healthy'] } },
  ];
  const keys: Record<string, string> = {};
  for (const p of proxies) {
    await store.putProxy(p);
    const { key, id, hash } = generateGatewayKey();
    await store.putKey({ id, hash, proxyId: p.id, orgId: 'bench', createdAt: new Date().toISOString() });
    keys[p.id] = key;
  }
  const deps = { ...depsFromEnv(env), store, traceSink: { write: async () => undefined }, ...(breakers ? { breakers } : {}) };
  const server = await startLocalServer({ handler: createGatewayHandler(deps) });
  const target = (id: string): Target => ({ name: id, baseUrl: `${server.url}/v1`, headers: { authorization: `Bearer ${keys[id]}` } });
  return { server, target };
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const body = chatBody('bench-model', 'one two three four', false);
const streamedBody = chatBody('bench-model', 'one two three four', true);

/** `n` sequential requests: total ms (plain), or time to first token (streamed). */
async function samples(target: Target, n: number, stream = false): Promise<{ ms: number[]; ok: number }> {
  const ms: number[] = [];
  let ok = 0;
  for (let i = 0; i < n; i++) {
    const s = await chatRequest(agent, target, stream ? streamedBody : body, stream);
    if (s.status === 200) ok++;
    ms.push(stream ? (s.ttftMs ?? s.totalMs) : s.totalMs);
  }
  return { ms, ok };
}

const upstream = await startOpenAIUpstream({ record: false });
const down = await refusedUrl();
const neverOpen = new CircuitBreakers(() => Date.now(), { ...DEFAULT_BREAKER, consecutiveFailures: Number.POSITIVE_INFINITY, failureRate: 2 });
const closedGw = await gateway(upstream.url, down, neverOpen);
const openGw = await gateway(upstream.url, down, undefined);

// Warm-up (connections, JIT) and opening the default breakers.
await samples(openGw.target('healthy'), 50);
const warm = await samples(openGw.target('down'), 50);
await samples(closedGw.target('down'), 50);
await samples(openGw.target('guarded'), 50);
await samples(openGw.target('guarded'), 50, true);

const variants = {
  healthy: { target: openGw.target('healthy'), stream: false },
  'closed breaker': { target: closedGw.target('down'), stream: false },
  'open breaker': { target: openGw.target('down'), stream: false },
  'fallback configured, not firing': { target: openGw.target('guarded'), stream: false },
  'healthy, streamed (TTFT)': { target: openGw.target('healthy'), stream: true },
  'fallback configured, not firing, streamed (TTFT)': { target: openGw.target('guarded'), stream: true },
} as const;
type Name = keyof typeof variants;
const names = Object.keys(variants) as Name[];
const perRound = Object.fromEntries(names.map((n) => [n, []])) as unknown as Record<Name, Array<{ p50: number; p99: number }>>;
const all = Object.fromEntries(names.map((n) => [n, []])) as unknown as Record<Name, number[]>;
/** What each variant is compared with: the healthy single-target proxy, plain or streamed. */
const baseline = (name: Name): Name => (variants[name].stream ? 'healthy, streamed (TTFT)' : 'healthy');
let failures = 0;
for (let r = 0; r < ROUNDS; r++) {
  for (const name of names) {
    const { ms, ok } = await samples(variants[name].target, REQUESTS, variants[name].stream);
    failures += REQUESTS - ok;
    perRound[name].push({ p50: percentile(ms, 50), p99: percentile(ms, 99) });
    all[name].push(...ms);
  }
}

// Done when: 1,000 requests, primary down, one fallback, a fresh gateway (its breaker opens on the way).
const fresh = await gateway(upstream.url, down, undefined);
const thousand = await samples(fresh.target('down'), 1000);

const f = (n: number) => n.toFixed(3);
const spread = (xs: number[]) => `${f(Math.min(...xs))}–${f(Math.max(...xs))}`;
const healthyP50 = percentile(all.healthy, 50);
const lines = [
  '# Failover latency (issue #16)',
  '',
  `Run ${new Date().toISOString()}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load ${loadavg().map((l) => l.toFixed(2)).join(' ')}. `
    + `Local runtime, real handler, OpenAI-wire test upstream on loopback; the primary is a loopback port that refuses connections. `
    + `${ROUNDS} rounds × ${REQUESTS} sequential chat requests per variant, interleaved — plain (total time), or streamed where marked (time to first token); \`npx tsx bench/failover.ts\`.`,
  '',
  '| variant | p50 ms | p99 ms | p50 per round | added p50 vs healthy (same mode) |',
  '|---|---|---|---|---|',
  ...names.map((name) => `| ${name} | ${f(percentile(all[name], 50))} | ${f(percentile(all[name], 99))} | ${spread(perRound[name].map((x) => x.p50))} | ${baseline(name) === name ? '—' : f(percentile(all[name], 50) - percentile(all[baseline(name)], 50))} |`),
  '',
  `Non-200 answers during the variants: ${failures} of ${ROUNDS * REQUESTS * names.length}; warm-up through the failing proxy: ${warm.ok}/50 × 200.`,
  '',
  `**Done when**: 1,000 sequential requests with the primary down through a proxy with one fallback (fresh gateway, default breakers): ${thousand.ok} × 200 (goal ≥ 999). `
    + `Open-breaker added p50: ${f(percentile(all['open breaker'], 50) - healthyP50)} ms (goal: within 1 ms of the healthy single-target proxy).`,
  '',
];
writeFileSync(OUT, lines.join('\n'));
console.log(lines.join('\n'));
await Promise.all([closedGw.server.close(), openGw.server.close(), fresh.server.close(), upstream.close()]);
agent.destroy();
