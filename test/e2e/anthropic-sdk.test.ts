/**
 * The official Anthropic SDK against the gateway's native Anthropic ingress
 * (`/a/{proxyId}/anthropic`), only its base URL changed: requests pass through to a
 * wire-faithful Anthropic upstream, errors come back Anthropic-shaped.
 */
import Anthropic from '@anthropic-ai/sdk';
import type { TraceRecord } from '../../functions/traces/recorder.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { replyTo, startAnthropicUpstream, type AnthropicUpstream } from '../support/anthropic-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { traceIn } from '../support/traces.js';

const PROVIDER_KEY = 'sk-ant-provider-key-for-tests';
let upstream: AnthropicUpstream;
let gw: TestGateway;
let client: Anthropic;
const traces: TraceRecord[] = [];
const memorySink = { traceSink: { write: async ({ record }: { record: TraceRecord }) => void traces.push(record) } };

beforeAll(async () => {
  upstream = await startAnthropicUpstream({ apiKey: PROVIDER_KEY });
  // Traces kept in memory: read without polling files, and nothing is left writing when the gateway stops.
  gw = await startTestGateway({ upstreamUrl: upstream.url, proxy: { provider: 'anthropic', credentialRef: 'env:ANTHROPIC_TEST_KEY' }, env: { ANTHROPIC_TEST_KEY: PROVIDER_KEY }, deps: memorySink });
  client = new Anthropic({ baseURL: `${gw.url}/a/test/anthropic`, apiKey: gw.key, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
beforeEach(() => upstream.reset());

/** The trace record of a finished request, waited for (persistence runs after the body). */
async function traceWhere(match: (r: TraceRecord) => boolean): Promise<TraceRecord> {
  const r = await traceIn(traces, match);
  if (!r) throw new Error('no matching trace record');
  return r;
}

describe('native Anthropic Messages through the gateway', () => {
  it('messages.create: passed through; the gateway key never reaches Anthropic, the provider key does', async () => {
    const { data, response } = await client.messages
      .create({ model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user', content: 'Say something about rivers' }] })
      .withResponse();
    expect(data.content).toEqual([{ type: 'text', text: replyTo('Say something about rivers') }]);
    expect(data.stop_reason).toBe('end_turn');
    expect(response.headers.get('x-sluice-trace-id')).toMatch(/^[0-9a-f-]{36}$/);
    const seen = upstream.requests[0]!;
    expect(seen.path).toBe('/v1/messages');
    expect(seen.headers['x-api-key']).toBe(PROVIDER_KEY);
    expect(JSON.stringify(seen.headers)).not.toContain(gw.key);
    // The SDK's own API version is forwarded, not replaced.
    expect(seen.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    // The body went through unchanged.
    expect(seen.body).toEqual({ model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user', content: 'Say something about rivers' }] });
  });

  it('messages.stream: SSE events pass through; tool use and thinking arrive; usage is traced', async () => {
    const stream = client.messages.stream({
      model: 'claude-sonnet-4-6+thinking+tools',
      max_tokens: 2000,
      messages: [{ role: 'user', content: 'weather in Oslo' }],
      tools: [{ name: 'weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
    });
    const final = await stream.finalMessage();
    expect(final.content.map((b) => b.type)).toEqual(['thinking', 'tool_use']);
    expect(final.content[1]).toMatchObject({ type: 'tool_use', name: 'weather', input: { city: 'weather in Oslo' } });
    expect(final.stop_reason).toBe('tool_use');
    const trace = await traceWhere((r) => String(r.attributes?.modelRequested).includes('+thinking+tools'));
    expect(trace.attributes.usage).toMatchObject({ completionTokens: final.usage.output_tokens });
  });

  it('messages.countTokens goes to /v1/messages/count_tokens', async () => {
    const res = await client.messages.countTokens({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'one two three four' }] });
    expect(res.input_tokens).toBe(4);
    expect(upstream.requests[0]!.path).toBe('/v1/messages/count_tokens');
  });

  it('provider errors pass through Anthropic-shaped with their status (429 keeps retry-after, 529 stays 529)', async () => {
    const limited = await client.messages.create({ model: 'claude+error=429', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    const e = limited as InstanceType<typeof Anthropic.RateLimitError>;
    expect(e.headers?.get('retry-after')).toBe('7');
    expect(e.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    const overloaded = (await client.messages.create({ model: 'claude+error=529', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
    expect(overloaded.status).toBe(529);
    expect(overloaded.error).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
  });

  it('gateway errors are Anthropic-shaped too: a bad key is a 401 authentication_error', async () => {
    const bad = new Anthropic({ baseURL: `${gw.url}/a/test/anthropic`, apiKey: 'sk-sluice-not-a-real-key', maxRetries: 0 });
    const err = await bad.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((err as InstanceType<typeof Anthropic.AuthenticationError>).error).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    expect(upstream.requests).toHaveLength(0);
  });

  it('a missing max_tokens is a 400 invalid_request_error before the upstream', async () => {
    const res = await fetch(`${gw.url}/a/test/anthropic/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': gw.key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('max_tokens') } });
  });

  it('a mid-stream upstream error event reaches the SDK as an error', async () => {
    const stream = client.messages.stream({ model: 'claude-sonnet-4-6+stream-error=4', max_tokens: 100, messages: [{ role: 'user', content: 'a b c d e' }] });
    await expect(stream.finalMessage()).rejects.toThrow(/Overloaded/);
  });

  it('BYOK: the caller’s Anthropic key in x-api-key, the gateway key in X-Sluice-Key', async () => {
    await gw.addProxy({ id: 'byok', provider: 'anthropic', byok: true });
    const { key } = await gw.addKey({ proxyId: 'byok' });
    const byok = new Anthropic({ baseURL: `${gw.url}/a/byok/anthropic`, apiKey: PROVIDER_KEY, defaultHeaders: { 'X-Sluice-Key': key }, maxRetries: 0 });
    const res = await byok.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    expect(res.content[0]).toMatchObject({ type: 'text' });
    expect(upstream.requests[0]!.headers['x-api-key']).toBe(PROVIDER_KEY);
    expect(JSON.stringify(upstream.requests[0]!.headers)).not.toContain(key);
  });
});

describe('native Anthropic Messages on an OpenAI-compatible proxy (translated)', () => {
  it('plain, streamed, tools and errors: the Anthropic SDK works against an OpenAI upstream', async () => {
    const { startOpenAIUpstream, replyTo: openaiReply } = await import('../support/openai-upstream.js');
    const oai = await startOpenAIUpstream();
    const other = await startTestGateway({ upstreamUrl: oai.url, deps: memorySink });
    try {
      const sdk = new Anthropic({ baseURL: `${other.url}/a/test/anthropic`, apiKey: other.key, maxRetries: 0 });
      const plain = await sdk.messages.create({ model: 'gpt-4o-mini', max_tokens: 50, system: 'Be brief.', messages: [{ role: 'user', content: 'Say something about rivers' }] });
      expect(plain.content).toEqual([{ type: 'text', text: openaiReply('Say something about rivers') }]);
      expect(plain.stop_reason).toBe('end_turn');
      expect(plain.usage.input_tokens).toBeGreaterThan(0);
      expect(oai.requests[0]!.path).toBe('/v1/chat/completions');
      expect(oai.requests[0]!.body).toMatchObject({ model: 'gpt-4o-mini', max_tokens: 50, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say something about rivers' }] });

      const text = await sdk.messages.stream({ model: 'gpt-4o-mini', max_tokens: 50, messages: [{ role: 'user', content: 'Tell me about the sea' }] }).finalText();
      expect(text).toBe(openaiReply('Tell me about the sea'));

      const tools = [
        { name: 'get_weather', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } },
        { name: 'get_time', input_schema: { type: 'object' as const, properties: { tz: { type: 'string' } } } },
      ];
      const streamed = await sdk.messages.stream({ model: 'test-tools', max_tokens: 50, messages: [{ role: 'user', content: 'weather in Paris' }], tools, tool_choice: { type: 'any' } }).finalMessage();
      expect(streamed.stop_reason).toBe('tool_use');
      expect(streamed.content.map((b) => b.type === 'tool_use' && b.name)).toEqual(['get_weather', 'get_time']);
      expect((oai.requests.at(-1)!.body as { tool_choice: unknown }).tool_choice).toBe('required');
      const plainTools = await sdk.messages.create({ model: 'test-tools', max_tokens: 50, messages: [{ role: 'user', content: 'weather in Paris' }], tools });
      expect(streamed.content.map((b) => b.type === 'tool_use' && b.input)).toEqual(plainTools.content.map((b) => b.type === 'tool_use' && b.input));

      const err = await sdk.messages.create({ model: 'test-429', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.RateLimitError);
      expect((err as InstanceType<typeof Anthropic.RateLimitError>).error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    } finally {
      await other.close();
      await oai.close();
    }
  });
  it('reasoning models (gpt-5*, o-series): max_completion_tokens reaches the upstream; a non-default temperature is a 400 before it', async () => {
    const { startOpenAIUpstream, replyTo: openaiReply } = await import('../support/openai-upstream.js');
    const oai = await startOpenAIUpstream();
    const other = await startTestGateway({ upstreamUrl: oai.url, deps: memorySink });
    try {
      const sdk = new Anthropic({ baseURL: `${other.url}/a/test/anthropic`, apiKey: other.key, maxRetries: 0 });
      // The fake upstream refuses max_tokens on these models with OpenAI's own 400 (test/support/upstream/wire.ts).
      // This SDK's types no longer list temperature (Anthropic's API still takes it, older SDKs send it): cast.
      const plain = await sdk.messages.create({ model: 'gpt-5-mini', max_tokens: 50, temperature: 1, messages: [{ role: 'user', content: 'Say something about rivers' }] } as Anthropic.MessageCreateParamsNonStreaming);
      expect(plain.content).toEqual([{ type: 'text', text: openaiReply('Say something about rivers') }]);
      expect(oai.requests[0]!.body).toMatchObject({ model: 'gpt-5-mini', max_completion_tokens: 50 });
      expect(oai.requests[0]!.body).not.toHaveProperty('max_tokens');
      expect(oai.requests[0]!.body).not.toHaveProperty('temperature');

      const streamed = await sdk.messages
        .stream({ model: 'o4-mini', max_tokens: 3000, thinking: { type: 'enabled', budget_tokens: 2000 }, messages: [{ role: 'user', content: 'Tell me about the sea' }] })
        .finalText();
      expect(streamed).toBe(openaiReply('Tell me about the sea'));
      expect(oai.requests[1]!.body).toMatchObject({ model: 'o4-mini', max_completion_tokens: 3000, reasoning_effort: 'medium', stream: true });

      const refused = await sdk.messages.create({ model: 'o3', max_tokens: 50, temperature: 0.2, messages: [{ role: 'user', content: 'x' }] } as Anthropic.MessageCreateParamsNonStreaming).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(Anthropic.BadRequestError);
      expect((refused as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining("'temperature'") } });
      expect(oai.requests).toHaveLength(2);

      // A chat model keeps max_tokens and its temperature.
      await sdk.messages.create({ model: 'gpt-4o-mini', max_tokens: 20, temperature: 0.2, messages: [{ role: 'user', content: 'x' }] } as Anthropic.MessageCreateParamsNonStreaming);
      // output_config.effort (this SDK's effort control) becomes reasoning_effort on a reasoning model.
      await sdk.messages.create({ model: 'gpt-5', max_tokens: 20, output_config: { effort: 'low' }, messages: [{ role: 'user', content: 'x' }] });
      expect(oai.requests[3]!.body).toMatchObject({ model: 'gpt-5', max_completion_tokens: 20, reasoning_effort: 'low' });
      expect(oai.requests[3]!.body).not.toHaveProperty('output_config');
      expect(oai.requests[2]!.body).toMatchObject({ model: 'gpt-4o-mini', max_tokens: 20, temperature: 0.2 });
    } finally {
      await other.close();
      await oai.close();
    }
  });
});
