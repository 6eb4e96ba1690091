/**
 * The official OpenAI SDK against the gateway's local runtime, with a wire-faithful
 * OpenAI-compatible upstream behind it.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { replyTo, startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let upstream: OpenAIUpstream;
let gw: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  gw = await startTestGateway({ upstreamUrl: upstream.url });
  client = new OpenAI({ baseURL: `${gw.url}/a/test/openai/v1`, apiKey: gw.key, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
beforeEach(() => upstream.reset());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('chat completions', () => {
  it('plain: the upstream answer comes back unchanged, with the Sluice headers', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say something about rivers' }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe(replyTo('Say something about rivers'));
    expect(data.usage?.prompt_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-sluice-trace-id')).toMatch(UUID);
    expect(response.headers.get('x-sluice-session-id')).toMatch(UUID);
    // The upstream saw the configured credential path, not the gateway key.
    const seen = upstream.requests[0]!;
    expect(seen.path).toBe('/v1/chat/completions');
    expect(JSON.stringify(seen.headers)).not.toContain(gw.key);
  });

  it('streaming with include_usage: every chunk and the usage chunk arrive', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Tell me about the sea' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(replyTo('Tell me about the sea'));
    expect(usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('a client session id is echoed back', async () => {
    const sessionId = '7d0f6f4e-8a53-4a8e-9d55-3b1f3c0a2b11';
    const { response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'X-Sluice-Session-Id': sessionId } })
      .withResponse();
    expect(response.headers.get('x-sluice-session-id')).toBe(sessionId);
  });

  it('tools and streamed tool calls pass through unchanged', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      { type: 'function', function: { name: 'get_weather', description: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
      { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: { tz: { type: 'string' } } } } },
    ];
    const plain = await client.chat.completions.create({ model: 'test-tools', messages: [{ role: 'user', content: 'weather in Paris' }], tools });
    const calls = plain.choices[0]?.message.tool_calls ?? [];
    expect(calls.length).toBeGreaterThan(0);
    expect((upstream.requests[0]!.body as { tools: unknown }).tools).toEqual(tools);

    const runner = client.chat.completions.stream({ model: 'test-tools', messages: [{ role: 'user', content: 'weather in Paris' }], tools });
    const final = await runner.finalChatCompletion();
    const streamed = final.choices[0]?.message.tool_calls ?? [];
    expect(streamed.map((c) => c.type === 'function' && c.function.name)).toEqual(calls.map((c) => c.type === 'function' && c.function.name));
    expect(streamed.map((c) => c.type === 'function' && JSON.parse(c.function.arguments))).toEqual(calls.map((c) => c.type === 'function' && JSON.parse(c.function.arguments)));
  });

  it('unknown fields pass through to the upstream untouched', async () => {
    await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      // @ts-expect-error a parameter the SDK does not know yet
      brand_new_parameter: { nested: [1, 2, 3] },
    });
    expect((upstream.requests[0]!.body as Record<string, unknown>).brand_new_parameter).toEqual({ nested: [1, 2, 3] });
  });
});

describe('other endpoints', () => {
  it('responses: plain and streamed', async () => {
    const plain = await client.responses.create({ model: 'gpt-4o-mini', input: 'Describe a lighthouse' });
    expect(plain.output_text).toBe(replyTo('Describe a lighthouse'));
    const stream = await client.responses.create({ model: 'gpt-4o-mini', input: 'Describe a lighthouse', stream: true });
    let text = '';
    let completed = false;
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') completed = true;
    }
    expect(text).toBe(replyTo('Describe a lighthouse'));
    expect(completed).toBe(true);
  });

  it('embeddings, float and base64', async () => {
    const floats = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'], encoding_format: 'float' });
    expect(floats.data).toHaveLength(2);
    const b64 = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'] });
    expect(b64.data[0]!.embedding).toHaveLength(floats.data[0]!.embedding.length);
    expect(b64.data[0]!.embedding[0]).toBeCloseTo(floats.data[0]!.embedding[0]!, 5);
  });

  it('legacy completions, plain and streamed', async () => {
    const plain = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Once upon a time' });
    expect(plain.choices[0]?.text).toBe(replyTo('Once upon a time'));
    const stream = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Once upon a time', stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe(replyTo('Once upon a time'));
  });

  it('models: the upstream list when the proxy has no allow-list, the allow-list otherwise', async () => {
    const upstreamList = await client.models.list();
    expect(upstreamList.data.length).toBeGreaterThan(0);
    expect(upstream.requests.some((r) => r.path === '/v1/models')).toBe(true);

    await gw.addProxy({ id: 'limited', allowedModels: ['gpt-4o-mini'], modelAliases: { fast: 'gpt-4o-mini' } });
    const { key } = await gw.addKey({ proxyId: 'limited' });
    const limited = new OpenAI({ baseURL: `${gw.url}/a/limited/openai/v1`, apiKey: key, maxRetries: 0 });
    upstream.reset();
    const ids = (await limited.models.list()).data.map((m) => m.id).sort();
    expect(ids).toEqual(['fast', 'gpt-4o-mini']);
    expect(upstream.requests).toHaveLength(0);
    // An alias is resolved before the call; a model outside the list is refused.
    await limited.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'hi' }] });
    expect((upstream.requests[0]!.body as { model: string }).model).toBe('gpt-4o-mini');
    await expect(limited.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
  });

  it('the /v1 base URL takes the proxy from the key', async () => {
    const byKey = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: gw.key, maxRetries: 0 });
    const r = await byKey.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }] });
    expect(r.choices[0]?.message.content).toBe(replyTo('hello there'));
  });
});

describe('errors map to the SDK error classes', () => {
  it('401 AuthenticationError for a bad key', async () => {
    const bad = new OpenAI({ baseURL: `${gw.url}/a/test/openai/v1`, apiKey: 'sk-sluice-not-a-real-key', maxRetries: 0 });
    const err = await bad.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((err as InstanceType<typeof OpenAI.APIError>).headers?.get('x-sluice-trace-id')).toMatch(UUID);
    expect(upstream.requests).toHaveLength(0);
  });

  it('403 PermissionDeniedError for another proxy path', async () => {
    await gw.addProxy({ id: 'other' });
    const wrong = new OpenAI({ baseURL: `${gw.url}/a/other/openai/v1`, apiKey: gw.key, maxRetries: 0 });
    await expect(wrong.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(upstream.requests).toHaveLength(0);
  });

  it('400 BadRequestError for a wrong field type, without calling the upstream', async () => {
    const err = await client.chat.completions
      // @ts-expect-error deliberately wrong type
      .create({ model: 42, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('model');
    expect(upstream.requests).toHaveLength(0);
  });

  it('upstream 400 and 429 keep their status; an upstream 500 becomes a 502 APIError', async () => {
    await expect(client.chat.completions.create({ model: 'test-400', messages: [{ role: 'user', content: 'hi' }] })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    const limited = await client.chat.completions.create({ model: 'test-429', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect((limited as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('retry-after')).toBeTruthy();
    const failed = await client.chat.completions.create({ model: 'test-500', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(OpenAI.APIError);
    expect((failed as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
  });

  it('a stream cut mid-way ends with an error event the SDK raises, never a silent truncation', async () => {
    const stream = await client.chat.completions.create({ model: 'test-cut@after=3', messages: [{ role: 'user', content: 'a long story about mountains and rivers' }], stream: true });
    let received = 0;
    const err = await (async () => {
      for await (const _ of stream) received++;
    })().catch((e: unknown) => e);
    expect(received).toBeGreaterThan(0);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(String((err as Error).message)).toMatch(/interrupted/);
  });
});
