/**
 * The official OpenAI SDK against the gateway with a Bedrock proxy: chat completions go
 * out as Converse / ConverseStream through the real AWS SDK client (SigV4 with test
 * credentials, HTTP/2) to a local Bedrock upstream speaking AWS event-stream.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBedrockClients } from '../../functions/providers/bedrock/transport.js';
import { embeddingFor } from '../support/upstream/content.js';
import { replyTo, sigV4Problem, startBedrockUpstream, TEST_AWS_CREDENTIALS, useTestAwsCredentials, type BedrockUpstream } from '../support/bedrock-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/** Traces are not under test here: dropped in memory, so nothing is still writing files when a gateway stops. */
const quietTraces = { traceSink: { write: async () => undefined } };

let upstream: BedrockUpstream;
let gw: TestGateway;
let client: OpenAI;
const MODEL = 'us.anthropic.claude-sonnet-4-20250514-v1:0';

beforeAll(async () => {
  // The default credential chain reads these, as the Lambda role's credentials are read in AWS.
  useTestAwsCredentials();
  upstream = await startBedrockUpstream({ region: 'eu-west-1' });
  gw = await startTestGateway({ upstreamUrl: upstream.url, proxy: { provider: 'bedrock' }, deps: { ...quietTraces, bedrock: createBedrockClients('eu-west-1') } });
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

const apiError = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as InstanceType<typeof OpenAI.APIError>);

describe('chat completions → Bedrock Converse', () => {
  it('plain: Converse over HTTP/2 with a valid SigV4 signature for the Region; answer translated', async () => {
    const res = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say something about rivers' }] });
    expect(res.choices[0]?.message.content).toBe(replyTo('Say something about rivers'));
    expect(res.choices[0]?.finish_reason).toBe('stop');
    expect(res.usage?.prompt_tokens).toBeGreaterThan(0);
    const seen = upstream.requests[0]!;
    expect(seen.httpVersion).toBe('2.0');
    expect(seen.modelId).toBe(MODEL);
    expect(seen.action).toBe('converse');
    expect(String(seen.headers['authorization'])).toContain('/eu-west-1/bedrock/aws4_request');
    expect(seen.body?.system).toEqual([{ text: 'Be brief.' }]);
    expect(seen.body?.inferenceConfig).toEqual({ maxTokens: 64000 });
  });

  it('the upstream really checks SigV4: a changed body, signature or Region is refused', async () => {
    await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] });
    const { path, headers, rawBody } = upstream.requests[0]!;
    expect(sigV4Problem('POST', path, headers, rawBody, TEST_AWS_CREDENTIALS, 'eu-west-1')).toBeUndefined();
    expect(sigV4Problem('POST', path, headers, Buffer.concat([rawBody, Buffer.from(' ')]), TEST_AWS_CREDENTIALS, 'eu-west-1')).toMatch(/payload hash/);
    expect(sigV4Problem('POST', path, headers, rawBody, { ...TEST_AWS_CREDENTIALS, secretAccessKey: 'other' }, 'eu-west-1')).toMatch(/signature/);
    expect(sigV4Problem('POST', path, headers, rawBody, TEST_AWS_CREDENTIALS, 'us-east-1')).toMatch(/region/);
    // A client signing for another Region is refused end to end (403 from Bedrock → permission_error).
    const other = await startTestGateway({ upstreamUrl: upstream.url, proxy: { provider: 'bedrock' }, deps: { ...quietTraces, bedrock: createBedrockClients('us-west-2') } });
    try {
      const c = new OpenAI({ baseURL: `${other.url}/a/test/openai/v1`, apiKey: other.key, maxRetries: 0 });
      const err = await apiError(c.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }));
      expect(err?.status).toBe(403);
      expect(err?.type).toBe('permission_error');
    } finally {
      await other.close();
    }
  });

  it('an application inference profile ARN is sent as the model id', async () => {
    const arn = 'arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/a1b2c3d4e5f6';
    const res = await client.chat.completions.create({ model: arn, messages: [{ role: 'user', content: 'hi' }] });
    expect(res.choices[0]?.message.content).toBe(replyTo('hi'));
    expect(upstream.requests[0]!.modelId).toBe(arn);
  });

  it('streamed: ConverseStream event-stream frames become chunks; no usage chunk unless asked', async () => {
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Tell me about the sea' }], stream: true });
    let text = '';
    let sawUsage = false;
    const finish: string[] = [];
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? '';
      if (c.choices[0]?.finish_reason) finish.push(c.choices[0].finish_reason);
      if (c.usage) sawUsage = true;
    }
    expect(text).toBe(replyTo('Tell me about the sea'));
    expect(finish).toEqual(['stop']);
    expect(sawUsage).toBe(false);
    expect(upstream.requests[0]!.action).toBe('converse-stream');
  });

  it('streamed with include_usage: usage from the metadata event, cache reads and writes in prompt_tokens', async () => {
    const stream = await client.chat.completions.create({ model: `${MODEL}+cache`, messages: [{ role: 'user', content: 'one two three' }], stream: true, stream_options: { include_usage: true } });
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const c of stream) if (c.usage) usage = c.usage;
    expect(usage?.prompt_tokens).toBe(3 + 100 + 20);
    expect(usage?.prompt_tokens_details?.cached_tokens).toBe(100);
  });

  it('streamed tool calls after text: dense 0-based indices (never contentBlockIndex), arguments on the right call', async () => {
    const runner = client.chat.completions.stream({ model: `${MODEL}+text-tool`, messages: [{ role: 'user', content: 'weather in Paris' }], tools });
    const indices: number[] = [];
    runner.on('chunk', (c) => {
      for (const call of c.choices[0]?.delta?.tool_calls ?? []) indices.push(call.index);
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

  it('a tool round trip without tools on the follow-up: toolConfig is synthesized from the history', async () => {
    const first = await client.chat.completions.create({ model: `${MODEL}+tools`, messages: [{ role: 'user', content: 'weather in Paris' }], tools, tool_choice: 'required' });
    expect((upstream.requests[0]!.body?.toolConfig as { toolChoice: unknown }).toolChoice).toEqual({ any: {} });
    const calls = first.choices[0]!.message.tool_calls!;
    const second = await client.chat.completions.create({
      model: MODEL,
      messages: [
        { role: 'user', content: 'weather in Paris' },
        first.choices[0]!.message as OpenAI.ChatCompletionMessageParam,
        ...calls.map((c) => ({ role: 'tool' as const, tool_call_id: c.id, content: `result for ${c.id}` })),
      ],
    });
    expect(second.choices[0]!.message.content).toContain('result for');
    const tc = upstream.requests[1]!.body?.toolConfig as { tools: Array<{ toolSpec: { name: string } }> };
    expect(tc.tools.map((t) => t.toolSpec.name).sort()).toEqual(['get_time', 'get_weather']);
  });

  it('tool_choice "none": no tools are offered and the model answers in text', async () => {
    const res = await client.chat.completions.create({ model: `${MODEL}+tools`, messages: [{ role: 'user', content: 'weather in Paris' }], tools, tool_choice: 'none' });
    expect(upstream.requests[0]!.body?.toolConfig).toBeUndefined();
    expect(res.choices[0]!.message.tool_calls).toBeUndefined();
    expect(res.choices[0]!.finish_reason).toBe('stop');
  });

  it('a conversation that starts with an assistant turn and has consecutive user turns is normalized', async () => {
    const res = await client.chat.completions.create({
      model: MODEL,
      messages: [
        { role: 'assistant', content: 'Hello, how can I help?' },
        { role: 'user', content: 'first' },
        { role: 'user', content: 'second' },
      ],
    });
    expect(res.choices[0]!.message.content).toBe(replyTo('first second'));
    const sent = upstream.requests[0]!.body!.messages as Array<{ role: string; content: unknown[] }>;
    expect(sent.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(sent[2]!.content).toEqual([{ text: 'first' }, { text: 'second' }]);
  });

  it('guardrail_intervened and content_filtered → finish_reason content_filter, plain and streamed', async () => {
    for (const s of ['guardrail', 'filtered']) {
      const plain = await client.chat.completions.create({ model: `${MODEL}+${s}`, messages: [{ role: 'user', content: 'x' }] });
      expect(plain.choices[0]!.finish_reason).toBe('content_filter');
      const stream = await client.chat.completions.create({ model: `${MODEL}+${s}`, messages: [{ role: 'user', content: 'x' }], stream: true });
      const finish: string[] = [];
      for await (const c of stream) if (c.choices[0]?.finish_reason) finish.push(c.choices[0].finish_reason);
      expect(finish).toEqual(['content_filter']);
    }
  });

  it('a 200 without output is a 502, not an empty answer', async () => {
    const err = await apiError(client.chat.completions.create({ model: `${MODEL}+no-output`, messages: [{ role: 'user', content: 'x' }] }));
    expect(err?.status).toBe(502);
    expect(err?.code).toBe('upstream_invalid_response');
  });

  it('errors: throttling → 429 with Retry-After; too-long input → 400 context_length_exceeded; unavailable → 503', async () => {
    const throttled = await apiError(client.chat.completions.create({ model: `${MODEL}+error=ThrottlingException`, messages: [{ role: 'user', content: 'x' }] }));
    expect(throttled?.status).toBe(429);
    expect(throttled?.headers?.get('retry-after')).toBeTruthy();
    const long = await apiError(client.chat.completions.create({ model: `${MODEL}+error=ValidationException+context`, messages: [{ role: 'user', content: 'x' }] }));
    expect(long?.status).toBe(400);
    expect(long?.code).toBe('context_length_exceeded');
    const down = await apiError(client.chat.completions.create({ model: `${MODEL}+error=ServiceUnavailableException`, messages: [{ role: 'user', content: 'x' }] }));
    expect(down?.status).toBe(503);
  });

  it('a mid-stream exception ends the stream with an OpenAI error event and [DONE]', async () => {
    const res = await fetch(`${gw.url}/a/test/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: `${MODEL}+stream-error=3`, messages: [{ role: 'user', content: 'a b c d e f' }], stream: true }),
    });
    const events = (await res.text()).split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    expect(JSON.parse(events.at(-2)!.slice(6))).toMatchObject({ error: { type: 'rate_limit_error' } });
  });

  it('a remote image URL is refused with a 400 (never fetched); a data: URL is sent as bytes', async () => {
    const err = await apiError(client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }] }));
    expect(err?.status).toBe(400);
    expect(err?.code).toBe('invalid_image_url');
    expect(upstream.requests).toHaveLength(0);
    await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: [{ type: 'text', text: 'see' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] }] });
    const content = (upstream.requests[0]!.body!.messages as Array<{ content: unknown[] }>)[0]!.content;
    expect(content[1]).toEqual({ image: { format: 'png', source: { bytes: 'iVBORw0KGgo=' } } });
  });

  it('legacy completions are a clear 400 on a Bedrock proxy', async () => {
    const err = await apiError(client.completions.create({ model: MODEL, prompt: 'x' }));
    expect(err?.status).toBe(400);
    expect(err?.code).toBe('unsupported_endpoint');
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('embeddings → Bedrock InvokeModel', () => {
  it('Titan v2: one call per input, in order, with dimensions; usage from inputTextTokenCount', async () => {
    const res = await client.embeddings.create({ model: 'amazon.titan-embed-text-v2:0', input: ['one two', 'three', 'four five six'], dimensions: 256 });
    expect(res.data.map((d) => d.index)).toEqual([0, 1, 2]);
    expect(res.data.map((d) => d.embedding.length)).toEqual([256, 256, 256]);
    expect(res.data[1]!.embedding).toEqual(embeddingFor('three', 256));
    expect(res.usage.prompt_tokens).toBe(6);
    expect(upstream.requests.map((r) => (r.body as { inputText: string }).inputText).sort()).toEqual(['four five six', 'one two', 'three']);
    expect(upstream.requests[0]!.body).toMatchObject({ dimensions: 256, normalize: true });
  });

  it('Cohere v3: the texts in one call; base64 encoding as OpenAI packs it', async () => {
    const res = await client.embeddings.create({ model: 'cohere.embed-english-v3', input: ['alpha', 'beta'], encoding_format: 'float' });
    expect(res.data[1]!.embedding).toEqual(embeddingFor('beta', 1024));
    expect(upstream.requests).toHaveLength(1);
    expect(upstream.requests[0]!.body).toEqual({ texts: ['alpha', 'beta'], input_type: 'search_document' });
    // The OpenAI SDK asks for base64 by default and decodes it.
    const b64 = await client.embeddings.create({ model: 'cohere.embed-english-v3', input: 'gamma' });
    expect(b64.data[0]!.embedding).toEqual(embeddingFor('gamma', 1024));
  });

  it('an embedding model Bedrock serves differently is a clear 400; dimensions on Cohere too', async () => {
    const err = await apiError(client.embeddings.create({ model: 'amazon.nova-2-multimodal-embeddings-v1:0', input: 'x' }));
    expect(err?.status).toBe(400);
    expect(err?.code).toBe('unsupported_model');
    const dims = await apiError(client.embeddings.create({ model: 'cohere.embed-english-v3', input: 'x', dimensions: 256 }));
    expect(dims?.code).toBe('unsupported_parameter');
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('native Anthropic Messages on a Bedrock proxy (Claude through InvokeModel)', () => {
  it('the Anthropic SDK works unchanged: plain, streamed with tools, errors Anthropic-shaped', async () => {
    const { default: Anthropic } = await import('@anthropic-ai/sdk');
    const anthropic = new Anthropic({ baseURL: `${gw.url}/a/test/anthropic`, apiKey: gw.key, maxRetries: 0 });
    const plain = await anthropic.messages.create({ model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: 'Say something about rivers' }] });
    expect(plain.content).toEqual([{ type: 'text', text: replyTo('Say something about rivers') }]);
    const seen = upstream.requests[0]!;
    expect(seen.action).toBe('invoke');
    expect(seen.body).toMatchObject({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 100 });
    expect(seen.body).not.toHaveProperty('model');

    const final = await anthropic.messages
      .stream({
        model: `${MODEL}+tools`,
        max_tokens: 100,
        messages: [{ role: 'user', content: 'weather in Oslo' }],
        tools: [{ name: 'weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
      })
      .finalMessage();
    expect(final.content[0]).toMatchObject({ type: 'tool_use', name: 'weather', input: { city: 'weather in Oslo' } });
    expect(final.stop_reason).toBe('tool_use');
    expect(upstream.requests[1]!.action).toBe('invoke-with-response-stream');

    const counted = await anthropic.messages.countTokens({ model: MODEL, system: 'Be brief.', messages: [{ role: 'user', content: 'one two three' }] });
    expect(counted.input_tokens).toBe(5);
    expect(upstream.requests.at(-1)!.action).toBe('count-tokens');

    const err = await anthropic.messages.create({ model: `${MODEL}+error=ThrottlingException`, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect((err as InstanceType<typeof Anthropic.RateLimitError>).error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });

  });

  it('other Bedrock models on the Anthropic endpoint go through Converse and come back as Messages', async () => {
    const { default: Anthropic } = await import('@anthropic-ai/sdk');
    const anthropic = new Anthropic({ baseURL: `${gw.url}/a/test/anthropic`, apiKey: gw.key, maxRetries: 0 });
    const nova = 'amazon.nova-pro-v1:0';
    const plain = await anthropic.messages.create({ model: nova, max_tokens: 10, system: 'Be brief.', messages: [{ role: 'user', content: 'Say something about rivers' }] });
    expect(plain.content).toEqual([{ type: 'text', text: replyTo('Say something about rivers') }]);
    expect(plain.usage.input_tokens).toBe(6);
    expect(upstream.requests[0]!.action).toBe('converse');
    expect(upstream.requests[0]!.body?.system).toEqual([{ text: 'Be brief.' }]);

    const tools = [{ name: 'weather', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } }];
    const streamed = await anthropic.messages.stream({ model: `${nova}+text-tool`, max_tokens: 50, messages: [{ role: 'user', content: 'weather in Oslo' }], tools }).finalMessage();
    expect(streamed.content.map((b) => b.type)).toEqual(['text', 'tool_use']);
    expect(streamed.content[0]).toMatchObject({ text: 'Let me check. One moment.' });
    expect(streamed.content[1]).toMatchObject({ name: 'weather', input: { city: 'weather in Oslo' } });
    expect(streamed.stop_reason).toBe('tool_use');
    expect(streamed.usage.output_tokens).toBeGreaterThan(0);

    const count = await anthropic.messages.countTokens({ model: nova, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(count).toBeInstanceOf(Anthropic.BadRequestError);
  });
});
