/**
 * No stream format ends silently truncated: an upstream body that ends (cleanly, not cut)
 * before its format's terminal event reaches the client closed with that format's error
 * event and terminator, and is traced as an error `stream_incomplete`. Also: an upstream
 * redirect is a 502 `upstream_error`, and an upstream 5xx keeps its message with code
 * `upstream_error`. Each provider's test upstream speaks its real wire format.
 */
import Anthropic from '@anthropic-ai/sdk';
import { BedrockRuntimeClient, ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBedrockClients } from '../../functions/providers/bedrock/transport.js';
import type { TraceRecord } from '../../functions/traces/recorder.js';
import { startAnthropicUpstream, type AnthropicUpstream } from '../support/anthropic-upstream.js';
import { startBedrockUpstream, useTestAwsCredentials, type BedrockUpstream } from '../support/bedrock-upstream.js';
import { startGeminiUpstream, type GeminiUpstream } from '../support/gemini-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { traceIn } from '../support/traces.js';

const traces: TraceRecord[] = [];
const sink = { traceSink: { write: async ({ record }: { record: TraceRecord }) => void traces.push(record) } };

let openai: OpenAIUpstream;
let anthropic: AnthropicUpstream;
let gemini: GeminiUpstream;
let bedrock: BedrockUpstream;
let gw: TestGateway;
const keys: Record<string, string> = {};

beforeAll(async () => {
  useTestAwsCredentials();
  [openai, anthropic, gemini, bedrock] = await Promise.all([startOpenAIUpstream(), startAnthropicUpstream({ apiKey: 'sk-ant-test' }), startGeminiUpstream({ apiKey: 'gm-test' }), startBedrockUpstream({ region: 'eu-west-1' })]);
  gw = await startTestGateway({
    upstreamUrl: openai.url,
    env: { ANTHROPIC_KEY: 'sk-ant-test', GEMINI_KEY: 'gm-test' },
    deps: { ...sink, bedrock: createBedrockClients('eu-west-1') },
  });
  keys.openai = gw.key;
  for (const [id, proxy] of [
    ['anth', { provider: 'anthropic' as const, baseUrl: anthropic.url, credentialRef: 'env:ANTHROPIC_KEY' }],
    ['gem', { provider: 'gemini' as const, baseUrl: gemini.url, credentialRef: 'env:GEMINI_KEY' }],
    ['bed', { provider: 'bedrock' as const, baseUrl: bedrock.url }],
  ] as const) {
    await gw.addProxy({ id, ...proxy });
    keys[id] = (await gw.addKey({ proxyId: id })).key;
  }
});
afterAll(async () => {
  await gw?.close();
  await Promise.all([openai?.close(), anthropic?.close(), gemini?.close(), bedrock?.close()]);
});

async function post(path: string, key: string, body: unknown): Promise<{ status: number; text: string; traceId: string }> {
  const res = await fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, text: await res.text(), traceId: res.headers.get('x-sluice-trace-id') ?? '' };
}

const eventsOf = (text: string) => text.split('\n\n').filter((e) => e.trim() !== '');

async function tracedError(traceId: string): Promise<unknown> {
  return (await traceIn(traces, traceId))?.attributes.errorCode;
}

