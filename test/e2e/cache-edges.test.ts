/**
 * Response cache (#20) edges: a streamed miss without the usage chunk still serves a plain
 * hit with usage; the Anthropic ingress on an OpenAI upstream (translated) replays in the
 * client's format; hits count against request-rate limits; sessions count hit turns.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FileSpendConfigStore } from '../../functions/spend/file-config-store.js';
import type { TraceRecord } from '../../functions/traces/recorder.js';
import { traceIn } from '../support/traces.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { replyTo, startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';

let upstream: OpenAIUpstream;
let gw: TestGateway;
let client: OpenAI;
const traces: TraceRecord[] = [];

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  gw = await startTestGateway({ upstreamUrl: upstream.url, proxy: { cache: { ttlSeconds: 60 } }, deps: { traceSink: { write: async ({ record }: { record: TraceRecord }) => void traces.push(record) } } });
  client = new OpenAI({ baseURL: `${gw.url}/a/test/openai/v1`, apiKey: gw.key, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
beforeEach(() => upstream.reset());
let n = 0;
const fresh = (text: string) => `${text} number ${++n} ${Math.random().toString(36).slice(2, 8)}`;
const chatCalls = () => upstream.requests.filter((r) => r.path === '/v1/chat/completions').length;

describe('edges', () => {
  it('a streamed miss without include_usage serves a plain hit that has usage (a plain answer always has it)', async () => {
    const prompt = fresh('Tell me about the tide');
    const messages = [{ role: 'user' as const, content: prompt }];
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    expect(text).toBe(replyTo(prompt));
    const plain = await client.chat.completions.create({ model: 'gpt-4o-mini', messages }).withResponse();
    expect(plain.response.headers.get('x-sluice-cache')).toBe('hit');
    expect(chatCalls()).toBe(1);
    // The usage the upstream itself gives this request plain (asked directly, past the gateway).
    const direct = await new OpenAI({ baseURL: upstream.url, apiKey: 'direct', maxRetries: 0 }).chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(plain.data.usage).toMatchObject({ prompt_tokens: direct.usage!.prompt_tokens, completion_tokens: direct.usage!.completion_tokens, total_tokens: direct.usage!.total_tokens });
    // A streamed hit without include_usage still sends no usage chunk.
    const again = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    let sawUsage = false;
    for await (const c of again) sawUsage ||= Boolean(c.usage);
    expect(sawUsage).toBe(false);
  });

  it('Anthropic SDK on an OpenAI-compatible proxy: a plain miss replays as an Anthropic stream, and the OpenAI ingress has its own entry', async () => {
    const anthropic = new Anthropic({ baseURL: `${gw.url}/a/test/anthropic`, apiKey: gw.key, maxRetries: 0 });
    const prompt = fresh('Tell me about the sea');
    const request = { model: 'gpt-4o-mini', max_tokens: 50, messages: [{ role: 'user' as const, content: prompt }] };
    const plain = await anthropic.messages.create(request).withResponse();
    expect(plain.response.headers.get('x-sluice-cache')).toBe('miss');
    const replay = await anthropic.messages.stream(request).finalMessage();
    expect(replay.content).toEqual([{ type: 'text', text: replyTo(prompt) }]);
    expect(replay.usage.output_tokens).toBe(plain.data.usage.output_tokens);
    expect(chatCalls()).toBe(1);
    const viaOpenAI = await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 50, messages: request.messages }).withResponse();
    expect(viaOpenAI.response.headers.get('x-sluice-cache')).toBe('miss');
    expect(chatCalls()).toBe(2);
  });

  it('hits count against the request-rate limit', async () => {
    const { key, record } = await gw.addKey();
    await new FileSpendConfigStore({ dataDir: gw.dataDir }).putLimit({ scope: 'key', scopeId: record.id, rpm: 2, updatedAt: new Date().toISOString() });
    const limited = new OpenAI({ baseURL: `${gw.url}/a/test/openai/v1`, apiKey: key, maxRetries: 0 });
    const messages = [{ role: 'user' as const, content: fresh('rate') }];
    await limited.chat.completions.create({ model: 'gpt-4o-mini', messages });
    await limited.chat.completions.create({ model: 'gpt-4o-mini', messages });
    const third = await limited.chat.completions.create({ model: 'gpt-4o-mini', messages }).catch((e: unknown) => e);
    expect(third).toBeInstanceOf(OpenAI.RateLimitError);
    expect(chatCalls()).toBe(1);
  });

  it('sessions count hit turns as live ones: the same strategy and turn numbers as the same conversation on a proxy without a cache', async () => {
    await gw.addProxy({ id: 'nocache' });
    const live = new OpenAI({ baseURL: `${gw.url}/a/nocache/openai/v1`, apiKey: (await gw.addKey({ proxyId: 'nocache' })).key, maxRetries: 0 });
    const first = fresh('Plan a trip to Tromsø');
    const second = fresh('And what should I pack');
    const conversation = async (c: OpenAI) => {
      const out: Array<{ cache: string | null; session: string | null; turn: unknown; strategy: unknown }> = [];
      const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: 'user', content: first }];
      for (const next of [second, undefined]) {
        const { data, response } = await c.chat.completions.create({ model: 'gpt-4o-mini', messages }).withResponse();
        const trace = await traceIn(traces, response.headers.get('x-sluice-trace-id')!);
        out.push({ cache: response.headers.get('x-sluice-cache'), session: response.headers.get('x-sluice-session-id'), turn: trace?.attributes.sessionTurn, strategy: trace?.attributes.sessionStrategy });
        messages.push(data.choices[0]!.message);
        if (next) messages.push({ role: 'user', content: next });
      }
      return out;
    };
    const uncached = [...(await conversation(live)), ...(await conversation(live))];
    const cached = [...(await conversation(client)), ...(await conversation(client))];
    expect(cached.map((t) => t.cache)).toEqual(['miss', 'miss', 'hit', 'hit']);
    expect(uncached.map((t) => t.cache)).toEqual([null, null, null, null]);
    expect(cached.map((t) => [t.turn, t.strategy])).toEqual(uncached.map((t) => [t.turn, t.strategy]));
    // Session grouping is the same too: which turns share an id.
    const shape = (ts: typeof cached) => ts.map((t) => ts.findIndex((u) => u.session === t.session));
    expect(shape(cached)).toEqual(shape(uncached));
    expect(cached.every((t) => t.session)).toBe(true);
    expect(uncached.every((t) => typeof t.turn === 'number' && typeof t.strategy === 'string')).toBe(true);
  });

  it('an answer over 1 MiB after gzip is served but not stored, and the trace says too_large', async () => {
    // 100 × 3072 float32 as base64 (the SDK's default encoding): ~1.6 MB on the wire, ~1.2 MB gzipped (random bits barely
    // compress), under the 8 MiB capture bound: it is the entry limit that refuses it.
    const input = Array.from({ length: 100 }, (_, i) => fresh(`large ${i}`));
    const ask = () => client.embeddings.create({ model: 'text-embedding-3-large', input, dimensions: 3072 }).withResponse();
    const first = await ask();
    expect(first.data.data).toHaveLength(100);
    expect(first.data.data[0]!.embedding).toHaveLength(3072);
    expect(first.response.headers.get('x-sluice-cache')).toBe('miss');
    const trace = await traceIn(traces, (r) => r.traceId === first.response.headers.get('x-sluice-trace-id') && r.steps.some((s) => s.name === 'cache' && s.attributes.result === 'too_large' && Number(s.attributes.bytes) > 1024 * 1024));
    expect(trace).toBeTruthy();
    const second = await ask();
    expect(second.response.headers.get('x-sluice-cache')).toBe('miss');
    expect(upstream.requests.filter((r) => r.path === '/v1/embeddings')).toHaveLength(2);
  });
});
