/**
 * `npx tsx bench/traces.ts`: what tracing costs the request path, and how fast
 * trace-ingest stores rows. Writes bench/results/traces.md. Loopback only.
 *
 * 1. Added latency: the same gateway handler on the local runtime with its trace sink
 *    (a) off (a sink that drops rows), (b) Firehose (SDK → PutRecordBatch stand-in, which
 *    delivers to trace-ingest → clickhouse-server only after the run, as Firehose does from
 *    AWS's side), (c) ClickHouse direct, one insert per request (as in Lambda), and
 *    (d) batched across requests (the local runtime's default); the server runs on this
 *    same machine. Sequential plain chat
 *    requests, variants interleaved in rounds so machine-load drift hits all alike;
 *    client-side p50/p99 and the difference to "off".
 * 2. trace-ingest throughput: Firehose-format deliveries of 500 rows, 4 in flight, for
 *    a fixed count; steps/s until the last delivery is acknowledged, then a check that
 *    `count() FINAL` = `uniqExact(step_id)` = rows sent (no loss, no duplicates).
 *
 * Knobs: BENCH_TRACE_REQUESTS (per variant per round, 200), BENCH_TRACE_ROUNDS (5),
 * BENCH_INGEST_DELIVERIES (100), BENCH_OUT (bench/results/traces.md).
 */
import '../functions/local/awslambda.js';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClickHouseClient } from '../functions/clickhouse/client.js';
import { migrate } from '../functions/clickhouse/migrate.js';
import { createGatewayHandler } from '../functions/gateway/handler.js';
import { depsFromEnv } from '../functions/gateway/deps.js';
import { startLocalServer } from '../functions/local/server.js';
import { FileControlStore } from '../functions/stores/file-store.js';
import { generateGatewayKey } from '../functions/stores/keys.js';
import { createTraceIngestHandler } from '../functions/trace-ingest/handler.js';
import { serveFunctionUrl } from '../functions/trace-ingest/local-server.js';
import { createClickHouseTraceSink, TRACE_STEPS_TABLE } from '../functions/traces/clickhouse-sink.js';
import { createFirehoseTraceSink } from '../functions/traces/firehose-sink.js';
import type { TraceStepRow } from '../functions/traces/rows.js';
import type { TraceDestination } from '../functions/traces/sink.js';
import { TraceWriter } from '../functions/traces/writer.js';
import { startClickHouse } from '../test/support/clickhouse.js';
import { startFirehoseStandin } from '../test/support/firehose-standin.js';
import { startOpenAIUpstream } from '../test/support/openai-upstream.js';

const int = (name: string, fallback: number) => {
  const n = Number(process.env[name]);
  return Number.isInteger(n) && n > 0 ? n : fallback;
};
const REQUESTS = int('BENCH_TRACE_REQUESTS', 200);
const ROUNDS = int('BENCH_TRACE_ROUNDS', 5);
const DELIVERIES = int('BENCH_INGEST_DELIVERIES', 100);
const OUT = process.env.BENCH_OUT ?? 'bench/results/traces.md';
const ACCESS_KEY = 'bench-access-key-0123456789abcdef';
const silent = { info() {}, warn() {}, error() {} };

