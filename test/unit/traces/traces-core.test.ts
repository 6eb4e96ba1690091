import { describe, expect, it } from 'vitest';
import { sameSecret, rowsFromDelivery, secretValue } from '../../../functions/trace-ingest/handler.js';
import { ResponseCapture, toolResultsIn, truncateBody } from '../../../functions/traces/body-capture.js';
import { FIREHOSE_MAX_BATCH_BYTES, planBatches } from '../../../functions/traces/firehose-sink.js';
import { TraceRecorder } from '../../../functions/traces/recorder.js';
import { encodeRow, stepRows } from '../../../functions/traces/rows.js';
import { UndeliveredRowsError, type TraceBatch } from '../../../functions/traces/sink.js';

const sse = (data: unknown) => {
  const text = JSON.stringify(data);
  return { data: text, raw: `data: ${text}\n\n` };
};

describe('truncateBody', () => {
  it('keeps short bodies whole and cuts long ones on a UTF-8 boundary with a marker', () => {
    expect(truncateBody('hello', 10)).toBe('hello');
    const cut = truncateBody('ééééé', 5); // 10 bytes; byte 5 is inside the third é
    expect(cut).toBe('éé…[truncated 6 bytes]');
  });
});

describe('ResponseCapture', () => {
  it('assembles streamed chat tool-call deltas per index', () => {
    const c = new ResponseCapture(1024);
    c.onEvent(sse({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_a', function: { name: 'f', arguments: '{"a"' } }] } }] }));
    c.onEvent(sse({ choices: [{ index: 0, delta: { tool_calls: [{ index: 1, id: 'call_b', function: { name: 'g', arguments: '' } }] } }] }));
    c.onEvent(sse({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: ':1}' } }] } }] }));
    expect(c.toolCalls()).toEqual([
      { direction: 'call', toolCallId: 'call_a', name: 'f', content: '{"a":1}' },
      { direction: 'call', toolCallId: 'call_b', name: 'g', content: '' },
    ]);
  });

  it('reads tool calls from plain chat and Responses bodies, and Responses stream items', () => {
    const chat = new ResponseCapture(0);
    chat.onChunk(Buffer.from(JSON.stringify({ choices: [{ message: { tool_calls: [{ id: 'c1', function: { name: 'f', arguments: '{}' } }] } }] })));
    expect(chat.toolCalls()).toEqual([{ direction: 'call', toolCallId: 'c1', name: 'f', content: '{}' }]);
    expect(chat.body()).toBeUndefined();
    const resp = new ResponseCapture(10);
    resp.onEvent(sse({ type: 'response.output_item.done', item: { type: 'function_call', call_id: 'fc1', name: 'h', arguments: '{"x":2}' } }));
    expect(resp.toolCalls()).toEqual([{ direction: 'call', toolCallId: 'fc1', name: 'h', content: '{"x":2}' }]);
    expect(resp.body()).toMatch(/^data: \{"ty…\[truncated \d+ bytes\]$/);
  });

  it('finds only the trailing tool results of a request', () => {
    expect(
      toolResultsIn({
        messages: [
          { role: 'user', content: 'q' },
          { role: 'assistant', tool_calls: [] },
          { role: 'tool', tool_call_id: 'old', content: 'stale' },
          { role: 'assistant', content: 'a' },
          { role: 'tool', tool_call_id: 't1', content: 'r1' },
          { role: 'tool', tool_call_id: 't2', content: [{ type: 'text', text: 'r2' }] },
        ],
      }),
    ).toEqual([
      { direction: 'result', toolCallId: 't1', content: 'r1' },
      { direction: 'result', toolCallId: 't2', content: '[{"type":"text","text":"r2"}]' },
    ]);
    expect(toolResultsIn({ input: [{ role: 'user', content: 'q' }, { type: 'function_call_output', call_id: 'x', output: 'ok' }] })).toEqual([{ direction: 'result', toolCallId: 'x', content: 'ok' }]);
    expect(toolResultsIn({ messages: [{ role: 'user', content: 'q' }] })).toEqual([]);
  });
});

describe('TraceRecorder', () => {
  it('hands each step to persistence exactly once and finishes once', () => {
    let t = 0;
    const rec = new TraceRecorder('t1', 0, () => ++t, '2026-01-01T00:00:00.000Z');
    rec.step('request_received');
    expect(rec.takeUnpersisted().map((s) => s.name)).toEqual(['request_received']);
    expect(rec.finish({ status: 200 })).toBe(true);
    expect(rec.finish({ status: 500 })).toBe(false);
    expect(rec.record.attributes.status).toBe(200);
    expect(rec.takeUnpersisted().map((s) => s.name)).toEqual(['request_finished']);
    expect(rec.takeUnpersisted()).toEqual([]);
  });

  it('rows put tokens and cost only on llm and request_finished; legacy encoding turns properties into JSON text', () => {
    const rec = new TraceRecorder('t2', 0, () => 1, '2026-01-01T00:00:00.000Z');
    rec.record.properties = { a: 'b' };
    rec.step('policy', { decision: 'allow' });
    rec.step('llm');
    rec.finish({ usage: { promptTokens: 3, completionTokens: 4, totalTokens: 7 }, cost: { usd: 0.5, unknown: false, pricingVersion: 'v1' } });
    const rows = stepRows(rec.record);
    expect(rows.map((r) => [r.name, r.prompt_tokens, r.cost_usd])).toEqual([
      ['policy', 0, null],
      ['llm', 3, 0.5],
      ['request_finished', 3, 0.5],
    ]);
    expect(JSON.parse(rows[0]!.attributes)).toEqual({ decision: 'allow' });
    expect(encodeRow(rows[0]!, 'legacy').properties).toBe('{"a":"b"}');
    expect(encodeRow(rows[0]!, 'modern').properties).toEqual({ a: 'b' });
  });
});

describe('Firehose batching', () => {
  it('never exceeds 500 records or 4 MiB per call', () => {
    const rec = (n: number) => ({ data: new Uint8Array(n) });
    expect(planBatches(Array.from({ length: 1001 }, () => rec(10))).map((b) => b.length)).toEqual([500, 500, 1]);
    const big = planBatches(Array.from({ length: 9 }, () => rec(1024 * 1024)));
    expect(big.map((b) => b.length)).toEqual([4, 4, 1]);
    for (const b of big) expect(b.reduce((n, r) => n + r.data.byteLength, 0)).toBeLessThanOrEqual(FIREHOSE_MAX_BATCH_BYTES);
  });
});

describe('trace-ingest decoding', () => {
  it('compares access keys by digest and refuses an empty expected key', () => {
    expect(sameSecret('abc', 'abc')).toBe(true);
    expect(sameSecret('abd', 'abc')).toBe(false);
    expect(sameSecret('', '')).toBe(false);
  });

  it('reads a Firehose-style JSON secret field, or takes a plain secret as it is', () => {
    expect(secretValue('{"api_key":"k1"}', 'api_key')).toBe('k1');
    expect(secretValue('plain-key', 'api_key')).toBe('plain-key');
    expect(secretValue('{"other":"x"}', 'api_key')).toBe('{"other":"x"}');
  });

  it('decodes base64 records with one or more JSON lines each', () => {
    const row = { step_id: 's', trace_id: 't', name: 'llm', started_at_ms: 1 };
    const data = Buffer.from(`${JSON.stringify(row)}\n${JSON.stringify({ ...row, step_id: 's2' })}\n`).toString('base64');
    expect(rowsFromDelivery({ requestId: 'r', timestamp: 1, records: [{ data }] }).rows.map((r) => r.step_id)).toEqual(['s', 's2']);
  });
});
