import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseClient, variantForVersion } from '../../functions/clickhouse/client.js';
import { migrate } from '../../functions/clickhouse/migrate.js';
import { createClickHouseTraceSink, TRACE_STEPS_TABLE } from '../../functions/traces/clickhouse-sink.js';
import { TraceRecorder, type TraceRecord } from '../../functions/traces/recorder.js';
import { TraceSpool } from '../../functions/traces/spool.js';
import { pollFor } from '../support/traces.js';
import { decodeRow, stepRows } from '../../functions/traces/rows.js';
import { TraceWriter } from '../../functions/traces/writer.js';
import { SUMMARY_COLUMNS } from '../../functions/traces/query.js';
import { startClickHouse, type RunningClickHouse } from '../support/clickhouse.js';

let ch: RunningClickHouse;
let client: ClickHouseClient;

beforeAll(async () => {
  ch = await startClickHouse();
  client = new ClickHouseClient({ url: ch.url });
});
afterAll(async () => {
  await ch?.close();
});

function sampleTrace(traceId = crypto.randomUUID(), startedAt = '2026-11-23T10:00:00.000Z') {
  let t = 1000;
  const rec = new TraceRecorder(traceId, 1000, () => (t += 5), startedAt);
  rec.record.sessionId = 'sess-1';
  rec.record.properties = { team: 'search', "quote'd": 'va"l' };
  rec.set({ proxyId: 'p1', orgId: 'o1', keyId: 'key_1', provider: 'openai', modelResolved: 'gpt-4o-mini', status: 200, sessionStrategy: 'fingerprint', sessionTurn: 2 });
  rec.step('request_received', { requestBody: '{"model":"gpt-4o-mini"}' });
  const llm = rec.step('llm', {}, 1006);
  rec.step('tool', { direction: 'call', name: 'lookup' }, undefined, llm.stepId);
  rec.finish({ usage: { promptTokens: 11, completionTokens: 7, totalTokens: 18 }, cost: { usd: 0.0000123, unknown: false, pricingVersion: 'v' }, ttftMs: 4.5 }, { responseBody: '{"ok":true}' });
  const steps = rec.takeUnpersisted();
  return { record: { ...rec.record, steps }, rows: stepRows({ ...rec.record, steps }) };
}

