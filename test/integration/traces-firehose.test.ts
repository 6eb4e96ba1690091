import { FirehoseClient } from '@aws-sdk/client-firehose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseClient } from '../../functions/clickhouse/client.js';
import { migrate } from '../../functions/clickhouse/migrate.js';
import { createTraceIngestHandler } from '../../functions/trace-ingest/handler.js';
import { serveFunctionUrl, type LocalIngestServer } from '../../functions/trace-ingest/local-server.js';
import { TRACE_STEPS_TABLE } from '../../functions/traces/clickhouse-sink.js';
import { createFirehoseTraceSink } from '../../functions/traces/firehose-sink.js';
import type { TraceStepRow } from '../../functions/traces/rows.js';
import { UndeliveredRowsError } from '../../functions/traces/sink.js';
import { startClickHouse, type RunningClickHouse } from '../support/clickhouse.js';
import { startFirehoseStandin, type FirehoseStandin } from '../support/firehose-standin.js';

const ACCESS_KEY = 'test-firehose-access-key-0123456789';
const silent = { info() {}, warn() {}, error() {} };

let ch: RunningClickHouse;
let clickhouse: ClickHouseClient;
let ingest: LocalIngestServer;
const standins: FirehoseStandin[] = [];

beforeAll(async () => {
  ch = await startClickHouse();
  clickhouse = new ClickHouseClient({ url: ch.url });
  await migrate(clickhouse);
  ingest = await serveFunctionUrl(createTraceIngestHandler({ accessKey: async () => ACCESS_KEY, clickhouse, logger: silent }));
});
afterAll(async () => {
  for (const s of standins) await s.close();
  await ingest?.close();
  await ch?.close();
});

