/**
 * `npx tsx bench/spend.ts`: what budgets and rate limits cost the request path.
 * Writes bench/results/spend.md. Loopback only.
 *
 * 1. Store operations, sequential: a budget reservation + settlement on DynamoDB
 *    (dynalite) for 1 and 3 scopes (key, proxy, org), and a rate-limit consume on
 *    Redis (redis-server) and DynamoDB (dynalite); p50/p99 per operation.
 * 2. Through the gateway (local runtime), sequential plain chat requests, variants
 *    interleaved in rounds: spend off; key budget on dynalite; key budget on dynalite
 *    + key RPM/TPM on Redis; the same on the embedded default (in-process). Client p50/p99
 *    and the difference to "off". Settlement runs after the client's last byte (the
 *    invocation awaits it), so the client sees the reservation and the limiter only.
 * 3. The 200-way race on one budget (dynalite) through the gateway: admitted, refused,
 *    billed vs. the ledger vs. the limit.
 *
 * dynalite is a JavaScript emulation of DynamoDB running in this same process: its
 * latency is not DynamoDB's (single-digit ms per UpdateItem within a Region). The point
 * is the number of round trips and the shape of the cost, not absolute figures.
 *
 * Knobs: BENCH_SPEND_OPS (500), BENCH_SPEND_REQUESTS (200 per variant per round),
 * BENCH_SPEND_ROUNDS (4), BENCH_OUT (bench/results/spend.md).
 */
import '../functions/local/awslambda.js';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createGatewayHandler } from '../functions/gateway/handler.js';
import { depsFromEnv } from '../functions/gateway/deps.js';
import { startLocalServer } from '../functions/local/server.js';
import { FileControlStore } from '../functions/stores/file-store.js';
import { generateGatewayKey } from '../functions/stores/keys.js';
import { PriceBook, costOf } from '../functions/pricing/price-book.js';
import { DynamoBudgetLedger } from '../functions/spend/dynamodb-ledger.js';
import { DynamoRateLimiter } from '../functions/spend/dynamodb-rate-limiter.js';
import { RedisRateLimiter } from '../functions/spend/redis-rate-limiter.js';
import { MemoryRateLimiter } from '../functions/spend/rate-limiter.js';
import { MemoryBudgetLedger } from '../functions/spend/memory-ledger.js';
import { FileSpendConfigStore } from '../functions/spend/file-config-store.js';
import { reserveAll, settleAll } from '../functions/spend/reserve-all.js';
import { toNano, type BudgetDefinition } from '../functions/spend/definitions.js';
import type { SpendServices } from '../functions/spend/services.js';
import { createSluiceTables, localDynamoClient, startDynalite } from '../test/support/dynalite.js';
import { startRedis } from '../test/support/redis.js';
import { startOpenAIUpstream } from '../test/support/openai-upstream.js';

const int = (name: string, fallback: number) => {
  const n = Number(process.env[name]);
  return Number.isInteger(n) && n > 0 ? n : fallback;
};
const OPS = int('BENCH_SPEND_OPS', 500);
const REQUESTS = int('BENCH_SPEND_REQUESTS', 200);
const ROUNDS = int('BENCH_SPEND_ROUNDS', 4);
const OUT = process.env.BENCH_OUT ?? 'bench/results/spend.md';

const quantile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
const stats = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return { n: sorted.length, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
};
const ms = (v: number) => v.toFixed(3);

async function timed(n: number, op: (i: number) => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await op(i);
    samples.push(performance.now() - t);
  }
  return samples;
}

