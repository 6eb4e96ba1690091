/**
 * Response cache (#20) replay in every ingress format, through the official SDKs against
 * the local runtime and the wire-faithful fakes: a streamed miss serves a plain hit and a
 * streamed hit (one stored entry: `stream` does not change the answer), a plain miss
 * serves a streamed hit; content, tool calls, usage and terminators are those of the live
 * answer. An answer that did not finish cleanly, or an error status, is never stored.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAnthropicUpstream, type AnthropicUpstream } from '../support/anthropic-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { replyTo, startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';

const ANTHROPIC_KEY = 'sk-ant-provider-key-for-cache-tests';
let oai: OpenAIUpstream;
let ant: AnthropicUpstream;
let gw: TestGateway;
let antGw: TestGateway;
let client: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  oai = await startOpenAIUpstream();
  ant = await startAnthropicUpstream({ apiKey: ANTHROPIC_KEY });
  const quiet = { traceSink: { write: async () => undefined } };
  gw = await startTestGateway({ upstreamUrl: oai.url, proxy: { cache: { ttlSeconds: 60 } }, deps: quiet });
  antGw = await startTestGateway({
    upstreamUrl: ant.url,
    proxy: { provider: 'anthropic', credentialRef: 'env:ANTHROPIC_CACHE_TEST_KEY', cache: { ttlSeconds: 60 } },
    env: { ANTHROPIC_CACHE_TEST_KEY: ANTHROPIC_KEY },
    deps: quiet,
  });
  client = new OpenAI({ baseURL: `${gw.url}/a/test/openai/v1`, apiKey: gw.key, maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: `${antGw.url}/a/test/anthropic`, apiKey: antGw.key, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.close();
  await antGw?.close();
  await oai?.close();
  await ant?.close();
});
beforeEach(() => {
  oai.reset();
  ant.reset();
});

let n = 0;
/** A prompt no other test sent: every test starts without an entry. */
const fresh = (text: string) => `${text} number ${++n} ${Math.random().toString(36).slice(2, 8)}`;
const oaiCalls = (path: string) => oai.requests.filter((r) => r.path === path).length;
const antCalls = () => ant.requests.filter((r) => r.path === '/v1/messages').length;

