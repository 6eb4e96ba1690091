/**
 * Trace batches whose rows are built on first read (gateway/plugins/trace.ts): the JSONL
 * sink writes the record line exactly as before and never asks for the rows; the writer
 * counts rows from `rowCount` without building them; sinks that read rows get them.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TraceRecord } from '../../../functions/traces/recorder.js';
import type { TraceStepRow } from '../../../functions/traces/rows.js';
import { createJsonlTraceSink, createStdoutTraceSink, UndeliveredRowsError, type TraceBatch } from '../../../functions/traces/sink.js';
import { TraceWriter } from '../../../functions/traces/writer.js';

const record: TraceRecord = {
  traceId: '11111111-2222-4333-8444-555555555555',
  startedAt: '2026-02-03T04:05:06.000Z',
  sessionId: '66666666-7777-4888-9999-000000000000',
  properties: { team: 'search' },
  attributes: { proxyId: 'p1', keyId: 'key_abc', keyFingerprint: '0123abcd' },
  steps: [
    { stepId: 's1', name: 'request_received', offsetMs: 0, attributes: {} },
    { stepId: 's2', name: 'request_finished', offsetMs: 12, durationMs: 12, attributes: { status: 200 } },
  ],
};

// The line as JSON.stringify writes the record above, key order as declared.
const EXPECTED_LINE =
  '{"traceId":"11111111-2222-4333-8444-555555555555","startedAt":"2026-02-03T04:05:06.000Z","sessionId":"66666666-7777-4888-9999-000000000000",' +
  '"properties":{"team":"search"},"attributes":{"proxyId":"p1","keyId":"key_abc","keyFingerprint":"0123abcd"},' +
  '"steps":[{"stepId":"s1","name":"request_received","offsetMs":0,"attributes":{}},' +
  '{"stepId":"s2","name":"request_finished","offsetMs":12,"durationMs":12,"attributes":{"status":200}}]}\n';

/** A lazy batch as the trace plugin builds it; counts how often its rows are built. */
function lazyBatch(rowsOf: () => TraceStepRow[]): { batch: TraceBatch; reads: () => number } {
  let built = 0;
  let rows: TraceStepRow[] | undefined;
  const batch: TraceBatch = {
    record,
    rowCount: record.steps.length,
    get rows() {
      if (!rows) {
        built++;
        rows = rowsOf();
      }
      return rows;
    },
  };
  return { batch, reads: () => built };
}

const fakeRows = () => record.steps.map((s) => ({ step_id: s.stepId, name: s.name, trace_id: record.traceId }) as TraceStepRow);
const silent = { warn() {} };

describe('lazy trace rows', () => {
  it('the JSONL sink writes the record line unchanged and never builds the rows', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-lazy-'));
    try {
      const { batch, reads } = lazyBatch(fakeRows);
      const writer = new TraceWriter({ sinks: [createJsonlTraceSink(dir)], logger: silent });
      await writer.write(batch);
      await writer.flush();
      expect(await readFile(join(dir, 'traces', '2026-02-03.jsonl'), 'utf8')).toBe(EXPECTED_LINE);
      expect(reads()).toBe(0);
      expect(writer.stats.written).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a sink that reads rows gets them, built once; the writer counts them', async () => {
    const { batch, reads } = lazyBatch(fakeRows);
    const out: string[] = [];
    const writer = new TraceWriter({ sinks: [createStdoutTraceSink({ write: (c: string) => out.push(c) })], logger: silent });
    await writer.write(batch);
    await writer.flush();
    expect(out.join('').trim().split('\n').map((l) => (JSON.parse(l) as { step_id: string }).step_id)).toEqual(['s1', 's2']);
    expect(reads()).toBe(1);
    expect(writer.stats.written).toBe(2);
  });

  it('a sink that gives up on some rows: written and undelivered add up to the batch', async () => {
    const { batch } = lazyBatch(fakeRows);
    const writer = new TraceWriter({
      sinks: [
        {
          name: 'partial',
          write: async (traces) => {
            throw new UndeliveredRowsError('one row failed', traces[0]!.rows.slice(1));
          },
        },
      ],
      logger: silent,
    });
    await writer.write(batch);
    await writer.flush();
    expect(writer.stats.written).toBe(1);
    expect(writer.stats.undelivered).toBe(1);
  });

  it('a batch without rowCount is counted from its rows', async () => {
    const writer = new TraceWriter({ sinks: [{ name: 'none', write: async () => {} }], logger: silent });
    await writer.write({ record, rows: fakeRows() });
    await writer.flush();
    expect(writer.stats.written).toBe(2);
  });
});
