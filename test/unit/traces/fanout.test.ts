/**
 * The trace fan-out (functions/traces/writer.ts, sink-queue.ts, spool.ts): each
 * destination has its own byte-bounded queue; what a queue cannot take is spilled to the
 * spool and replayed when the destination works again; in Lambda the wait per trace is
 * bounded and what is not stored by then is counted as trace_rows_lost.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TraceRecord } from '../../../functions/traces/recorder.js';
import { stepRows } from '../../../functions/traces/rows.js';
import { createJsonlTraceSink, UndeliveredRowsError, type TraceBatch, type TraceDestination } from '../../../functions/traces/sink.js';
import { TraceSpool } from '../../../functions/traces/spool.js';
import { TraceWriter } from '../../../functions/traces/writer.js';

let n = 0;
function trace(bodyBytes = 10): TraceBatch {
  const id = `00000000-0000-4000-8000-${String(n++).padStart(12, '0')}`;
  const record: TraceRecord = {
    traceId: id,
    startedAt: '2026-12-07T06:00:00.000Z',
    sessionId: 's',
    properties: {},
    attributes: { status: 200 },
    steps: [
      { stepId: `${id}-a`, name: 'request_received', offsetMs: 0, attributes: { requestBody: 'x'.repeat(bodyBytes) } },
      { stepId: `${id}-b`, name: 'request_finished', offsetMs: 1, attributes: {} },
    ],
  };
  return { record, rows: stepRows(record) };
}

/** A destination under the test's control: records calls; `mode` decides what a call does. */
function controlled(name: string, hints: TraceDestination['queue'] = {}) {
  const calls: string[][] = [];
  let mode: 'ok' | 'fail' | 'hang' = 'ok';
  const hung: (() => void)[] = [];
  let inFlight = 0;
  let peak = 0;
  const dest: TraceDestination = {
    name,
    queue: hints,
    async write(traces) {
      calls.push(traces.map((t) => t.record.traceId));
      inFlight++;
      peak = Math.max(peak, inFlight);
      try {
        if (mode === 'fail') throw new Error(`${name} is down`);
        if (mode === 'hang') await new Promise<void>((r) => hung.push(r));
        else await new Promise((r) => setTimeout(r, 1));
      } finally {
        inFlight--;
      }
    },
  };
  return {
    dest,
    calls,
    set: (m: typeof mode) => (mode = m),
    release: () => hung.splice(0).forEach((r) => r()),
    peak: () => peak,
    stored: () => calls.flat(),
  };
}

const dirs: string[] = [];
const tempDir = async () => {
  const d = await mkdtemp(join(tmpdir(), 'sluice-fanout-'));
  dirs.push(d);
  return d;
};
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
const warnings: { message: unknown; fields: Record<string, unknown> }[] = [];
const logger = { warn: (message: unknown, ...rest: unknown[]) => void warnings.push({ message, fields: (rest[0] ?? {}) as Record<string, unknown> }) };

