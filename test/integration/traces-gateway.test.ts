/**
 * The trace plugin on the real request path: the gateway on the local runtime writes
 * to its default JSONL store; the tests read the store back through the same query
 * the CLI uses.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localTraceQuery } from '../../functions/traces/query.js';
import type { TraceBatch } from '../../functions/traces/sink.js';
import { TraceWriter } from '../../functions/traces/writer.js';
import type { TraceStepRow } from '../../functions/traces/rows.js';
import { replyTo, startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let upstream: OpenAIUpstream;
let gw: TestGateway;
let small: TestGateway;
let client: OpenAI;

const PRICES = { models: { 'gpt-4o-mini': { input: 2, output: 8 } } };

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  gw = await startTestGateway({ upstreamUrl: upstream.url, env: { SLUICE_PRICING_OVERRIDES: JSON.stringify(PRICES) } });
  small = await startTestGateway({ upstreamUrl: upstream.url, env: { SLUICE_TRACE_BODY_BYTES: '40' } });
  client = new OpenAI({ baseURL: `${gw.url}/a/test/openai/v1`, apiKey: gw.key, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.close();
  await small?.close();
  await upstream?.close();
});

async function stepsOf(dataDir: string, traceId: string, expectFinished = true): Promise<TraceStepRow[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const rows = await localTraceQuery(dataDir).steps({ traceId });
    if (!expectFinished || rows.some((r) => r.name === 'request_finished') || Date.now() > deadline) return rows;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('trace plugin on the request path', () => {
  it('plain chat: one trace with linked steps, properties, grouping ids, bodies, usage and cost', async () => {
    const parent = '0b9f3d5e-1c2a-4b7d-8e6f-9a0b1c2d3e4f';
    const flow = '5f4e3d2c-1b0a-4987-8654-3210fedcba98';
    const { data, response } = await client.chat.completions
      .create(
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Count the rivers of Europe' }] },
        { headers: { 'x-sluice-property-team': 'search', 'x-sluice-parent-trace-id': parent, 'x-sluice-trace-flow-id': flow, 'x-sluice-session-path': '/agent/step-1' } },
      )
      .withResponse();
    const traceId = response.headers.get('x-sluice-trace-id')!;
    const rows = await stepsOf(gw.dataDir, traceId);
    const names = rows.map((r) => r.name);
    expect(names[0]).toBe('request_received');
    expect(names).toContain('llm');
    expect(names.at(-1)).toBe('request_finished');
    expect(names.filter((n) => n === 'request_finished')).toHaveLength(1);
    expect(new Set(rows.map((r) => r.step_id)).size).toBe(rows.length);
    for (const r of rows) {
      expect(r.parent_trace_id).toBe(traceId);
      expect(r).toMatchObject({ trace_id: traceId, proxy_id: 'test', properties: { team: 'search' }, trace_parent_id: parent, flow_id: flow, session_path: '/agent/step-1' });
      expect(r.session_id).toBe(response.headers.get('x-sluice-session-id'));
    }
    const received = rows.find((r) => r.name === 'request_received')!;
    expect(JSON.parse(received.request_body).messages[0].content).toBe('Count the rivers of Europe');
    const finished = rows.find((r) => r.name === 'request_finished')!;
    expect(JSON.parse(finished.response_body).choices[0].message.content).toBe(replyTo('Count the rivers of Europe'));
    const usage = data.usage!;
    expect(finished).toMatchObject({ status: 200, model_requested: 'gpt-4o-mini', model_resolved: 'gpt-4o-mini', provider: 'openai-compatible', prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens, cost_unknown: 0 });
    expect(finished.cost_usd).toBeCloseTo((usage.prompt_tokens * 2 + usage.completion_tokens * 8) / 1e6, 12);
    expect(finished.latency_ms).toBeGreaterThan(0);
    expect(finished.ttft_ms).toBeGreaterThan(0);
    expect(finished.ttft_ms!).toBeLessThanOrEqual(finished.latency_ms!);
    const llm = rows.find((r) => r.name === 'llm')!;
    expect(llm.prompt_tokens).toBe(usage.prompt_tokens);
  });

  it('streamed tool calls become tool steps under the llm step; tool results sent back become tool steps on the next request', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }];
    const stream = await client.chat.completions
      .create({ model: 'test-tools@calls=2', messages: [{ role: 'user', content: 'Weather in Oslo and Bergen' }], tools, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    const calls = new Map<number, { id: string; name: string; args: string }>();
    for await (const chunk of stream.data) {
      for (const tc of chunk.choices[0]?.delta?.tool_calls ?? []) {
        const c = calls.get(tc.index) ?? { id: '', name: '', args: '' };
        if (tc.id) c.id = tc.id;
        if (tc.function?.name) c.name = tc.function.name;
        c.args += tc.function?.arguments ?? '';
        calls.set(tc.index, c);
      }
    }
    const traceId = stream.response.headers.get('x-sluice-trace-id')!;
    const rows = await stepsOf(gw.dataDir, traceId);
    const llm = rows.find((r) => r.name === 'llm')!;
    const toolRows = rows.filter((r) => r.name === 'tool');
    expect(toolRows).toHaveLength(2);
    for (const [i, row] of toolRows.entries()) {
      expect(row.parent_trace_id).toBe(llm.step_id);
      const attrs = JSON.parse(row.attributes) as Record<string, string>;
      expect(attrs).toEqual({ direction: 'call', toolCallId: calls.get(i)!.id, name: 'get_weather', content: calls.get(i)!.args });
    }
    // The model has no price: cost null and flagged, never 0.
    const finished = rows.find((r) => r.name === 'request_finished')!;
    expect(finished.cost_usd).toBeNull();
    expect(finished.cost_unknown).toBe(1);

    const followUp = await client.chat.completions
      .create({
        model: 'gpt-4o-mini',
        messages: [
          { role: 'user', content: 'Weather in Oslo and Bergen' },
          { role: 'assistant', content: null, tool_calls: [...calls.values()].map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.args } })) },
          ...[...calls.values()].map((c, i) => ({ role: 'tool' as const, tool_call_id: c.id, content: `result ${i}` })),
        ],
      })
      .withResponse();
    const next = await stepsOf(gw.dataDir, followUp.response.headers.get('x-sluice-trace-id')!);
    const results = next.filter((r) => r.name === 'tool').map((r) => JSON.parse(r.attributes) as Record<string, string>);
    expect(results).toEqual([...calls.values()].map((c, i) => ({ direction: 'result', toolCallId: c.id, content: `result ${i}` })));
  });

  it('bodies are truncated to the configured size', async () => {
    const c = new OpenAI({ baseURL: `${small.url}/a/test/openai/v1`, apiKey: small.key, maxRetries: 0 });
    const prompt = 'a rather long prompt '.repeat(20);
    const { response } = await c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] }).withResponse();
    const rows = await stepsOf(small.dataDir, response.headers.get('x-sluice-trace-id')!);
    const req = rows.find((r) => r.name === 'request_received')!.request_body;
    const res = rows.find((r) => r.name === 'request_finished')!.response_body;
    expect(req.startsWith('{"model":"gpt-4o-mini"')).toBe(true);
    expect(req).toMatch(/^.{40}…\[truncated \d+ bytes\]$/s);
    expect(res).toMatch(/…\[truncated \d+ bytes\]$/);
    expect(Buffer.byteLength(res.replace(/…\[truncated \d+ bytes\]$/, ''))).toBeLessThanOrEqual(40);
  });

  it('an upstream error and a refused request are traced once, with status and error', async () => {
    const err = await client.chat.completions.create({ model: 'test-500', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    const traceId = (err as InstanceType<typeof OpenAI.APIError>).headers?.get('x-sluice-trace-id');
    expect(traceId).toBeTruthy();
    const rows = await stepsOf(gw.dataDir, traceId!);
    expect(rows.filter((r) => r.name === 'request_finished')).toHaveLength(1);
    const finished = rows.find((r) => r.name === 'request_finished')!;
    // The status the client got (the gateway maps an upstream 500 to its own answer).
    expect(finished.status).toBe((err as InstanceType<typeof OpenAI.APIError>).status);
    expect(finished.status).toBeGreaterThanOrEqual(500);
    expect(finished.error).not.toBe('');

    const res = await fetch(`${gw.url}/a/test/openai/v1/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer sk-sluice-wrong', 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(401);
    const refused = await stepsOf(gw.dataDir, res.headers.get('x-sluice-trace-id')!);
    expect(refused.map((r) => r.name)).toEqual(['request_received', 'request_finished']);
    expect(refused[0]!.offset_ms).toBe(0);
    expect(refused[1]!.status).toBe(401);
  });

  it('a slow sink delays neither the first nor the last byte; the rows still arrive once', async () => {
    const written: TraceBatch[] = [];
    const slow = new TraceWriter({
      sinks: [{ name: 'slow', write: (traces) => new Promise<void>((r) => setTimeout(() => (written.push(...traces), r()), 1_500)) }],
      logger: { warn() {} },
    });
    const slowGw = await startTestGateway({ upstreamUrl: upstream.url, deps: { traceSink: slow } });
    try {
      const c = new OpenAI({ baseURL: `${slowGw.url}/a/test/openai/v1`, apiKey: slowGw.key, maxRetries: 0 });
      const t0 = performance.now();
      const stream = await c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'quick' }], stream: true });
      let first = 0;
      for await (const _ of stream) first ||= performance.now() - t0;
      const last = performance.now() - t0;
      expect(first).toBeLessThan(1_000);
      expect(last).toBeLessThan(1_000);
      expect(written).toHaveLength(0);
      for (let i = 0; i < 100 && written.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(written).toHaveLength(1);
      expect(written[0]!.rows.filter((r) => r.name === 'request_finished')).toHaveLength(1);
    } finally {
      await slowGw.close();
    }
  });
});