describe('ClickHouse schema and direct sink (real clickhouse-server)', () => {
  it('migrates with the variant the server version calls for, once', async () => {
    const first = await migrate(client);
    expect(first.serverVersion).toBe(ch.version);
    expect(first.variant).toBe(variantForVersion(ch.version));
    expect(first.applied).toEqual([1]);
    const again = await migrate(client);
    expect(again.applied).toEqual([]);
    expect(again.alreadyApplied).toEqual([1]);
    const columns = (await ch.query(`SELECT name, type FROM system.columns WHERE table = '${TRACE_STEPS_TABLE}' FORMAT TSV`)).trim().split('\n');
    expect(columns).toContain('step_id\tString');
    // The CLI's column list (everything but the bodies) matches the table.
    expect(columns.map((c) => c.split('\t')[0]).sort()).toEqual([...SUMMARY_COLUMNS, 'request_body', 'response_body', 'started_at'].sort());
    expect(columns.some((c) => c.startsWith('cost_usd\tNullable(Float64)'))).toBe(true);
    expect(await ch.query(`SELECT engine FROM system.tables WHERE name = '${TRACE_STEPS_TABLE}'`)).toMatch(/ReplacingMergeTree/);
  });

  it('stores each step once even when the same batch is inserted again (retry, redelivery)', async () => {
    const sink = createClickHouseTraceSink({ client });
    const batch = sampleTrace();
    await sink.write([batch]);
    await sink.write([batch]);
    const [counts] = await client.select<{ n: string; u: string }>(
      `SELECT count() AS n, uniqExact(step_id) AS u FROM ${TRACE_STEPS_TABLE} FINAL WHERE trace_id = '${batch.record.traceId}'`,
    );
    expect(Number(counts!.n)).toBe(4);
    expect(Number(counts!.u)).toBe(4);
    const rows = (await client.select(`SELECT * FROM ${TRACE_STEPS_TABLE} FINAL WHERE trace_id = '${batch.record.traceId}' ORDER BY offset_ms`)).map(decodeRow);
    expect(rows.map((r) => r.name)).toEqual(['request_received', 'llm', 'tool', 'request_finished']);
    const finished = rows.find((r) => r.name === 'request_finished')!;
    expect(finished).toMatchObject({ prompt_tokens: 11, completion_tokens: 7, cost_usd: 0.0000123, ttft_ms: 4.5, session_turn: 2, session_strategy: 'fingerprint', response_body: '{"ok":true}' });
    expect(finished.properties).toEqual({ team: 'search', "quote'd": 'va"l' });
    const tool = rows.find((r) => r.name === 'tool')!;
    expect(tool.parent_trace_id).toBe(rows.find((r) => r.name === 'llm')!.step_id);
    expect(rows.find((r) => r.name === 'request_received')!.parent_trace_id).toBe(batch.record.traceId);
    expect(new Date(finished.started_at_ms).toISOString().slice(0, 16)).toBe('2026-11-23T10:00');
  });

  it('a sink that cannot reach ClickHouse never throws to the caller: rows are counted and spooled, and replayed once it is back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-spool-'));
    try {
      const dead = new ClickHouseClient({ url: 'http://127.0.0.1:1/', timeoutMs: 500 });
      const warnings: unknown[] = [];
      const writer = new TraceWriter({
        sinks: [createClickHouseTraceSink({ client: dead, attempts: 2, backoffMs: 1, lingerMs: 1 })],
        logger: { warn: (...args: unknown[]) => warnings.push(args) },
        spool: new TraceSpool(dir),
        replayRetryMs: 60_000,
      });
      const batch = sampleTrace();
      await expect(writer.write(batch)).resolves.toBeUndefined();
      await writer.flush();
      expect(writer.stats).toMatchObject({ written: 0, undelivered: 4, spooled: 4, lost: 0 });
      expect(warnings).toHaveLength(1);
      const files = await readdir(join(dir, 'clickhouse'));
      const spooled = (await readFile(join(dir, 'clickhouse', files[0]!), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as TraceRecord);
      expect(spooled.map((r) => r.traceId)).toEqual([batch.record.traceId]);
      writer.close();

      // The next process (same spool, ClickHouse reachable) replays it without being asked.
      const next = new TraceWriter({ sinks: [createClickHouseTraceSink({ client, lingerMs: 1 })], logger: { warn() {} }, spool: new TraceSpool(dir) });
      await next.write(sampleTrace());
      await pollFor(async () => ((await readdir(join(dir, 'clickhouse'))).length === 0 ? true : undefined), { everyMs: 20 });
      await next.flush();
      expect(next.stats).toMatchObject({ replayed: 4, lost: 0 });
      const [counts] = await client.select<{ n: string }>(`SELECT count() AS n FROM ${TRACE_STEPS_TABLE} FINAL WHERE trace_id = '${batch.record.traceId}'`);
      expect(Number(counts!.n)).toBe(4);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the example queries in docs/traces.md run on this server and see the stored traces', async () => {
    const docs = await readFile(fileURLToPath(new URL('../../docs/traces.md', import.meta.url)), 'utf8');
    const section = docs.slice(docs.indexOf('### Example queries'), docs.indexOf('### Firehose → trace-ingest'));
    const queries = [...section.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(queries.length).toBe(4);
    const sink = createClickHouseTraceSink({ client });
    const now = new Date().toISOString();
    await sink.write([sampleTrace(crypto.randomUUID(), now)]);
    const [sessions, p95, spend] = await Promise.all(queries.slice(0, 3).map((q) => client.select(q)));
    expect(sessions).toContainEqual(expect.objectContaining({ proxy_id: 'p1' }));
    expect(p95).toContainEqual(expect.objectContaining({ model: 'gpt-4o-mini' }));
    expect(spend).toContainEqual(expect.objectContaining({ key_id: 'key_1', day: now.slice(0, 10) }));
    await client.select(queries[3]!);
  });
});
