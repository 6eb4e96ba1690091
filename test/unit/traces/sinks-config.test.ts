import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { variantForVersion } from '../../../functions/clickhouse/client.js';
import { MIGRATIONS } from '../../../functions/clickhouse/migrations/index.js';
import { createLogger } from '../../../functions/observability/logger.js';
import { pricingFromEnv, traceBodyBytesFromEnv, traceSinkFromEnv, traceSinkKinds } from '../../../functions/traces/sink-from-env.js';
import { TraceRecorder } from '../../../functions/traces/recorder.js';
import { stepRows } from '../../../functions/traces/rows.js';
import { createJsonlTraceSink, createStdoutTraceSink } from '../../../functions/traces/sink.js';

const logger = createLogger('test', 'SILENT');

function batch() {
  const rec = new TraceRecorder(crypto.randomUUID(), 0, () => 1, '2026-02-03T04:05:06.000Z');
  rec.step('request_received');
  rec.finish({ status: 200 });
  return { record: rec.record, rows: stepRows(rec.record) };
}

describe('sink selection from the environment', () => {
  it('defaults to JSONL under the data dir; names the missing setting for firehose and clickhouse; refuses unknown kinds', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-sinkenv-'));
    try {
      const writer = traceSinkFromEnv({ SLUICE_DATA_DIR: dir }, logger);
      const b = batch();
      await writer.write(b);
      await writer.flush();
      const line = JSON.parse((await readFile(join(dir, 'traces', '2026-02-03.jsonl'), 'utf8')).trim()) as { traceId: string };
      expect(line.traceId).toBe(b.record.traceId);
      expect(writer.stats.written).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(() => traceSinkFromEnv({ SLUICE_TRACE_SINK: 'firehose' }, logger)).toThrow(/SLUICE_TRACE_STREAM/);
    expect(() => traceSinkFromEnv({ SLUICE_TRACE_SINK: 'clickhouse' }, logger)).toThrow(/CLICKHOUSE_URL/);
    expect(() => traceSinkFromEnv({ SLUICE_TRACE_SINK: 'kafka' }, logger)).toThrow(/one or more of jsonl, stdout, firehose, clickhouse/);
    expect(() => traceSinkFromEnv({ SLUICE_TRACE_SINK: 'jsonl,kafka' }, logger)).toThrow(/got 'kafka'/);
    expect(traceSinkFromEnv({ SLUICE_TRACE_SINK: 'firehose', SLUICE_TRACE_STREAM: 's' }, logger)).toBeDefined();
  });

  it('the stdout sink writes one JSON row per line', async () => {
    let out = '';
    const b = batch();
    await createStdoutTraceSink({ write: (t: string) => (out += t) }).write([b]);
    expect(out.trim().split('\n').map((l) => (JSON.parse(l) as { step_id: string }).step_id)).toEqual(b.rows.map((r) => r.step_id));
  });

  it('body size and pricing overrides from the environment', () => {
    expect(traceBodyBytesFromEnv({})).toBe(32 * 1024);
    expect(traceBodyBytesFromEnv({ SLUICE_TRACE_BODY_BYTES: '0' })).toBe(0);
    expect(traceBodyBytesFromEnv({ SLUICE_TRACE_BODY_BYTES: '-3' })).toBe(32 * 1024);
    const usage = { promptTokens: 1e6, completionTokens: 0, totalTokens: 1e6 };
    expect(pricingFromEnv({ SLUICE_PRICING_OVERRIDES: '{"models":{"x":{"input":3,"output":1}}}' }).cost('vllm', 'x', usage).usd).toBe(3);
    expect(() => pricingFromEnv({ SLUICE_PRICING_OVERRIDES: '{"models":{"x":{"input":3}}}' })).toThrow(/output is required/);
  });

  it('several sinks, comma-separated, each once; Lambda waits 500 ms by default and has no spool', () => {
    expect(traceSinkKinds(undefined)).toEqual(['jsonl']);
    expect(traceSinkKinds(' jsonl , stdout,jsonl ')).toEqual(['jsonl', 'stdout']);
    const writer = traceSinkFromEnv({ SLUICE_TRACE_SINK: 'jsonl,stdout' }, logger);
    expect(Object.keys(writer.stats.sinks)).toEqual(['jsonl', 'stdout']);
  });

  it('nothing is lost when the data dir is unusable but the spool dir is not; everything is lost (and counted) when both are', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-sinkenv-'));
    try {
      const notADir = join(dir, 'file');
      await writeFile(notADir, 'x');
      const both = traceSinkFromEnv({ SLUICE_DATA_DIR: notADir }, logger);
      await expect(both.write(batch())).resolves.toBeUndefined();
      await both.flush();
      expect(both.stats).toMatchObject({ written: 0, undelivered: 2, spooled: 0, lost: 2 });
      both.close();
      const spooled = traceSinkFromEnv({ SLUICE_DATA_DIR: notADir, SLUICE_TRACE_SPOOL_DIR: join(dir, 'spool') }, logger);
      await spooled.write(batch());
      await spooled.flush();
      expect(spooled.stats).toMatchObject({ written: 0, undelivered: 2, spooled: 2, lost: 0 });
      spooled.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('migrations', () => {
  it('pick the layout by server version', () => {
    expect(variantForVersion('18.16.1')).toBe('legacy');
    expect(variantForVersion('21.8.15.7')).toBe('legacy');
    expect(variantForVersion('24.3.2.23')).toBe('modern');
  });

  it('are numbered uniquely in order, and the modern layout uses the current types', () => {
    const versions = MIGRATIONS.map((m) => m.version);
    expect(versions).toEqual([...new Set(versions)].sort((a, b) => a - b));
    const modern = MIGRATIONS[0]!.modern.join('\n');
    expect(modern).toMatch(/DateTime64\(3\)/);
    expect(modern).toMatch(/properties Map\(String, String\)/);
    expect(modern).toMatch(/LowCardinality\(String\)/);
    expect(modern).toMatch(/TTL toDateTime\(started_at\) \+ INTERVAL 180 DAY/);
    const legacy = MIGRATIONS[0]!.legacy.join('\n');
    expect(legacy).not.toMatch(/DateTime64|Map\(|LowCardinality|TTL/);
  });
});
