/**
 * Azure OpenAI through the gateway with the official `openai` SDK: deployment-scoped
 * paths with api-version, the key in `api-key`, Azure's filter annotations passed through,
 * content-filter refusals and Azure errors mapped to OpenAI's, usage metered.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TraceRecord } from '../../functions/traces/recorder.js';
import { startAzureUpstream, type AzureUpstream } from '../support/azure-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { apiErrorOf } from '../support/api-error.js';
import { traceIn } from '../support/traces.js';

const AZURE_KEY = 'azure-test-key-0123456789abcdef';
let upstream: AzureUpstream;
let gw: TestGateway;
let client: OpenAI;
const traces: TraceRecord[] = [];

beforeAll(async () => {
  upstream = await startAzureUpstream({ apiKey: AZURE_KEY, deployments: { 'chat-deploy': 'gpt-4o-2024-11-20', 'embed-deploy': 'text-embedding-3-small', 'gpt-4o-mini': 'gpt-4o-mini-2024-07-18' } });
  gw = await startTestGateway({
    upstreamUrl: `${upstream.url}/openai`,
    proxy: { provider: 'azure-openai', credentialRef: 'env:AZURE_OPENAI_KEY', modelAliases: { 'gpt-4o': 'chat-deploy', 'text-embedding-3-small': 'embed-deploy' } },
    env: { AZURE_OPENAI_KEY: AZURE_KEY, WRONG_AZURE_KEY: 'not-the-key' },
    deps: { traceSink: { write: async ({ record }) => void traces.push(record) } },
  });
  client = new OpenAI({ baseURL: `${gw.url}/a/test/openai/v1`, apiKey: gw.key, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
beforeEach(() => upstream.reset());

const traced = (traceId: string) => traceIn(traces, traceId);

describe('Azure OpenAI chat', () => {
  it('plain: the deployment path with api-version, the key in api-key, filter annotations passed through', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello there' }] }).withResponse();
    expect(data.choices[0]!.message.content).toBe('Azure says: hello there');
    expect((data as unknown as { prompt_filter_results: unknown[] }).prompt_filter_results).toHaveLength(1);
    expect((data.choices[0] as unknown as { content_filter_results: Record<string, unknown> }).content_filter_results.violence).toEqual({ filtered: false, severity: 'safe' });
    const req = upstream.requests[0]!;
    expect(req.path).toBe('/openai/deployments/chat-deploy/chat/completions');
    expect(req.query).toBe('api-version=2024-10-21');
    expect(req.headers['api-key']).toBe(AZURE_KEY);
    expect(req.headers['authorization']).toBeUndefined();
    const trace = await traced(response.headers.get('x-sluice-trace-id')!);
    expect(trace?.attributes.provider).toBe('azure-openai');
    expect((trace?.attributes.usage as { promptTokens?: number } | undefined)?.promptTokens).toBe(2);
  });

  it('streamed: the prompt_filter_results chunk (choices: []) reaches the client unchanged, usage metered but not shown', async () => {
    const { data: stream, response } = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'one two three' }], stream: true }).withResponse();
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    const first = chunks[0] as unknown as Record<string, unknown>;
    expect(first.choices).toEqual([]);
    expect(first.id).toBe('');
    expect(first.prompt_filter_results).toEqual([{ prompt_index: 0, content_filter_results: expect.objectContaining({ jailbreak: { filtered: false, detected: false } }) }]);
    expect('usage' in first).toBe(false);
    expect(chunks.slice(1).map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Azure says: one two three');
    expect(chunks.some((c) => c.usage)).toBe(false);
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('stop');
    // The gateway asked Azure for usage on the client's behalf.
    expect((upstream.requests[0]!.body as { stream_options?: unknown }).stream_options).toEqual({ include_usage: true });
    const usage = (await traced(response.headers.get('x-sluice-trace-id')!))?.attributes.usage as { promptTokens: number; completionTokens: number } | undefined;
    expect(usage).toMatchObject({ promptTokens: 3, completionTokens: 5 });
  });

  it('streamed with stream_options.include_usage: the usage chunk arrives and is metered', async () => {
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'count me' }], stream: true, stream_options: { include_usage: true } })
      .withResponse();
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    expect((chunks[0] as unknown as { prompt_filter_results?: unknown }).prompt_filter_results).toBeDefined();
    const usage = chunks.find((c) => c.usage)?.usage;
    expect(usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 4, total_tokens: 6 });
    const traced_ = (await traced(response.headers.get('x-sluice-trace-id')!))?.attributes.usage as { totalTokens: number } | undefined;
    expect(traced_?.totalTokens).toBe(6);
  });

  it('output filtered: finish_reason content_filter with the filter results, plain and streamed', async () => {
    const plain = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'tell me [filter-output]' }] });
    expect(plain.choices[0]!.finish_reason).toBe('content_filter');
    expect((plain.choices[0] as unknown as { content_filter_results: Record<string, unknown> }).content_filter_results.violence).toEqual({ filtered: true, severity: 'high' });
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'tell me [filter-output]' }], stream: true });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    const last = chunks.at(-1)!.choices[0]!;
    expect(last.finish_reason).toBe('content_filter');
    expect((last as unknown as { content_filter_results: Record<string, unknown> }).content_filter_results.violence).toEqual({ filtered: true, severity: 'high' });
  });

  it('prompt filtered: a 400 with code content_filter naming the filtered category', async () => {
    for (const stream of [false, true]) {
      const err = await apiErrorOf(client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'something [filter-prompt]' }], stream }));
      expect(err.status).toBe(400);
      expect(err.code).toBe('content_filter');
      expect(err.type).toBe('invalid_request_error');
      expect(err.param).toBe('prompt');
      expect(err.message).toContain('violence (medium)');
      expect(err.message).not.toContain('hate');
    }
  });

  it('Azure errors become OpenAI errors: unknown deployment, rate limit (retry-after kept), bad key', async () => {
    const notFound = await apiErrorOf(client.chat.completions.create({ model: 'no-such-deployment', messages: [{ role: 'user', content: 'hi' }] }));
    expect(notFound).toBeInstanceOf(OpenAI.NotFoundError);
    expect(notFound.code).toBe('model_not_found');
    expect(notFound.type).toBe('not_found_error');

    const limited = await apiErrorOf(client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'go [rate-limit]' }] }));
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect(limited.code).toBe('rate_limit_exceeded');
    expect(limited.type).toBe('rate_limit_error');
    expect(limited.headers?.get('retry-after')).toBe('6');
    expect(limited.headers?.get('retry-after-ms')).toBe('6000');

    await gw.addProxy({ id: 'azure-badkey', provider: 'azure-openai', baseUrl: `${upstream.url}/openai`, credentialRef: 'env:WRONG_AZURE_KEY' });
    const { key } = await gw.addKey({ proxyId: 'azure-badkey' });
    const bad = new OpenAI({ baseURL: `${gw.url}/a/azure-badkey/openai/v1`, apiKey: key, maxRetries: 0 });
    const denied = await apiErrorOf(bad.chat.completions.create({ model: 'chat-deploy', messages: [{ role: 'user', content: 'hi' }] }));
    expect(denied).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(denied.code).toBe('invalid_api_key');
    expect(denied.type).toBe('authentication_error');
    expect(denied.message).not.toContain('not-the-key');
  });

  it('a 429 without retry-after: the rate-limit headers Azure sends reach the client, so it can back off', async () => {
    const limited = await apiErrorOf(client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'go [rate-limit-bare]' }] }));
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect(limited.code).toBe('rate_limit_exceeded');
    expect(limited.headers?.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(limited.headers?.get('x-ratelimit-remaining-tokens')).toBe('0');
    expect(limited.headers?.get('x-rate-limit-reset-tokens')).toBe('37');
    // Nothing invented: Azure sent no retry-after, so the SDK falls back to its own backoff.
    expect(limited.headers?.get('retry-after')).toBeNull();
  });

  it('the proxy api-version is used when set', async () => {
    await gw.addProxy({ id: 'azure-preview', provider: 'azure-openai', baseUrl: `${upstream.url}/openai`, credentialRef: 'env:AZURE_OPENAI_KEY', azure: { apiVersion: '2025-04-01-preview' } });
    const { key } = await gw.addKey({ proxyId: 'azure-preview' });
    const c = new OpenAI({ baseURL: `${gw.url}/a/azure-preview/openai/v1`, apiKey: key, maxRetries: 0 });
    await c.chat.completions.create({ model: 'chat-deploy', messages: [{ role: 'user', content: 'hi' }] });
    expect(upstream.requests[0]!.query).toBe('api-version=2025-04-01-preview');
  });

  it('an api-version Azure does not serve: its 400 BadRequest becomes invalid_api_version', async () => {
    await gw.addProxy({ id: 'azure-oldver', provider: 'azure-openai', baseUrl: `${upstream.url}/openai`, credentialRef: 'env:AZURE_OPENAI_KEY', azure: { apiVersion: '2025-04-14-preview' } });
    const { key } = await gw.addKey({ proxyId: 'azure-oldver' });
    const c = new OpenAI({ baseURL: `${gw.url}/a/azure-oldver/openai/v1`, apiKey: key, maxRetries: 0 });
    const err = await apiErrorOf(c.chat.completions.create({ model: 'chat-deploy', messages: [{ role: 'user', content: 'hi' }] }));
    expect(err.status).toBe(400);
    expect(err.code).toBe('invalid_api_version');
    expect(err.type).toBe('invalid_request_error');
    expect(err.message).toContain('API version not supported');
    expect(upstream.requests[0]!.query).toBe('api-version=2025-04-14-preview');
  });
});

describe('Azure OpenAI embeddings, completions, responses, models', () => {
  it('embeddings go to the embedding deployment', async () => {
    const res = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['a b', 'c'] });
    expect(res.data).toHaveLength(2);
    expect(res.usage.prompt_tokens).toBe(3);
    expect(upstream.requests[0]!.path).toBe('/openai/deployments/embed-deploy/embeddings');
    expect(upstream.requests[0]!.query).toBe('api-version=2024-10-21');
  });

  it('legacy completions go to the deployment', async () => {
    const res = await client.completions.create({ model: 'gpt-4o', prompt: 'finish this' });
    expect(res.choices[0]!.text).toBe('Azure completes: finish this');
    expect(upstream.requests[0]!.path).toBe('/openai/deployments/chat-deploy/completions');
  });

  it('responses go to /openai/v1/responses with the deployment as model', async () => {
    const { data, response } = await client.responses.create({ model: 'gpt-4o', input: 'hello azure' }).withResponse();
    expect(data.output_text).toBe('Azure responds: hello azure');
    const req = upstream.requests[0]!;
    expect(req.path).toBe('/openai/v1/responses');
    expect(req.query).toBe('');
    expect(req.body?.model).toBe('chat-deploy');
    expect(req.headers['api-key']).toBe(AZURE_KEY);
    const usage = (await traced(response.headers.get('x-sluice-trace-id')!))?.attributes.usage as { promptTokens: number } | undefined;
    expect(usage?.promptTokens).toBe(2);
  });

  it('streamed responses pass through and are metered from response.completed', async () => {
    const { data: stream, response } = await client.responses.create({ model: 'gpt-4o', input: 'stream it', stream: true }).withResponse();
    let text = '';
    let completed: OpenAI.Responses.Response | undefined;
    for await (const e of stream) {
      if (e.type === 'response.output_text.delta') text += e.delta;
      if (e.type === 'response.completed') completed = e.response;
    }
    expect(text).toBe('Azure responds: stream it');
    expect(completed?.usage?.output_tokens).toBe(4);
    expect(upstream.requests[0]!.body?.model).toBe('chat-deploy');
    const usage = (await traced(response.headers.get('x-sluice-trace-id')!))?.attributes.usage as { completionTokens: number } | undefined;
    expect(usage?.completionTokens).toBe(4);
  });

  it('the Anthropic SDK on an Azure proxy: Messages translated to chat on the deployment, answered as a Message', async () => {
    const anthropic = new Anthropic({ baseURL: `${gw.url}/a/test/anthropic`, apiKey: gw.key, maxRetries: 0 });
    const msg = await anthropic.messages.create({ model: 'gpt-4o', max_tokens: 100, messages: [{ role: 'user', content: 'from claude code' }] });
    expect(msg.content).toEqual([{ type: 'text', text: 'Azure says: from claude code' }]);
    expect(msg.usage.input_tokens).toBe(3);
    const req = upstream.requests[0]!;
    expect(req.path).toBe('/openai/deployments/chat-deploy/chat/completions');
    expect(req.query).toBe('api-version=2024-10-21');
    expect(req.headers['api-key']).toBe(AZURE_KEY);
    expect(req.headers['x-api-key']).toBeUndefined();
    const stream = anthropic.messages.stream({ model: 'gpt-4o', max_tokens: 100, messages: [{ role: 'user', content: 'streamed claude' }] });
    const final = await stream.finalMessage();
    expect(final.content).toEqual([{ type: 'text', text: 'Azure says: streamed claude' }]);
  });

  it('models lists the models of the resource', async () => {
    const list = await client.models.list();
    expect(list.data.map((m) => m.id)).toEqual(['gpt-4o-2024-11-20', 'gpt-4o-mini-2024-07-18', 'text-embedding-3-small']);
    expect(upstream.requests[0]!.query).toBe('api-version=2024-10-21');
    expect(upstream.requests[0]!.path).toBe('/openai/models');
  });
});

describe('the Azure test upstream itself', () => {
  it('refuses a call without api-version as Azure does, and an Authorization header instead of api-key', async () => {
    const noVersion = await fetch(`${upstream.url}/openai/deployments/chat-deploy/chat/completions`, { method: 'POST', headers: { 'api-key': AZURE_KEY, 'content-type': 'application/json' }, body: '{"messages":[]}' });
    expect(noVersion.status).toBe(400);
    expect(((await noVersion.json()) as { error: { code: string } }).error.code).toBe('MissingApiVersionParameter');
    const bearer = await fetch(`${upstream.url}/openai/deployments/chat-deploy/chat/completions?api-version=2024-10-21`, { method: 'POST', headers: { authorization: `Bearer ${AZURE_KEY}`, 'content-type': 'application/json' }, body: '{"messages":[]}' });
    expect(bearer.status).toBe(401);
  });
});
