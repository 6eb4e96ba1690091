/**
 * The OpenAI-compatible family through the gateway: usage is always requested from the
 * upstream so spend can be metered, and stripped from the client's stream when the
 * client did not ask for it.
 */
import OpenAI from 'openai';
import type { TraceRecord } from '../../functions/traces/recorder.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { usageTraced } from '../support/traces.js';
import { withoutUsage } from '../../functions/providers/openai/stream.js';

let upstream: OpenAIUpstream;
let gw: TestGateway;
let client: OpenAI;
const traces: TraceRecord[] = [];

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  // Traces kept in memory: read without polling files, and nothing is left writing when the gateway stops.
  gw = await startTestGateway({ upstreamUrl: upstream.url, deps: { traceSink: { write: async ({ record }) => void traces.push(record) } } });
  client = new OpenAI({ baseURL: `${gw.url}/a/test/openai/v1`, apiKey: gw.key, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
beforeEach(() => upstream.reset());

describe('usage on OpenAI-family streams', () => {
  it('not asked: requested upstream, metered, and never shown to the client', async () => {
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'one two three' }], stream: true })
      .withResponse();
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks.some((c) => c.usage)).toBe(false);
    expect(chunks.every((c) => c.choices.length === 1)).toBe(true);
    expect((upstream.requests[0]!.body as { stream_options?: unknown }).stream_options).toEqual({ include_usage: true });
    const usage = await usageTraced(traces, response.headers.get('x-sluice-trace-id')!);
    expect(usage?.promptTokens).toBeGreaterThan(0);
    expect(usage?.completionTokens).toBeGreaterThan(0);
  });

  it('asked: the request is forwarded byte for byte and the usage chunk arrives', async () => {
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } };
    const { data: stream, response } = await client.chat.completions.create(body as OpenAI.ChatCompletionCreateParamsStreaming).withResponse();
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const c of stream) if (c.usage) usage = c.usage;
    expect(usage?.total_tokens).toBeGreaterThan(0);
    expect(upstream.requests[0]!.rawBody).toBe(JSON.stringify(body));
    // The same usage is metered (and the trace is written before the gateway stops).
    expect((await usageTraced(traces, response.headers.get('x-sluice-trace-id')!))?.totalTokens).toBe(usage?.total_tokens);
  });
});

describe('withoutUsage', () => {
  it('drops the usage-only chunk, strips usage from a chunk with choices, passes others byte for byte', () => {
    const usageOnly = { data: '{"id":"x","choices":[],"usage":{"prompt_tokens":1}}', raw: 'data: {"id":"x","choices":[],"usage":{"prompt_tokens":1}}\n\n' };
    expect(withoutUsage(usageOnly)).toBeUndefined();
    const mixed = { data: '{"id":"x","choices":[{"index":0,"delta":{}}],"usage":{"prompt_tokens":1}}', raw: 'data: …\n\n' };
    expect(withoutUsage(mixed)).toEqual({ data: '{"id":"x","choices":[{"index":0,"delta":{}}]}', raw: 'data: {"id":"x","choices":[{"index":0,"delta":{}}]}\n\n' });
    const plain = { data: '{"id":"x","choices":[{"index":0,"delta":{"content":"usage"}}]}', raw: 'data: {"id":"x","choices":[{"index":0,"delta":{"content":"usage"}}]}\n\n' };
    expect(withoutUsage(plain)).toBe(plain);
    const done = { data: '[DONE]', raw: 'data: [DONE]\n\n' };
    expect(withoutUsage(done)).toBe(done);
  });
});