describe('trace fan-out', () => {
  it('every destination gets every trace; a hung one delays neither the caller nor the other destination', async () => {
    const fast = controlled('fast');
    const slow = controlled('slow');
    slow.set('hang');
    const writer = new TraceWriter({ sinks: [fast.dest, slow.dest], logger });
    const traces = Array.from({ length: 5 }, () => trace());
    for (const t of traces) await writer.write(t); // resolves at once: nothing is held for persistence
    await new Promise((r) => setTimeout(r, 20));
    expect(fast.stored()).toEqual(traces.map((t) => t.record.traceId));
    expect(writer.stats.sinks.fast!.written).toBe(10);
    expect(writer.stats.sinks.slow!.written).toBe(0);
    slow.release();
    expect(await writer.flush()).toBe(true);
    expect(slow.stored().sort()).toEqual(traces.map((t) => t.record.traceId).sort());
    expect(writer.stats).toMatchObject({ written: 20, lost: 0, spooled: 0, queued: 0, inFlight: 0 });
  });

  it('batches the traces that arrive while a call is in flight into the next call, at most `concurrency` calls at once', async () => {
    const d = controlled('d', { concurrency: 2, maxBatchTraces: 50 });
    d.set('hang');
    const writer = new TraceWriter({ sinks: [d.dest], logger });
    for (let i = 0; i < 3; i++) await writer.write(trace());
    await new Promise((r) => setImmediate(r));
    for (let i = 0; i < 120; i++) await writer.write(trace());
    await new Promise((r) => setImmediate(r));
    expect(d.peak()).toBe(2);
    d.set('ok');
    while (d.calls.flat().length < 123) {
      d.release();
      await new Promise((r) => setTimeout(r, 2));
    }
    await writer.flush();
    // 123 traces in a handful of calls, none bigger than maxBatchTraces.
    expect(d.calls.length).toBeLessThanOrEqual(6);
    expect(Math.max(...d.calls.map((c) => c.length))).toBeLessThanOrEqual(50);
    expect(writer.stats.written).toBe(246);
  });

  it('a full queue (bounded in bytes) spills to the spool instead of waiting; nothing is lost and the spool is replayed once the destination keeps up', async () => {
    const spoolDir = await tempDir();
    const d = controlled('d', { concurrency: 1 });
    d.set('hang');
    const writer = new TraceWriter({ sinks: [d.dest], logger, maxQueueBytes: 4_000, spool: new TraceSpool(spoolDir), replayRetryMs: 5 });
    const traces = Array.from({ length: 40 }, () => trace(500));
    for (const t of traces) await writer.write(t);
    expect(writer.stats.queuedBytes).toBeLessThanOrEqual(4_000 + 1_000);
    await new Promise((r) => setTimeout(r, 30));
    expect(writer.stats.spooled).toBeGreaterThan(0);
    expect((await readdir(join(spoolDir, 'd'))).length).toBeGreaterThan(0);
    d.set('ok');
    d.release();
    for (let i = 0; i < 200 && new Set(d.stored()).size < 40; i++) await new Promise((r) => setTimeout(r, 10));
    await writer.flush();
    expect(new Set(d.stored())).toEqual(new Set(traces.map((t) => t.record.traceId)));
    expect(writer.stats.lost).toBe(0);
    expect(writer.stats.replayed).toBe(writer.stats.spooled);
    expect(await readdir(join(spoolDir, 'd'))).toEqual([]);
    writer.close();
  });

  it('a failing destination: its traces are spooled, and replayed by themselves when it recovers', async () => {
    const spoolDir = await tempDir();
    const d = controlled('d');
    d.set('fail');
    const writer = new TraceWriter({ sinks: [d.dest], logger, spool: new TraceSpool(spoolDir), replayRetryMs: 5 });
    const traces = Array.from({ length: 10 }, () => trace());
    for (const t of traces) await writer.write(t);
    await writer.flush();
    expect(writer.stats).toMatchObject({ undelivered: 20, spooled: 20, lost: 0 });
    d.set('ok');
    for (let i = 0; i < 200 && writer.stats.replayed < 20; i++) await new Promise((r) => setTimeout(r, 10));
    expect(writer.stats.replayed).toBe(20);
    expect(new Set(d.stored())).toEqual(new Set(traces.map((t) => t.record.traceId)));
    writer.close();
  });

  it('a destination that gives up on some rows: only the traces those rows belong to are spooled', async () => {
    const spoolDir = await tempDir();
    const a = trace();
    const b = trace();
    const partial: TraceDestination = {
      name: 'partial',
      queue: { lingerMs: 5 },
      write: async (traces) => {
        const bad = traces.find((t) => t.record.traceId === b.record.traceId);
        if (bad) throw new UndeliveredRowsError('one failed', bad.rows.slice(0, 1));
      },
    };
    const writer = new TraceWriter({ sinks: [partial], logger, spool: new TraceSpool(spoolDir), replayRetryMs: 60_000 });
    await writer.write(a);
    await writer.write(b);
    await writer.flush();
    expect(writer.stats).toMatchObject({ written: 3, undelivered: 1, spooled: 2, lost: 0 });
    const [file] = await readdir(join(spoolDir, 'partial'));
    const lines = (await readFile(join(spoolDir, 'partial', file!), 'utf8')).trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as TraceRecord).traceId)).toEqual([b.record.traceId]);
    writer.close();
  });

  it('a broken traces directory loses nothing: JSONL traces wait in the spool and land in the file once it is fixed', async () => {
    const dataDir = await tempDir();
    await writeFile(join(dataDir, 'traces'), 'not a directory');
    const writer = new TraceWriter({ sinks: [createJsonlTraceSink(dataDir)], logger, spool: new TraceSpool(join(dataDir, 'trace-spool')), replayRetryMs: 5 });
    const traces = Array.from({ length: 100 }, () => trace());
    for (const t of traces) await writer.write(t);
    await writer.flush();
    expect(writer.stats).toMatchObject({ written: 0, spooled: 200, lost: 0 });
    await rm(join(dataDir, 'traces'));
    for (let i = 0; i < 300 && writer.stats.replayed < 200; i++) await new Promise((r) => setTimeout(r, 10));
    const lines = (await readFile(join(dataDir, 'traces', '2026-12-07.jsonl'), 'utf8')).trim().split('\n');
    expect(new Set(lines.map((l) => (JSON.parse(l) as TraceRecord).traceId))).toEqual(new Set(traces.map((t) => t.record.traceId)));
    expect(writer.stats).toMatchObject({ replayed: 200, lost: 0 });
    writer.close();
  });

  it('a full spool: rows are lost, counted and logged as trace_rows_lost', async () => {
    const spoolDir = await tempDir();
    const d = controlled('d');
    d.set('fail');
    warnings.length = 0;
    const writer = new TraceWriter({ sinks: [d.dest], logger, spool: new TraceSpool(spoolDir, { maxBytes: 10 }), replayRetryMs: 60_000 });
    await writer.write(trace());
    await writer.flush();
    expect(writer.stats).toMatchObject({ spooled: 0, lost: 2 });
    expect(warnings).toContainEqual(expect.objectContaining({ message: 'trace_rows_lost', fields: expect.objectContaining({ trace_rows_lost: 2, sink: 'd' }) }));
    writer.close();
  });

  it('a hung destination call counts as failed after writeTimeoutMs', async () => {
    const d = controlled('d');
    d.set('hang');
    const writer = new TraceWriter({ sinks: [d.dest], logger, writeTimeoutMs: 20, awaitDeliveryMs: 10_000 });
    await writer.write(trace());
    expect(writer.stats).toMatchObject({ written: 0, undelivered: 2, lost: 2, inFlight: 0 });
    d.release();
  });
});