const TOOLS: OpenAI.Chat.Completions.ChatCompletionTool[] = [
  { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
  { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string' } } } } },
];

interface ChatStreamed {
  content: string;
  finish: string | null;
  usage: unknown;
  tools: Array<{ id?: string; name: string; arguments: string }>;
  headers: Headers;
  chunks: number;
}

async function chatStream(request: OpenAI.Chat.Completions.ChatCompletionCreateParamsStreaming): Promise<ChatStreamed> {
  const { data: stream, response } = await client.chat.completions.create(request).withResponse();
  const out: ChatStreamed = { content: '', finish: null, usage: undefined, tools: [], headers: response.headers, chunks: 0 };
  for await (const chunk of stream) {
    out.chunks++;
    if (chunk.usage) out.usage = chunk.usage;
    for (const c of chunk.choices) {
      if (c.delta.content) out.content += c.delta.content;
      for (const t of c.delta.tool_calls ?? []) {
        const call = (out.tools[t.index] ??= { name: '', arguments: '' });
        if (t.id) call.id = t.id;
        if (t.function?.name) call.name += t.function.name;
        if (t.function?.arguments) call.arguments += t.function.arguments;
      }
      if (c.finish_reason) out.finish = c.finish_reason;
    }
  }
  return out;
}

/** The raw SSE text of a streamed call (for terminators the SDKs hide). */
async function rawStream(url: string, headers: Record<string, string>, body: unknown): Promise<{ status: number; cache: string | null; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, cache: res.headers.get('x-sluice-cache'), text: await res.text() };
}

describe('OpenAI chat completions', () => {
  it('a plain miss serves a streamed hit: the same content and finish as chunks, the usage chunk when asked, [DONE]', async () => {
    const prompt = fresh('Say something about rivers');
    const messages = [{ role: 'user' as const, content: prompt }];
    const first = await client.chat.completions.create({ model: 'gpt-4o-mini', messages }).withResponse();
    expect(first.response.headers.get('x-sluice-cache')).toBe('miss');
    const hit = await chatStream({ model: 'gpt-4o-mini', messages, stream: true, stream_options: { include_usage: true } });
    expect(hit.headers.get('x-sluice-cache')).toBe('hit');
    expect(hit.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(hit.content).toBe(replyTo(prompt));
    expect(hit.finish).toBe('stop');
    expect(hit.usage).toEqual(first.data.usage);
    expect(oaiCalls('/v1/chat/completions')).toBe(1);
    // Without include_usage no usage chunk; the stream still ends with [DONE].
    const raw = await rawStream(`${gw.url}/a/test/openai/v1/chat/completions`, { authorization: `Bearer ${gw.key}` }, { model: 'gpt-4o-mini', messages, stream: true });
    expect(raw.cache).toBe('hit');
    expect(raw.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(raw.text).not.toContain('"usage":{');
    expect(oaiCalls('/v1/chat/completions')).toBe(1);
  });

  it('a streamed miss with tool calls is stored once complete: plain and streamed hits give the same tool calls, finish and usage', async () => {
    const prompt = fresh('weather and time in Oslo');
    const request = { model: 'test-tools', messages: [{ role: 'user' as const, content: prompt }], tools: TOOLS };
    const live = await chatStream({ ...request, stream: true, stream_options: { include_usage: true } });
    expect(live.headers.get('x-sluice-cache')).toBe('miss');
    expect(live.tools.length).toBe(2);
    expect(live.finish).toBe('tool_calls');

    const plain = await client.chat.completions.create(request).withResponse();
    expect(plain.response.headers.get('x-sluice-cache')).toBe('hit');
    const message = plain.data.choices[0]!.message;
    expect(message.tool_calls!.map((c) => (c.type === 'function' ? { id: c.id, name: c.function.name, arguments: c.function.arguments } : c))).toEqual(live.tools);
    expect(plain.data.choices[0]!.finish_reason).toBe('tool_calls');
    expect(plain.data.usage).toEqual(live.usage);
    expect(plain.data.object).toBe('chat.completion');

    const again = await chatStream({ ...request, stream: true, stream_options: { include_usage: true } });
    expect(again.headers.get('x-sluice-cache')).toBe('hit');
    expect(again.tools).toEqual(live.tools);
    expect(again.finish).toBe('tool_calls');
    expect(again.usage).toEqual(live.usage);
    expect(oaiCalls('/v1/chat/completions')).toBe(1);
  });
});

describe('Anthropic Messages (Anthropic SDK)', () => {
  it('a streamed miss serves a plain hit and a streamed hit: same content blocks, stop reason, usage; message_stop ends the stream', async () => {
    const prompt = fresh('weather in Bergen');
    const request = {
      model: 'claude-sonnet-4-6+thinking+tools',
      max_tokens: 2000,
      messages: [{ role: 'user' as const, content: prompt }],
      tools: [{ name: 'weather', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } }],
    };
    const liveStream = anthropic.messages.stream(request);
    const live = await liveStream.finalMessage();
    expect(live.content.map((b) => b.type)).toEqual(['thinking', 'tool_use']);
    expect(antCalls()).toBe(1);

    const plain = await anthropic.messages.create(request).withResponse();
    expect(plain.response.headers.get('x-sluice-cache')).toBe('hit');
    expect(plain.data.content).toEqual(live.content);
    expect(plain.data.stop_reason).toBe('tool_use');
    expect(plain.data.usage).toEqual(live.usage);
    expect(plain.data.id).toBe(live.id);

    const replay = await anthropic.messages.stream(request).finalMessage();
    expect(replay.content).toEqual(live.content);
    expect(replay.stop_reason).toBe(live.stop_reason);
    expect(replay.usage).toEqual(live.usage);
    expect(antCalls()).toBe(1);

    const sdkVersion = ant.requests[0]!.headers['anthropic-version'] as string;
    const raw = await rawStream(`${antGw.url}/a/test/anthropic/v1/messages`, { 'x-api-key': antGw.key, 'anthropic-version': sdkVersion }, { ...request, stream: true });
    expect(raw.cache).toBe('hit');
    const events = [...raw.text.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]);
    expect(events[0]).toBe('message_start');
    expect(events.at(-1)).toBe('message_stop');
    expect(events.at(-2)).toBe('message_delta');
    expect(antCalls()).toBe(1);
    // Another API version may answer differently: its own entry.
    const older = sdkVersion === '2023-06-01' ? '2023-01-01' : '2023-06-01';
    const other = await rawStream(`${antGw.url}/a/test/anthropic/v1/messages`, { 'x-api-key': antGw.key, 'anthropic-version': older }, { ...request, stream: true });
    expect(other.cache).toBe('miss');
    expect(antCalls()).toBe(2);
  });

  it('a plain miss serves a streamed hit with the same text', async () => {
    const prompt = fresh('Tell me about fjords');
    const request = { model: 'claude-sonnet-4-6', max_tokens: 200, messages: [{ role: 'user' as const, content: prompt }] };
    const plain = await anthropic.messages.create(request).withResponse();
    expect(plain.response.headers.get('x-sluice-cache')).toBe('miss');
    const replay = await anthropic.messages.stream(request).finalMessage();
    expect(replay.content).toEqual([{ type: 'text', text: replyTo(prompt) }]);
    expect(replay.usage).toEqual(plain.data.usage);
    expect(replay.stop_reason).toBe('end_turn');
    expect(antCalls()).toBe(1);
  });
});

describe('Responses API (stateless only)', () => {
  it('store:false: a streamed miss serves a plain hit and a streamed hit ending in response.completed; store:true is not cached', async () => {
    const prompt = fresh('Describe a glacier');
    const request = { model: 'gpt-4o-mini', input: prompt, store: false as const };
    let liveCompleted: OpenAI.Responses.Response | undefined;
    const { data: liveStream, response: liveRes } = await client.responses.create({ ...request, stream: true }).withResponse();
    expect(liveRes.headers.get('x-sluice-cache')).toBe('miss');
    for await (const event of liveStream) if (event.type === 'response.completed') liveCompleted = event.response;
    expect(liveCompleted?.output_text ?? liveCompleted?.output).toBeTruthy();

    const plain = await client.responses.create(request).withResponse();
    expect(plain.response.headers.get('x-sluice-cache')).toBe('hit');
    expect(plain.data.output).toEqual(liveCompleted!.output);
    expect(plain.data.usage).toEqual(liveCompleted!.usage);
    expect(plain.data.status).toBe('completed');

    const { data: hitStream, response: hitRes } = await client.responses.create({ ...request, stream: true }).withResponse();
    expect(hitRes.headers.get('x-sluice-cache')).toBe('hit');
    let text = '';
    const types: string[] = [];
    let hitCompleted: OpenAI.Responses.Response | undefined;
    for await (const event of hitStream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') hitCompleted = event.response;
    }
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    expect(text).toBe(replyTo(prompt));
    expect(hitCompleted!.usage).toEqual(liveCompleted!.usage);
    expect(oaiCalls('/v1/responses')).toBe(1);

    // The default (store: true) keeps state at the provider: never served from the cache.
    const stored = fresh('Describe a moraine');
    const a = await client.responses.create({ model: 'gpt-4o-mini', input: stored }).withResponse();
    const b = await client.responses.create({ model: 'gpt-4o-mini', input: stored }).withResponse();
    expect([a.response.headers.get('x-sluice-cache'), b.response.headers.get('x-sluice-cache')]).toEqual(['bypass', 'bypass']);
    expect(oaiCalls('/v1/responses')).toBe(3);
  });
});

describe('legacy completions and embeddings', () => {
  it('completions: a streamed miss serves a plain hit; a plain hit streams the same text with usage and [DONE]', async () => {
    const prompt = fresh('Once upon a time');
    const request = { model: 'gpt-3.5-turbo-instruct', prompt, max_tokens: 40 };
    const { data: live, response } = await client.completions.create({ ...request, stream: true, stream_options: { include_usage: true } }).withResponse();
    expect(response.headers.get('x-sluice-cache')).toBe('miss');
    let liveText = '';
    let liveUsage: unknown;
    let liveFinish: string | null = null;
    for await (const chunk of live) {
      for (const c of chunk.choices) {
        liveText += c.text;
        if (c.finish_reason) liveFinish = c.finish_reason;
      }
      if (chunk.usage) liveUsage = chunk.usage;
    }
    expect(liveText).toBe(replyTo(prompt));
    const plain = await client.completions.create(request).withResponse();
    expect(plain.response.headers.get('x-sluice-cache')).toBe('hit');
    expect(plain.data.choices[0]!.text).toBe(liveText);
    expect(plain.data.choices[0]!.finish_reason).toBe(liveFinish);
    expect(plain.data.usage).toEqual(liveUsage);

    const raw = await rawStream(`${gw.url}/a/test/openai/v1/completions`, { authorization: `Bearer ${gw.key}` }, { ...request, stream: true, stream_options: { include_usage: true } });
    expect(raw.cache).toBe('hit');
    const datas = [...raw.text.matchAll(/^data: (.+)$/gm)].map((m) => m[1]!);
    expect(datas.at(-1)).toBe('[DONE]');
    const chunks = datas.slice(0, -1).map((d) => JSON.parse(d) as { choices: Array<{ text: string }>; usage?: unknown });
    expect(chunks.flatMap((c) => c.choices.map((x) => x.text)).join('')).toBe(liveText);
    expect(chunks.at(-1)!.usage).toEqual(liveUsage);
    expect(oaiCalls('/v1/completions')).toBe(1);
  });

  it('embeddings: the second identical call is a hit with the same vectors and usage', async () => {
    const input = [fresh('alpha'), fresh('beta')];
    const a = await client.embeddings.create({ model: 'text-embedding-3-small', input }).withResponse();
    const b = await client.embeddings.create({ model: 'text-embedding-3-small', input }).withResponse();
    expect([a.response.headers.get('x-sluice-cache'), b.response.headers.get('x-sluice-cache')]).toEqual(['miss', 'hit']);
    expect(b.data).toEqual(a.data);
    expect(b.data.data).toHaveLength(2);
    expect(oaiCalls('/v1/embeddings')).toBe(1);
    // A different input is its own entry.
    const c = await client.embeddings.create({ model: 'text-embedding-3-small', input: [input[0]!] }).withResponse();
    expect(c.response.headers.get('x-sluice-cache')).toBe('miss');
    expect(oaiCalls('/v1/embeddings')).toBe(2);
  });
});

describe('what is never stored', () => {
  it('a stream cut mid-way, a stream ending without its terminator, a mid-stream error event', async () => {
    for (const model of ['test-cut@after=3', 'test-eof@after=2', 'test-stream-error@after=2']) {
      oai.reset();
      const prompt = fresh(`one two three four five six seven for ${model}`);
      const request = { model, messages: [{ role: 'user' as const, content: prompt }], stream: true as const };
      await chatStream(request).catch(() => undefined);
      const again = await rawStream(`${gw.url}/a/test/openai/v1/chat/completions`, { authorization: `Bearer ${gw.key}` }, request);
      expect(again.cache, model).toBe('miss');
      expect(oaiCalls('/v1/chat/completions'), model).toBe(2);
    }
  });

  it('an Anthropic stream with an error event is not stored', async () => {
    const request = { model: 'claude-sonnet-4-6+stream-error=4', max_tokens: 100, messages: [{ role: 'user' as const, content: fresh('a b c d e') }] };
    await expect(anthropic.messages.stream(request).finalMessage()).rejects.toThrow();
    await expect(anthropic.messages.stream(request).finalMessage()).rejects.toThrow();
    expect(antCalls()).toBe(2);
  });

  it('an error status is not stored: a 400 and a 500 are answered again by the upstream', async () => {
    for (const model of ['test-400', 'test-500']) {
      oai.reset();
      const request = { model, messages: [{ role: 'user' as const, content: fresh('hello') }] };
      const first = await client.chat.completions.create(request).catch((e: unknown) => e);
      expect(first, model).toBeInstanceOf(OpenAI.APIError);
      // The gateway may retry a 5xx/429 (#16): whatever one call costs, the second costs as much again.
      const perCall = oaiCalls('/v1/chat/completions');
      expect(perCall, model).toBeGreaterThan(0);
      const second = await client.chat.completions.create(request).withResponse().catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
      expect(second, model).toBeInstanceOf(OpenAI.APIError);
      expect((second as InstanceType<typeof OpenAI.APIError>).headers?.get('x-sluice-cache')).not.toBe('hit');
      expect(oaiCalls('/v1/chat/completions'), model).toBe(2 * perCall);
    }
  });

  it('a plain body cut mid-way is not stored', async () => {
    const request = { model: 'test-cut', messages: [{ role: 'user' as const, content: fresh('cut me') }] };
    await client.chat.completions.create(request).catch(() => undefined);
    await client.chat.completions.create(request).catch(() => undefined);
    expect(oaiCalls('/v1/chat/completions')).toBe(2);
  });
});
