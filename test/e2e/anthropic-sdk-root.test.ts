/**
 * The official Anthropic SDK with the gateway root as its base URL (no proxy in the
 * path): `POST /v1/messages` and `/v1/messages/count_tokens` take the proxy from the key,
 * and `GET /v1/models` answers in Anthropic's shape when the request carries
 * `anthropic-version` (the SDK always does), in OpenAI's otherwise.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MODEL_PAGE, replyTo, startAnthropicUpstream, type AnthropicUpstream } from '../support/anthropic-upstream.js';
import { replyTo as openaiReply, startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { LISTED_MODELS } from '../support/upstream/wire.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const PROVIDER_KEY = 'sk-ant-provider-key-for-root-tests';
const noTraces = { traceSink: { write: async () => undefined } };

describe('Anthropic SDK at the gateway root, Anthropic proxy', () => {
  let upstream: AnthropicUpstream;
  let gw: TestGateway;
  let sdk: Anthropic;
  beforeAll(async () => {
    upstream = await startAnthropicUpstream({ apiKey: PROVIDER_KEY });
    gw = await startTestGateway({ upstreamUrl: upstream.url, proxy: { provider: 'anthropic', credentialRef: 'env:ANTHROPIC_ROOT_KEY' }, env: { ANTHROPIC_ROOT_KEY: PROVIDER_KEY }, deps: noTraces });
    sdk = new Anthropic({ baseURL: gw.url, apiKey: gw.key, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
  });
  beforeEach(() => upstream.reset());

  it('messages.create and messages.stream reach the key’s proxy', async () => {
    const { data, response } = await sdk.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 50, messages: [{ role: 'user', content: 'Say something about rivers' }] }).withResponse();
    expect(data.content).toEqual([{ type: 'text', text: replyTo('Say something about rivers') }]);
    expect(response.headers.get('x-sluice-trace-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(upstream.requests[0]).toMatchObject({ method: 'POST', path: '/v1/messages' });
    expect(upstream.requests[0]!.headers['x-api-key']).toBe(PROVIDER_KEY);
    const text = await sdk.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 50, messages: [{ role: 'user', content: 'Tell me about the sea' }] }).finalText();
    expect(text).toBe(replyTo('Tell me about the sea'));
  });

  it('messages.countTokens goes to count_tokens', async () => {
    const res = await sdk.messages.countTokens({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'one two three four' }] });
    expect(res.input_tokens).toBe(4);
    expect(upstream.requests[0]!.path).toBe('/v1/messages/count_tokens');
  });

  it('models.list is Anthropic’s own list, passed through', async () => {
    const ids: string[] = [];
    for await (const m of sdk.models.list()) ids.push(m.id);
    expect(ids).toEqual(MODEL_PAGE.data.map((m) => m.id));
    expect(upstream.requests[0]).toMatchObject({ method: 'GET', path: '/v1/models' });
    expect(upstream.requests[0]!.headers['x-api-key']).toBe(PROVIDER_KEY);
  });

  it('without a gateway key (raw HTTP) or with a bad one (SDK): 401 authentication_error, Anthropic-shaped, nothing sent upstream', async () => {
    for (const [method, path] of [['POST', '/v1/messages'], ['POST', '/v1/messages/count_tokens'], ['GET', '/v1/models']] as const) {
      const res = await fetch(`${gw.url}${path}`, {
        method,
        headers: { 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        ...(method === 'POST' ? { body: JSON.stringify({ model: 'claude-sonnet-4-6', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }) } : {}),
      });
      expect(res.status, path).toBe(401);
      expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    }
    const bad = new Anthropic({ baseURL: gw.url, apiKey: 'sk-sluice-not-a-real-key', maxRetries: 0 });
    for (const call of [
      () => bad.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
      () => bad.messages.countTokens({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'hi' }] }),
      () => bad.models.list(),
    ]) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
      expect((err as InstanceType<typeof Anthropic.AuthenticationError>).error).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    }
    expect(upstream.requests).toHaveLength(0);
  });

  it('a wrong method on /v1/messages is a 405 naming POST', async () => {
    const res = await fetch(`${gw.url}/v1/messages`, { headers: { 'x-api-key': gw.key } });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });
});

describe('Anthropic SDK at the gateway root, OpenAI-compatible proxy', () => {
  let upstream: OpenAIUpstream;
  let gw: TestGateway;
  beforeAll(async () => {
    upstream = await startOpenAIUpstream();
    gw = await startTestGateway({ upstreamUrl: upstream.url, deps: noTraces });
  });
  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
  });
  beforeEach(() => upstream.reset());

  it('messages.create is translated to chat completions', async () => {
    const sdk = new Anthropic({ baseURL: gw.url, apiKey: gw.key, maxRetries: 0 });
    const res = await sdk.messages.create({ model: 'gpt-4o-mini', max_tokens: 50, messages: [{ role: 'user', content: 'Say something about rivers' }] });
    expect(res.content).toEqual([{ type: 'text', text: openaiReply('Say something about rivers') }]);
    expect(upstream.requests[0]!.path).toBe('/v1/chat/completions');
  });

  it('models.list: the upstream’s OpenAI list in Anthropic’s shape; the OpenAI SDK still gets OpenAI’s', async () => {
    const sdk = new Anthropic({ baseURL: gw.url, apiKey: gw.key, maxRetries: 0 });
    const page = await sdk.models.list();
    expect(page.data.map((m) => m.id)).toEqual([...LISTED_MODELS]);
    expect(page.data[0]).toMatchObject({ type: 'model', id: LISTED_MODELS[0], display_name: LISTED_MODELS[0] });
    expect(Date.parse(page.data[0]!.created_at)).toBeGreaterThan(Date.parse('2024-01-01'));
    expect(page.has_more).toBe(false);
    expect(upstream.requests[0]).toMatchObject({ method: 'GET', path: '/v1/models' });

    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: gw.key, maxRetries: 0 });
    const list = await openai.models.list();
    expect(list.data.map((m) => m.id)).toEqual([...LISTED_MODELS]);
    const raw = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${gw.key}` } });
    expect(await raw.json()).toMatchObject({ object: 'list', data: expect.arrayContaining([expect.objectContaining({ object: 'model', id: 'gpt-4o' })]) });
  });

  it('models.list on a proxy with an allow-list: the allow-list and its aliases, no upstream call', async () => {
    await gw.addProxy({ id: 'limited', allowedModels: ['gpt-4o-mini'], modelAliases: { fast: 'gpt-4o-mini' } });
    const { key } = await gw.addKey({ proxyId: 'limited' });
    const sdk = new Anthropic({ baseURL: gw.url, apiKey: key, maxRetries: 0 });
    const page = await sdk.models.list();
    expect(page.data.map((m) => m.id).sort()).toEqual(['fast', 'gpt-4o-mini']);
    expect(page.data.every((m) => m.type === 'model')).toBe(true);
    expect(upstream.requests).toHaveLength(0);
  });

  it('an upstream that fails the model list: an Anthropic-shaped error', async () => {
    await gw.addProxy({ id: 'broken', baseUrl: 'http://127.0.0.1:9/v1' });
    const { key } = await gw.addKey({ proxyId: 'broken' });
    const sdk = new Anthropic({ baseURL: gw.url, apiKey: key, maxRetries: 0 });
    const err = await sdk.models.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect((err as InstanceType<typeof Anthropic.APIError>).status).toBe(502);
    expect((err as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: expect.any(String) } });
  });
});