async function standin(opts: Partial<Parameters<typeof startFirehoseStandin>[0]> = {}) {
  const s = await startFirehoseStandin({ destinationUrl: ingest.url, accessKey: ACCESS_KEY, ...opts });
  standins.push(s);
  const client = new FirehoseClient({ endpoint: s.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  return { s, client };
}

function rows(n: number, traceId = crypto.randomUUID(), bodyBytes = 0): TraceStepRow[] {
  return Array.from({ length: n }, (_, i) => ({
    step_id: crypto.randomUUID(), trace_id: traceId, parent_trace_id: traceId, name: 'llm', started_at_ms: Date.now(), offset_ms: i, duration_ms: 1,
    org_id: 'o', proxy_id: 'p', key_id: 'k', session_id: 's', session_strategy: 'new', session_turn: 1, session_path: '', session_refused_id: '',
    trace_parent_id: '', flow_id: '', properties: { i: String(i) }, endpoint: 'chat', provider: 'openai', model_requested: 'm', model_resolved: 'm',
    status: 200, error: '', prompt_tokens: i, completion_tokens: 1, cached_tokens: 0, reasoning_tokens: 0, cost_usd: null, cost_unknown: 1,
    pricing_version: 'v', latency_ms: 1, ttft_ms: null, request_body: 'x'.repeat(bodyBytes), response_body: '', attributes: '{}',
  }));
}

async function countsFor(traceId: string) {
  const [c] = await clickhouse.select<{ n: string; u: string }>(`SELECT count() AS n, uniqExact(step_id) AS u FROM ${TRACE_STEPS_TABLE} FINAL WHERE trace_id = '${traceId}'`);
  return { n: Number(c!.n), u: Number(c!.u) };
}

const noSleep = async () => {};

describe('Firehose sink → stand-in → trace-ingest → ClickHouse', () => {
  it('retries only the records Firehose reports as failed, and every row lands exactly once', async () => {
    const { s, client } = await standin({ failRecord: (i, call) => call === 0 && i % 3 === 0, redeliver: true });
    const sink = createFirehoseTraceSink({ client: () => client, streamName: 'sluice-traces', sleep: noSleep });
    const traceId = crypto.randomUUID();
    const batch = rows(30, traceId);
    await sink.write([{ record: { traceId } as never, rows: batch }]);
    await s.drain();
    expect(s.stats.calls).toBe(2);
    expect(s.stats.recordsFailed).toBe(10);
    // First call: 30 records; the retry carries only the 10 that failed.
    expect(s.stats.recordsReceived).toBe(40);
    expect(s.backup).toEqual([]);
    expect(await countsFor(traceId)).toEqual({ n: 30, u: 30 });
  });

  it('splits into PutRecordBatch calls of at most 500 records and 4 MiB', async () => {
    const { s, client } = await standin();
    const sink = createFirehoseTraceSink({ client: () => client, streamName: 'sluice-traces' });
    const traceId = crypto.randomUUID();
    await sink.write([{ record: { traceId } as never, rows: rows(1100, traceId) }]);
    expect(s.stats.calls).toBe(3);
    const bigTrace = crypto.randomUUID();
    // 60 rows of ~100 KiB: 6 MB of data needs two calls under the 4 MiB limit.
    await sink.write([{ record: { traceId: bigTrace } as never, rows: rows(60, bigTrace, 100 * 1024) }]);
    expect(s.stats.calls).toBe(5);
    await s.drain();
    expect(await countsFor(traceId)).toEqual({ n: 1100, u: 1100 });
    expect(await countsFor(bigTrace)).toEqual({ n: 60, u: 60 });
  });

  it('gives up after its attempts and reports exactly the undelivered rows', async () => {
    const { s, client } = await standin({ failRecord: (i, call) => (call === 0 ? i === 1 : true) });
    const sink = createFirehoseTraceSink({ client: () => client, streamName: 'sluice-traces', attempts: 3, sleep: noSleep });
    const batch = rows(3);
    const err = await sink.write([{ record: { traceId: batch[0]!.trace_id } as never, rows: batch }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UndeliveredRowsError);
    expect((err as UndeliveredRowsError).rows.map((r) => r.step_id)).toEqual([batch[1]!.step_id]);
    expect(s.stats.calls).toBe(3);
    expect(s.stats.recordsReceived).toBe(5);
  });
});

describe('trace-ingest', () => {
  const delivery = (records: TraceStepRow[], requestId = crypto.randomUUID()) =>
    JSON.stringify({ requestId, timestamp: Date.now(), records: records.map((r) => ({ data: Buffer.from(`${JSON.stringify(r)}\n`).toString('base64') })) });
  const post = (body: string, key = ACCESS_KEY, requestId = crypto.randomUUID()) =>
    fetch(ingest.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-amz-firehose-access-key': key, 'x-amz-firehose-request-id': requestId }, body });

  it('answers {requestId, timestamp} with 200 once stored, and a redelivery does not double a row', async () => {
    const batch = rows(5);
    const requestId = crypto.randomUUID();
    const res = await post(delivery(batch, requestId), ACCESS_KEY, requestId);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { requestId: string; timestamp: number };
    expect(body.requestId).toBe(requestId);
    expect(Math.abs(body.timestamp - Date.now())).toBeLessThan(5_000);
    expect((await post(delivery(batch, requestId), ACCESS_KEY, requestId)).status).toBe(200);
    expect(await countsFor(batch[0]!.trace_id)).toEqual({ n: 5, u: 5 });
  });

  it('refuses a wrong or missing access key with 401 and stores nothing', async () => {
    const batch = rows(2);
    for (const key of ['wrong', '', `${ACCESS_KEY}x`, ACCESS_KEY.slice(0, -1)]) {
      const res = await post(delivery(batch), key);
      expect(res.status).toBe(401);
      const body = (await res.json()) as { requestId: string; errorMessage: string };
      expect(body.errorMessage).toMatch(/access key/);
      expect(body.requestId).toBeTruthy();
    }
    expect(await countsFor(batch[0]!.trace_id)).toEqual({ n: 0, u: 0 });
  });

  it('rejects malformed deliveries with 400 (Firehose retries, then backs up to S3)', async () => {
    expect((await post('not json')).status).toBe(400);
    expect((await post(JSON.stringify({ records: [] }))).status).toBe(400);
    const bad = JSON.stringify({ requestId: 'r', timestamp: 1, records: [{ data: Buffer.from('{"x":1}').toString('base64') }] });
    expect((await post(bad)).status).toBe(400);
  });

  it('answers 500 when ClickHouse cannot store the rows; the stand-in retries and backs the records up', async () => {
    const down = await serveFunctionUrl(
      createTraceIngestHandler({ accessKey: async () => ACCESS_KEY, clickhouse: new ClickHouseClient({ url: 'http://127.0.0.1:1/', timeoutMs: 300 }), logger: silent }),
    );
    try {
      const s = await startFirehoseStandin({ destinationUrl: down.url, accessKey: ACCESS_KEY, deliveryAttempts: 3, retryBackoffMs: 1 });
      const client = new FirehoseClient({ endpoint: s.url, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' }, maxAttempts: 1 });
      await createFirehoseTraceSink({ client: () => client, streamName: 'sluice-traces' }).write([{ record: {} as never, rows: rows(4) }]);
      await s.drain();
      expect(s.deliveryStatuses).toEqual([500, 500, 500]);
      expect(s.backup).toHaveLength(4);
      await s.close();
    } finally {
      await down.close();
    }
  });
});