function post(agent: Agent, url: URL, key: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(url, { method: 'POST', agent, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function main() {
  const [dynalite, redisServer, upstream] = await Promise.all([startDynalite(), startRedis(), startOpenAIUpstream({ record: false })]);
  const dynamo = localDynamoClient(dynalite.endpoint);
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
  const { stateTable } = await createSluiceTables(dynamo);
  const ledger = new DynamoBudgetLedger({ client: dynamo, tableName: stateTable });
  const dynamoLimiter = new DynamoRateLimiter({ client: dynamo, tableName: stateTable });
  const redisLimiter = new RedisRateLimiter(redis, { keyPrefix: 'bench:' });
  const budget = (scope: BudgetDefinition['scope'], id: string): BudgetDefinition => ({ scope, scopeId: id, limitUsd: 1e6, period: { kind: 'month' }, updatedAt: '' });
  const one = [budget('key', 'k')];
  const three = [budget('key', 'k3'), budget('proxy', 'p3'), budget('org', 'o3')];
  const reserveSettle = (budgets: BudgetDefinition[]) => async () => {
    const now = Date.now();
    const out = await reserveAll(ledger, budgets, toNano(0.01), now);
    if (!out.ok) throw new Error('refused');
    await settleAll(ledger, out.holds, toNano(0.004), now);
  };
  // Warm-up, then measure.
  await timed(50, reserveSettle(one));
  await timed(50, () => redisLimiter.consume('rate#key#w', { rpm: 1e9, tpm: 1e12 }, 100, Date.now()));
  const ops = [
    { name: 'budget reserve + settle, 1 scope (dynalite)', samples: await timed(OPS, reserveSettle(one)) },
    { name: 'budget reserve + settle, 3 scopes (dynalite)', samples: await timed(OPS, reserveSettle(three)) },
    { name: 'rate limit consume, RPM+TPM (redis-server)', samples: await timed(OPS, () => redisLimiter.consume('rate#key#b', { rpm: 1e9, tpm: 1e12 }, 100, Date.now())) },
    { name: 'rate limit consume, RPM+TPM (dynalite)', samples: await timed(OPS, () => dynamoLimiter.consume('rate#key#b', { rpm: 1e9, tpm: 1e12 }, 100, Date.now())) },
  ].map((o) => ({ name: o.name, ...stats(o.samples) }));

  // Through the gateway.
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-bench-spend-'));
  const store = new FileControlStore({ dataDir });
  await store.putProxy({ id: 'bench', orgId: 'org', name: 'bench', provider: 'openai-compatible', baseUrl: upstream.url, byok: false, allowPrivateNetwork: true, createdAt: new Date().toISOString() });
  const { key, id, hash } = generateGatewayKey();
  await store.putKey({ id, hash, proxyId: 'bench', orgId: 'org', createdAt: new Date().toISOString() });
  const config = new FileSpendConfigStore({ dataDir });
  await config.putBudget({ scope: 'key', scopeId: id, limitUsd: 1e6, period: { kind: 'day' }, updatedAt: '' });
  // An openai-compatible proxy has no shipped prices: the deployment sets the model's.
  const pricing = new PriceBook(undefined, { models: { 'gpt-4o-mini': { input: 0.15, output: 0.6 } } });
  const env = { SLUICE_DATA_DIR: dataDir, SLUICE_IDENTITY_SIGNING_KEY: 'bench', SLUICE_LOG_LEVEL: 'SILENT' };
  const limitsOff: SpendServices['config'] = { ...bind(config), getLimits: async () => [] };
  const variants: { name: string; spend: SpendServices | undefined }[] = [
    { name: 'off', spend: undefined },
    { name: 'budget (dynalite)', spend: { config: limitsOff, ledger, limiter: dynamoLimiter } },
    { name: 'budget (dynalite) + RPM/TPM (redis-server)', spend: { config, ledger, limiter: redisLimiter } },
    { name: 'budget + RPM/TPM, embedded default (in-process)', spend: { config, ledger: new MemoryBudgetLedger(), limiter: new MemoryRateLimiter() } },
  ];
  await config.putLimit({ scope: 'key', scopeId: id, rpm: 1e9, tpm: 1e12, updatedAt: '' });
  const servers = await Promise.all(
    variants.map(async (v) => {
      const server = await startLocalServer({ handler: createGatewayHandler({ ...depsFromEnv(env), store, spend: v.spend, pricing }) });
      return { ...v, server, url: new URL(`${server.url}/a/bench/openai/v1/chat/completions`), agent: new Agent({ keepAlive: true, maxSockets: 1 }), samples: [] as number[] };
    }),
  );
  const body = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 50, messages: [{ role: 'user', content: 'hello from the spend benchmark' }] });
  for (const s of servers) for (let i = 0; i < 50; i++) await post(s.agent, s.url, key, body);
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of servers) for (let i = 0; i < REQUESTS; i++) s.samples.push(await post(s.agent, s.url, key, body));
  }
  const gateway = servers.map((s) => ({ name: s.name, ...stats(s.samples) }));
  const off = gateway[0]!;

  // 3. The 200-way race on one budget (dynalite), the upstream reporting usage at max_tokens.
  const raceBody = { model: 'test-slow', max_tokens: 4, messages: [{ role: 'user', content: 'name every river that flows into the Black Sea' }] };
  const racePrice = { input: 0.15, output: 0.6 };
  const worst = (Buffer.byteLength(JSON.stringify(raceBody)) * racePrice.input + 4 * racePrice.output) / 1e6;
  const { key: raceKey, id: raceKeyId, hash: raceHash } = generateGatewayKey();
  await store.putKey({ id: raceKeyId, hash: raceHash, proxyId: 'bench', orgId: 'org', createdAt: new Date().toISOString() });
  const raceBudget: BudgetDefinition = { scope: 'key', scopeId: raceKeyId, limitUsd: 40 * worst, period: { kind: 'day' }, updatedAt: '' };
  await config.putBudget(raceBudget);
  const raceServer = await startLocalServer({
    handler: createGatewayHandler({ ...depsFromEnv(env), store, pricing: new PriceBook(undefined, { models: { 'test-slow': racePrice } }), spend: { config, ledger, limiter: dynamoLimiter } }),
  });
  const raceStarted = performance.now();
  const raceAnswers = await Promise.all(
    Array.from({ length: 200 }, async () => {
      const r = await fetch(`${raceServer.url}/a/bench/openai/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${raceKey}`, 'content-type': 'application/json' }, body: JSON.stringify(raceBody) });
      return { status: r.status, json: (await r.json()) as { usage?: { prompt_tokens: number; completion_tokens: number } } };
    }),
  );
  const raceMs = performance.now() - raceStarted;
  const admitted = raceAnswers.filter((a) => a.status === 200);
  const billedNano = admitted.reduce((sum, a) => sum + toNano(costOf(racePrice, { promptTokens: a.json.usage!.prompt_tokens, completionTokens: a.json.usage!.completion_tokens, totalTokens: 0 })), 0);
  let raceUsage = await ledger.usage(raceBudget, Date.now());
  for (let i = 0; i < 100 && raceUsage.reservedNano > 0; i++) {
    await new Promise((r) => setTimeout(r, 20));
    raceUsage = await ledger.usage(raceBudget, Date.now());
  }
  await raceServer.close();

  const lines = [
    '# Spend: added latency of budgets and rate limits',
    '',
    `Measured ${new Date().toISOString()} by \`npx tsx bench/spend.ts\` on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${loadavg().map((l) => l.toFixed(1)).join(' / ')}.`,
    '',
    '## Store operations (sequential, ms)',
    '',
    '| operation | n | p50 | p99 |',
    '|---|---:|---:|---:|',
    ...ops.map((o) => `| ${o.name} | ${o.n} | ${ms(o.p50)} | ${ms(o.p99)} |`),
    '',
    '## Through the gateway (plain chat, sequential, client-side ms)',
    '',
    '| variant | n | p50 | p99 | added p50 | added p99 |',
    '|---|---:|---:|---:|---:|---:|',
    ...gateway.map((g) => `| ${g.name} | ${g.n} | ${ms(g.p50)} | ${ms(g.p99)} | ${ms(g.p50 - off.p50)} | ${ms(g.p99 - off.p99)} |`),
    '',
    '## 200 concurrent requests on one budget (dynalite)',
    '',
    `Budget $${raceBudget.limitUsd.toFixed(6)} (40 worst cases of $${worst.toFixed(7)}); the upstream answers after 100 ms with usage at max_tokens (4).`,
    '',
    '| admitted | refused (429) | billed by the upstream | ledger spent | still reserved | over the limit | wall time |',
    '|---:|---:|---:|---:|---:|---|---:|',
    `| ${admitted.length} | ${raceAnswers.length - admitted.length} | $${(billedNano / 1e9).toFixed(7)} | $${(raceUsage.spentNano / 1e9).toFixed(7)} | $${(raceUsage.reservedNano / 1e9).toFixed(7)} | ${raceUsage.spentNano > toNano(raceBudget.limitUsd) ? 'YES' : 'no'} | ${Math.round(raceMs)} ms |`,
    '',
    'More than 40 get in because settlements (to the real, smaller cost) free room while later',
    'requests arrive; the spend stays under the limit because each admission reserved its worst case.',
    '',
    'Definitions are cached for 5 s per key, so the request path does one conditional UpdateItem per',
    'budget scope (plus one Lua script call on Redis, or one UpdateItem on DynamoDB, per rate-limited',
    'scope) before the upstream; settlement (one UpdateItem per scope) runs after the last byte.',
    'dynalite runs inside the benchmark process and is much slower than DynamoDB; on AWS expect',
    'roughly one DynamoDB round trip (a few ms) per scope.',
    '',
  ];
  writeFileSync(OUT, lines.join('\n'));
  process.stdout.write(lines.join('\n'));

  for (const s of servers) {
    s.agent.destroy();
    await s.server.close();
  }
  redis.disconnect();
  dynamo.destroy();
  await Promise.all([dynalite.close(), redisServer.stop(), upstream.close()]);
  await rm(dataDir, { recursive: true, force: true });
}

function bind(config: FileSpendConfigStore): SpendServices['config'] {
  return {
    getBudgets: (r) => config.getBudgets(r),
    listBudgets: () => config.listBudgets(),
    putBudget: (b) => config.putBudget(b),
    deleteBudget: (r) => config.deleteBudget(r),
    getLimits: (r) => config.getLimits(r),
    listLimits: () => config.listLimits(),
    putLimit: (l) => config.putLimit(l),
    deleteLimit: (r) => config.deleteLimit(r),
  };
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