const quantile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

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
  const upstream = await startOpenAIUpstream({ record: false });
  const ch = await startClickHouse();
  const clickhouse = new ClickHouseClient({ url: ch.url });
  await migrate(clickhouse);
  const ingest = await serveFunctionUrl(createTraceIngestHandler({ accessKey: async () => ACCESS_KEY, clickhouse, logger: silent }));
  // Firehose delivers from AWS's side, not from the gateway's host: the stand-in holds the
  // records until drain(), so delivery work does not compete with the measured requests.
  const firehose = await startFirehoseStandin({ destinationUrl: ingest.url, accessKey: ACCESS_KEY, bufferMs: 3_600_000, bufferBytes: 1024 * 1024 * 1024 });
  const sdk = new FirehoseClient({ endpoint: firehose.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });

  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-bench-traces-'));
  const store = new FileControlStore({ dataDir });
  await store.putProxy({ id: 'bench', orgId: 'org', name: 'bench', provider: 'openai-compatible', baseUrl: upstream.url, byok: false, allowPrivateNetwork: true, createdAt: new Date().toISOString() });
  const { key, id, hash } = generateGatewayKey();
  await store.putKey({ id, hash, proxyId: 'bench', orgId: 'org', createdAt: new Date().toISOString() });
  const env = { SLUICE_DATA_DIR: dataDir, SLUICE_IDENTITY_SIGNING_KEY: 'bench', SLUICE_LOG_LEVEL: 'SILENT' };

  const dropAll: TraceDestination = { name: 'off', write: async () => {} };
  // "as in Lambda": the invocation waits for its own rows (up to 500 ms), sent in the same tick.
  const variants: { name: string; sink: TraceDestination; lambda?: boolean }[] = [
    { name: 'off', sink: dropAll },
    { name: 'firehose (as in Lambda)', sink: createFirehoseTraceSink({ client: () => sdk, streamName: 'sluice-traces' }), lambda: true },
    { name: 'clickhouse (insert per request, as in Lambda)', sink: createClickHouseTraceSink({ client: clickhouse }), lambda: true },
    { name: 'clickhouse (batched, local runtime default)', sink: createClickHouseTraceSink({ client: clickhouse }) },
  ];
  const servers = await Promise.all(
    variants.map(async (v) => {
      const writer = new TraceWriter({ sinks: [v.sink], logger: silent, ...(v.lambda ? { awaitDeliveryMs: 500 } : {}) });
      const server = await startLocalServer({ handler: createGatewayHandler({ ...depsFromEnv(env), store, traceSink: writer }) });
      return { ...v, writer, server, url: new URL(`${server.url}/a/bench/openai/v1/chat/completions`), agent: new Agent({ keepAlive: true, maxSockets: 1 }), samples: [] as number[], cpuMicros: 0 };
    }),
  );
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello from the trace benchmark' }] });
  for (const s of servers) for (let i = 0; i < 100; i++) await post(s.agent, s.url, key, body); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of servers) {
      // CPU of this process (gateway, client, upstream, and for Firehose the stand-in's
      // PutRecordBatch handling) per request: unlike wall time, not inflated by other load.
      const cpu = process.cpuUsage();
      for (let i = 0; i < REQUESTS; i++) s.samples.push(await post(s.agent, s.url, key, body));
      await s.writer.flush();
      const used = process.cpuUsage(cpu);
      s.cpuMicros += used.user + used.system;
    }
  }
  await firehose.drain();
  const latency = servers.map((s) => {
    const sorted = [...s.samples].sort((a, b) => a - b);
    return { name: s.name, n: sorted.length, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), cpuMs: s.cpuMicros / 1000 / sorted.length, undelivered: s.writer.stats.undelivered, written: s.writer.stats.written };
  });
  for (const s of servers) {
    s.agent.destroy();
    await s.server.close();
  }

  // 2. trace-ingest throughput into ClickHouse.
  const traceId = crypto.randomUUID();
  const sent = new Set<string>();
  const makeDelivery = () => {
    const records = Array.from({ length: 500 }, (_, i) => {
      const row: Partial<TraceStepRow> = { step_id: crypto.randomUUID(), trace_id: traceId, parent_trace_id: traceId, name: 'llm', started_at_ms: Date.now(), offset_ms: i, duration_ms: 1, org_id: 'o', proxy_id: 'ingest-bench', key_id: 'k', session_id: 's', session_strategy: 'new', session_turn: 1, session_path: '', session_refused_id: '', trace_parent_id: '', flow_id: '', properties: { team: 'bench' }, endpoint: 'chat', provider: 'openai', model_requested: 'gpt-4o-mini', model_resolved: 'gpt-4o-mini', status: 200, error: '', prompt_tokens: 12, completion_tokens: 30, cached_tokens: 0, reasoning_tokens: 0, cost_usd: 0.00002, cost_unknown: 0, pricing_version: 'bench', latency_ms: 10, ttft_ms: 5, request_body: '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello"}]}', response_body: '', attributes: '{}' };
      sent.add(row.step_id!);
      return { data: Buffer.from(`${JSON.stringify(row)}\n`).toString('base64') };
    });
    return JSON.stringify({ requestId: crypto.randomUUID(), timestamp: Date.now(), records });
  };
  const deliveries = Array.from({ length: DELIVERIES }, makeDelivery);
  const ingestAgent = new Agent({ keepAlive: true, maxSockets: 4 });
  let next = 0;
  let failed = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < deliveries.length) {
        const payload = deliveries[next++]!;
        const status = await new Promise<number>((resolve, reject) => {
          const req = request(new URL(ingest.url), { method: 'POST', agent: ingestAgent, headers: { 'content-type': 'application/json', 'x-amz-firehose-access-key': ACCESS_KEY } }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', reject);
          req.end(payload);
        });
        if (status !== 200) failed++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  ingestAgent.destroy();
  const [c] = await clickhouse.select<{ n: string; u: string }>(`SELECT count() AS n, uniqExact(step_id) AS u FROM ${TRACE_STEPS_TABLE} FINAL WHERE proxy_id = 'ingest-bench'`);
  const ingestResult = { rows: sent.size, seconds, stepsPerSecond: sent.size / seconds, stored: Number(c!.n), unique: Number(c!.u), failed };

  await firehose.close();
  await ingest.close();
  await ch.close();
  await upstream.close();
  await rm(dataDir, { recursive: true, force: true });

  const off = latency.find((l) => l.name === 'off')!;
  const fmt = (n: number) => n.toFixed(3);
  const report = `# Trace benchmark

Run: ${new Date().toISOString()} · ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'} · load average ${loadavg().map((l) => l.toFixed(1)).join(' / ')} · ClickHouse ${ch.version} · \`npx tsx bench/traces.ts\`

## Request-path latency with each trace sink

Sequential plain chat completions through the local runtime (the Lambda handler), ${ROUNDS} rounds × ${REQUESTS} requests per sink, interleaved; client-side, ms. "off" records traces but drops them at the sink. Firehose: PutRecordBatch to the local stand-in, whose deliveries (trace-ingest → ClickHouse) run after the measurement, as they would on AWS's side. ClickHouse direct: one INSERT per request (Lambda's pattern), or gathered across requests for up to 200 ms (the local runtime's default), into clickhouse-server on this same machine, so the server's work shares these 2 cores with the gateway.

| sink | requests | p50 | p99 | p50 vs off | p99 vs off | process CPU ms/request | CPU vs off | rows written | undeliverable |
|---|---|---|---|---|---|---|---|---|---|
${latency.map((l) => `| ${l.name} | ${l.n} | ${fmt(l.p50)} | ${fmt(l.p99)} | ${fmt(l.p50 - off.p50)} | ${fmt(l.p99 - off.p99)} | ${fmt(l.cpuMs)} | ${fmt(l.cpuMs - off.cpuMs)} | ${l.written} | ${l.undelivered} |`).join('\n')}

Target: p99 difference ≤ 0.3 ms.

## trace-ingest throughput into ClickHouse

${DELIVERIES} Firehose deliveries × 500 rows, 4 in flight, through trace-ingest on the local Function URL emulation into clickhouse-server.

| rows sent | seconds | steps/s | stored (count() FINAL) | uniqExact(step_id) | failed deliveries |
|---|---|---|---|---|---|
| ${ingestResult.rows} | ${ingestResult.seconds.toFixed(2)} | ${Math.round(ingestResult.stepsPerSecond)} | ${ingestResult.stored} | ${ingestResult.unique} | ${ingestResult.failed} |

Target: ≥ 500 steps/s without loss.
`;
  writeFileSync(OUT, report);
  process.stdout.write(report);
}

await main();
