/**
 * The official OpenAI SDK against the gateway with an Anthropic proxy: chat completions
 * translated to the Messages API and back, plain and streamed, against a wire-faithful
 * Anthropic upstream.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { replyTo, startAnthropicUpstream, type AnthropicUpstream } from '../support/anthropic-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/** Traces are not under test here: dropped in memory, so nothing is still writing files when a gateway stops. */
const quietTraces = { traceSink: { write: async () => undefined } };

let upstream: AnthropicUpstream;
let gw: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startAnthropicUpstream({ apiKey: 'sk-ant-test-key' });
  gw = await startTestGateway({ upstreamUrl: upstream.url, proxy: { provider: 'anthropic', credentialRef: 'env:ANTHROPIC_TEST_KEY' }, env: { ANTHROPIC_TEST_KEY: 'sk-ant-test-key' }, deps: quietTraces });
  client = new OpenAI({ baseURL: `${gw.url}/a/test/openai/v1`, apiKey: gw.key, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
beforeEach(() => upstream.reset());

const tools: OpenAI.ChatCompletionTool[] = [
  { type: 'function', function: { name: 'get_weather', description: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
  { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: { tz: { type: 'string' } } } } },
];

describe('chat completions → Anthropic Messages', () => {
  it('plain: translated both ways, with x-api-key, anthropic-version and a default max_tokens', async () => {
    const res = await client.chat.completions.create({
      model: 'claude-sonnet-4-5',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'developer', content: 'Answer in English.' },
        { role: 'user', content: 'Say something about rivers' },
      ],
    });
    expect(res.choices[0]?.message.content).toBe(replyTo('Say something about rivers'));
    expect(res.choices[0]?.finish_reason).toBe('stop');
    expect(res.object).toBe('chat.completion');
    expect(res.usage?.prompt_tokens).toBeGreaterThan(0);
    const seen = upstream.requests[0]!;
    expect(seen.path).toBe('/v1/messages');
    expect(seen.headers['x-api-key']).toBe('sk-ant-test-key');
    expect(seen.headers['anthropic-version']).toBe('2023-06-01');
    expect(seen.headers['authorization']).toBeUndefined();
    expect(seen.body?.max_tokens).toBe(64000);
    expect(seen.body?.system).toEqual([
      { type: 'text', text: 'Be brief.' },
      { type: 'text', text: 'Answer in English.' },
    ]);
  });

  it('streamed: text arrives chunk by chunk, finish_reason stop, no usage chunk unless asked', async () => {
    const stream = await client.chat.completions.create({ model: 'claude-3-5-haiku', messages: [{ role: 'user', content: 'Tell me about the sea' }], stream: true });
    let text = '';
    const finish: (string | null | undefined)[] = [];
    let sawUsage = false;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.choices[0]?.finish_reason) finish.push(chunk.choices[0].finish_reason);
      if (chunk.usage) sawUsage = true;
    }
    expect(text).toBe(replyTo('Tell me about the sea'));
    expect(finish).toEqual(['stop']);
    expect(sawUsage).toBe(false);
    expect(upstream.requests[0]!.body?.max_tokens).toBe(8192);
  });

  it('streamed with include_usage: the usage chunk carries cache reads and writes in prompt_tokens', async () => {
    const stream = await client.chat.completions.create({
      model: 'claude-sonnet-4-5+cache',
      messages: [{ role: 'user', content: 'one two three' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expect(usage?.prompt_tokens).toBe(3 + 100 + 20);
    expect(usage?.prompt_tokens_details?.cached_tokens).toBe(100);
    expect(usage?.total_tokens).toBe((usage?.prompt_tokens ?? 0) + (usage?.completion_tokens ?? 0));
  });

  it('streamed parallel tool calls: dense 0-based indices, arguments on the right call, finish_reason tool_calls', async () => {
    const runner = client.chat.completions.stream({ model: 'claude-sonnet-4-5+text-tool', messages: [{ role: 'user', content: 'weather in Paris' }], tools });
    const indices: number[] = [];
    runner.on('chunk', (chunk) => {
      for (const call of chunk.choices[0]?.delta?.tool_calls ?? []) indices.push(call.index);
    });
    const final = await runner.finalChatCompletion();
    const message = final.choices[0]!.message;
    expect(message.content).toBe('Let me check. One moment.');
    expect(message.tool_calls?.map((c) => c.type === 'function' && [c.function.name, JSON.parse(c.function.arguments)])).toEqual([
      ['get_weather', { city: 'weather in Paris' }],
      ['get_time', { tz: 'weather in Paris' }],
    ]);
    expect(new Set(indices)).toEqual(new Set([0, 1]));
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
  });

  it('a tool round trip: tool results go back as tool_result blocks answering the tool_use ids', async () => {
    const first = await client.chat.completions.create({ model: 'claude-sonnet-4-5+tools', messages: [{ role: 'user', content: 'weather in Paris' }], tools, tool_choice: 'required' });
    const calls = first.choices[0]!.message.tool_calls!;
    expect(upstream.requests[0]!.body?.tool_choice).toEqual({ type: 'any' });
    const second = await client.chat.completions.create({
      model: 'claude-sonnet-4-5',
      messages: [
        { role: 'user', content: 'weather in Paris' },
        first.choices[0]!.message as OpenAI.ChatCompletionMessageParam,
        ...calls.map((c) => ({ role: 'tool' as const, tool_call_id: c.id, content: `result for ${c.id}` })),
      ],
      tools,
    });
    expect(second.choices[0]!.message.content).toContain('result for');
    const sent = upstream.requests[1]!.body!.messages as Array<{ role: string; content: Array<{ type: string; tool_use_id?: string }> }>;
    expect(sent.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(sent[2]!.content.map((b) => b.tool_use_id)).toEqual(calls.map((c) => c.id));
  });

  it('thinking blocks round-trip with their signatures across a tool turn (signature-only block included)', async () => {
    const first = await client.chat.completions.create({ model: 'claude-sonnet-4-5+thinking+signature-only+tools', messages: [{ role: 'user', content: 'weather in Paris' }], tools, reasoning_effort: 'low' });
    const message = first.choices[0]!.message as OpenAI.ChatCompletionMessage & { thinking_blocks?: Array<{ type: string; thinking?: string; signature?: string }>; reasoning_content?: string };
    expect(upstream.requests[0]!.body?.thinking).toEqual({ type: 'enabled', budget_tokens: 1024 });
    expect(message.reasoning_content).toBe('Thinking about weather in Paris');
    expect(message.thinking_blocks).toEqual([
      { type: 'thinking', thinking: 'Thinking about weather in Paris', signature: 'sig-1-abc' },
      { type: 'thinking', thinking: '', signature: 'sig-only-1' },
    ]);
    const calls = message.tool_calls!;
    await client.chat.completions.create({
      model: 'claude-sonnet-4-5+thinking',
      messages: [
        { role: 'user', content: 'weather in Paris' },
        message as OpenAI.ChatCompletionMessageParam,
        ...calls.map((c) => ({ role: 'tool' as const, tool_call_id: c.id, content: 'sunny' })),
      ],
      tools,
    });
    // The upstream checks signatures and order; here is what it was sent.
    const assistant = (upstream.requests[1]!.body!.messages as Array<{ role: string; content: Array<{ type: string; signature?: string }> }>)[1]!;
    expect(assistant.content.map((b) => [b.type, b.signature])).toEqual([
      ['thinking', 'sig-1-abc'],
      ['thinking', 'sig-only-1'],
      ['tool_use', undefined],
      ['tool_use', undefined],
    ]);
  });

  it('tool_choice "none" is sent as none and no tool is called', async () => {
    const res = await client.chat.completions.create({ model: 'claude-sonnet-4-5+tools', messages: [{ role: 'user', content: 'weather in Paris' }], tools, tool_choice: 'none' });
    expect(upstream.requests[0]!.body?.tool_choice).toEqual({ type: 'none' });
    expect(res.choices[0]!.message.tool_calls).toBeUndefined();
    expect(res.choices[0]!.finish_reason).toBe('stop');
  });

  it('temperature above 1 is a 400 naming the range; the upstream is never called', async () => {
    const err = await client.chat.completions.create({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }], temperature: 1.5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).message).toMatch(/between 0 and 1/);
    expect(upstream.requests).toHaveLength(0);
  });

  it('rate limit → 429 with Retry-After; overloaded 529 → 503; context length → 400 context_length_exceeded', async () => {
    const limited = (await client.chat.completions.create({ model: 'claude+error=429', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(limited.status).toBe(429);
    expect(limited.headers?.get('retry-after')).toBe('7');
    expect(limited.type).toBe('rate_limit_error');
    const overloaded = (await client.chat.completions.create({ model: 'claude+error=529', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(overloaded.status).toBe(503);
    expect(overloaded.code).toBe('overloaded');
    const long = (await client.chat.completions.create({ model: 'claude+error=400+context', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(long.status).toBe(400);
    expect(long.code).toBe('context_length_exceeded');
  });

  it('a mid-stream error event ends the stream with an OpenAI error event and [DONE]', async () => {
    const res = await fetch(`${gw.url}/a/test/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5+stream-error=5', messages: [{ role: 'user', content: 'a b c d e f g' }], stream: true }),
    });
    const text = await res.text();
    const events = text.split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    const error = JSON.parse(events.at(-2)!.slice('data: '.length)) as { error: { type: string; code: string } };
    expect(error.error).toMatchObject({ type: 'service_unavailable', code: 'overloaded' });
  });

  it('a cut upstream stream ends with an error event and [DONE], never silently', async () => {
    const res = await fetch(`${gw.url}/a/test/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5+cut=4', messages: [{ role: 'user', content: 'a b c d e f g' }], stream: true }),
    });
    const events = (await res.text()).split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    expect(events.at(-2)).toContain('stream_interrupted');
  });

  it('images: a data: URL becomes a base64 source, an https URL a url source', async () => {
    await client.chat.completions.create({
      model: 'claude-sonnet-4-5',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is this' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
          ],
        },
      ],
    });
    const content = (upstream.requests[0]!.body!.messages as Array<{ content: unknown[] }>)[0]!.content;
    expect(content.slice(1)).toEqual([
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
    ]);
  });

  it('embeddings and legacy completions are a clear 400 on an Anthropic proxy', async () => {
    const err = (await client.embeddings.create({ model: 'claude-sonnet-4-5', input: 'x' }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(400);
    expect(err.code).toBe('unsupported_endpoint');
    const err2 = (await client.completions.create({ model: 'claude-sonnet-4-5', prompt: 'x' }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err2.status).toBe(400);
    expect(upstream.requests).toHaveLength(0);
  });
});