describe('a stream that ends cleanly without its terminal event', () => {
  const chat = (model: string, extra: Record<string, unknown> = {}) => ({ model, stream: true, messages: [{ role: 'user', content: 'one two three four five six' }], ...extra });

  for (const [name, extra] of [
    ['usage not asked (the gateway filters the usage it asked for)', {}],
    ['usage asked (passed through as it is)', { stream_options: { include_usage: true } }],
  ] as const) {
    it(`OpenAI chat, ${name}: an error event stream_incomplete, then [DONE]`, async () => {
      const r = await post('/v1/chat/completions', keys.openai!, chat('test-eof@after=2', extra));
      expect(r.status).toBe(200);
      const events = eventsOf(r.text);
      expect(events.at(-1)).toBe('data: [DONE]');
      const error = JSON.parse(events.at(-2)!.slice('data: '.length)) as { error: { code: string; type: string } };
      expect(error.error).toMatchObject({ code: 'stream_incomplete', type: 'upstream_error' });
      // The two content chunks that did arrive came first.
      expect(events.filter((e) => e.includes('"delta"'))).toHaveLength(2);
      expect(await tracedError(r.traceId)).toBe('stream_incomplete');
    });
  }

  it('OpenAI chat through the SDK: the stream raises instead of ending quietly', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: keys.openai!, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'test-eof@after=3', stream: true, messages: [{ role: 'user', content: 'a b c d e f g h' }] });
    let chunks = 0;
    const err = await (async () => {
      for await (const _ of stream) chunks++;
    })().catch((e: unknown) => e as Error);
    expect(chunks).toBe(3);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as Error).message).toMatch(/terminal event/);
  });

  it('a complete OpenAI stream is untouched: finish_reason, [DONE], no error, traced without one', async () => {
    const r = await post('/v1/chat/completions', keys.openai!, chat('gpt-4o-mini'));
    const events = eventsOf(r.text);
    expect(events.at(-1)).toBe('data: [DONE]');
    expect(r.text).toContain('"finish_reason":"stop"');
    expect(r.text).not.toContain('"error"');
    const trace = await traceIn(traces, r.traceId);
    expect(trace?.attributes.errorCode).toBeUndefined();
  });

  it('Responses: an error event stream_incomplete after the events that came (no response.completed)', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: keys.openai!, maxRetries: 0 });
    const stream = await client.responses.create({ model: 'test-eof@after=3', input: 'a b c d e f', stream: true });
    const types: string[] = [];
    const err = await (async () => {
      for await (const e of stream) types.push(e.type);
    })().catch((e: unknown) => e as Error);
    expect(types).toEqual(['response.created', 'response.in_progress', 'response.output_item.added']);
    expect((err as Error).message).toMatch(/terminal event \(response\.completed\)/);
  });

  it('Anthropic native Messages (Anthropic SDK): an error event, the SDK raises', async () => {
    const client = new Anthropic({ baseURL: `${gw.url}/a/anth/anthropic`, apiKey: keys.anth!, maxRetries: 0 });
    const stream = client.messages.stream({ model: 'claude-sonnet-4-5+eof=4', max_tokens: 100, messages: [{ role: 'user', content: 'a b c d e f g' }] });
    const seen: string[] = [];
    const err = await (async () => {
      for await (const e of stream) seen.push(e.type);
    })().catch((e: unknown) => e as Error);
    // The SDK yields the events that came (its own ping filtering aside), never a message_stop.
    expect(seen[0]).toBe('message_start');
    expect(seen).not.toContain('message_stop');
    expect((err as Error).message).toMatch(/terminal event \(message_stop\)/);
  });

  it('Anthropic translated to chat: stream_incomplete, [DONE], traced', async () => {
    const r = await post('/a/anth/openai/v1/chat/completions', keys.anth!, chat('claude-sonnet-4-5+eof=4'));
    const events = eventsOf(r.text);
    expect(events.at(-1)).toBe('data: [DONE]');
    expect(events.at(-2)).toContain('"stream_incomplete"');
    expect(r.text).not.toContain('"finish_reason":"stop"');
    expect(await tracedError(r.traceId)).toBe('stream_incomplete');
  });

  it('Gemini without a finishReason: stream_incomplete, [DONE]', async () => {
    const r = await post('/a/gem/openai/v1/chat/completions', keys.gem!, chat('gemini-2.5-flash+no-finish'));
    const events = eventsOf(r.text);
    expect(events.at(-1)).toBe('data: [DONE]');
    expect(events.at(-2)).toContain('"stream_incomplete"');
    expect(await tracedError(r.traceId)).toBe('stream_incomplete');
  });

  it('Bedrock ConverseStream translated to chat: stream_incomplete, [DONE]', async () => {
    const r = await post('/a/bed/openai/v1/chat/completions', keys.bed!, chat('us.anthropic.claude-sonnet-4-20250514-v1:0+eof=3'));
    const events = eventsOf(r.text);
    expect(events.at(-1)).toBe('data: [DONE]');
    expect(events.at(-2)).toContain('"stream_incomplete"');
    expect(await tracedError(r.traceId)).toBe('stream_incomplete');
  });

  it('native Converse (Bedrock SDK): an exception frame the SDK raises, after the events that came', async () => {
    const client = new BedrockRuntimeClient({
      region: 'eu-central-1',
      endpoint: `${gw.url}/a/bed/bedrock`,
      credentials: { accessKeyId: 'AKIACLIENTSIDEONLY00', secretAccessKey: 'client-side-signature-is-ignored' },
      requestHandler: new NodeHttpHandler(),
      maxAttempts: 1,
    });
    client.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { headers: Record<string, string> }).headers['x-sluice-key'] = keys.bed!;
        return next(args);
      },
      { step: 'build', name: 'sluiceKey' },
    );
    const out = await client.send(new ConverseStreamCommand({ modelId: 'eu.anthropic.claude-3-7-sonnet-20250219-v1:0+eof=3', messages: [{ role: 'user', content: [{ text: 'a b c d e' }] }] }));
    const seen: unknown[] = [];
    const err = await (async () => {
      for await (const e of out.stream!) seen.push(e);
    })().catch((e: unknown) => e as Error);
    expect(seen).toHaveLength(3);
    expect((err as Error).message).toMatch(/terminal event \(messageStop\)/);
  });
});

describe('upstream redirects and server errors', () => {
  it('a 307 is a 502 upstream_error JSON error, never a bare redirect', async () => {
    const r = await post('/v1/chat/completions', keys.openai!, { model: 'test-307', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.status).toBe(502);
    const body = JSON.parse(r.text) as { error: { code: string; type: string; message: string } };
    expect(body.error).toMatchObject({ code: 'upstream_error', type: 'upstream_error' });
    expect(body.error.message).toMatch(/HTTP 307/);
    expect(body.error.message).not.toContain('elsewhere.example');
  });

  it('a 500 is a 502 that keeps the provider message, with code upstream_error', async () => {
    const r = await post('/v1/chat/completions', keys.openai!, { model: 'test-500', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.status).toBe(502);
    expect(JSON.parse(r.text)).toEqual({
      error: { message: 'The server had an error while processing your request. Sorry about that!', type: 'upstream_error', code: 'upstream_error', param: null },
    });
  });
});