describe('trace fan-out in Lambda (awaitDeliveryMs)', () => {
  it('write resolves once every destination stored the trace', async () => {
    const a = controlled('a');
    const b = controlled('b');
    const writer = new TraceWriter({ sinks: [a.dest, b.dest], logger, awaitDeliveryMs: 10_000 });
    const t = trace();
    await writer.write(t);
    expect(a.stored()).toEqual([t.record.traceId]);
    expect(b.stored()).toEqual([t.record.traceId]);
    expect(writer.stats.written).toBe(4);
  });

  it('after the wait, rows still unsent are counted and logged as trace_rows_lost (no spool in Lambda)', async () => {
    const d = controlled('d');
    d.set('hang');
    warnings.length = 0;
    const writer = new TraceWriter({ sinks: [d.dest], logger, awaitDeliveryMs: 20 });
    await writer.write(trace());
    expect(writer.stats.lost).toBe(2);
    expect(warnings).toContainEqual(expect.objectContaining({ message: 'trace_rows_lost', fields: expect.objectContaining({ trace_rows_lost: 2 }) }));
    d.set('fail');
    d.release();
    await writer.flush();
    expect(writer.stats.lost).toBe(2); // not counted twice
  });

  it('a failed destination: its rows are lost at once, counted', async () => {
    const d = controlled('d');
    d.set('fail');
    const writer = new TraceWriter({ sinks: [d.dest], logger, awaitDeliveryMs: 10_000 });
    await writer.write(trace());
    expect(writer.stats).toMatchObject({ undelivered: 2, lost: 2, spooled: 0 });
  });
});
