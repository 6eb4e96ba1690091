/**
 * Vertex AI through the gateway: the official OpenAI SDK (and the Anthropic SDK on the
 * native Messages ingress) against a local Vertex upstream whose OAuth token endpoint
 * verifies the service account's signed JWT. Gemini models answer in Gemini's format,
 * Claude models in Anthropic's (rawPredict / streamRawPredict).
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createUpstreamGuard } from '../../functions/net/index.js';
import { createGoogleTokenSource } from '../../functions/providers/vertex/auth.js';
import { handleGeminiModelCall } from '../support/gemini-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { embeddingFor, replyTo } from '../support/upstream/content.js';
import { makeServiceAccount, startVertexUpstream, VERTEX_TEST_LOCATION, VERTEX_TEST_PROJECT, type ServiceAccount, type VertexUpstream } from '../support/vertex-upstream.js';
import { pollFor } from '../support/traces.js';

/** Traces are kept in memory (serialized), to check no token or key reaches them. */
const traces: string[] = [];
const quietTraces = {
  traceSink: {
    write: async (batch: unknown) => {
      traces.push(JSON.stringify(batch));
    },
  },
};

let clock = Date.now();
const now = () => clock;
let upstream: VertexUpstream;
let sa: ServiceAccount;
let gw: TestGateway;
let client: OpenAI;

const PREFIX = `/v1/projects/${VERTEX_TEST_PROJECT}/locations/${VERTEX_TEST_LOCATION}/publishers`;
const CLAUDE = 'claude-sonnet-4@20250514';

beforeAll(async () => {
  upstream = await startVertexUpstream({ now, gemini: handleGeminiModelCall });
  sa = makeServiceAccount(upstream.tokenUri);
  upstream.addServiceAccount(sa);
  gw = await startTestGateway({
    upstreamUrl: upstream.url,
    proxy: { provider: 'vertex', credentialRef: 'env:VERTEX_SA_KEY', gcp: { project: VERTEX_TEST_PROJECT, location: VERTEX_TEST_LOCATION } },
    env: { VERTEX_SA_KEY: sa.json },
    deps: { ...quietTraces, googleTokens: createGoogleTokenSource({ guard: createUpstreamGuard(), now }) },
  });
  client = new OpenAI({ baseURL: `${gw.url}/a/test/openai/v1`, apiKey: gw.key, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
beforeEach(() => upstream.reset());

const modelCalls = () => upstream.requests.filter((r) => r.url.startsWith('/v1/'));
const lastIssued = () => upstream.issued[upstream.issued.length - 1];

async function openaiError(p: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(OpenAI.APIError);
    return err as InstanceType<typeof OpenAI.APIError>;
  }
  throw new Error('expected an error');
}

describe('Gemini models on Vertex', () => {
  it('plain: generateContent on the project/location path with the exchanged OAuth token', async () => {
    const res = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Tell me about lakes' }] });
    expect(res.choices[0]?.message.content).toBe(replyTo('Tell me about lakes'));
    expect(res.choices[0]?.finish_reason).toBe('stop');
    expect(res.usage?.prompt_tokens).toBeGreaterThan(0);
    const [call] = modelCalls();
    expect(call?.url).toBe(`${PREFIX}/google/models/gemini-2.5-flash:generateContent`);
    expect(call?.headers.authorization).toBe(`Bearer ${lastIssued()}`);
    expect(call?.headers['x-goog-api-key']).toBeUndefined();
    expect(call?.body?.contents).toEqual([{ role: 'user', parts: [{ text: 'Tell me about lakes' }] }]);
  });

  it('streamed: streamGenerateContent?alt=sse, text in order, usage when asked', async () => {
    const stream = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Stream about mountains please' }], stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(replyTo('Stream about mountains please'));
    expect(finish).toBe('stop');
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    expect(modelCalls()[0]?.url).toBe(`${PREFIX}/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse`);
  });

  it('a Google error on a Gemini model is mapped (429 → RateLimitError)', async () => {
    const err = await openaiError(client.chat.completions.create({ model: 'gemini-2.5-flash+error=429', messages: [{ role: 'user', content: 'hi' }] }));
    expect(err.status).toBe(429);
    expect(err.code).toBe('rate_limit_exceeded');
  });

  it('tool history with call ids (from another provider, or Gemini API answers): sent without functionCall / functionResponse ids, which Vertex refuses', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [{ type: 'function', function: { name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
    const res = await client.chat.completions.create({
      model: 'gemini-2.5-flash',
      tools,
      messages: [
        { role: 'user', content: 'Weather in Rome?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_01ABC', type: 'function', function: { name: 'weather', arguments: '{"city":"Rome"}' } }] },
        { role: 'tool', tool_call_id: 'toolu_01ABC', content: '{"temp":21}' },
      ],
    });
    expect(res.choices[0]?.message.content).toBeTruthy();
    const parts = ((modelCalls()[0]?.body as { contents: Array<{ parts: Array<Record<string, Record<string, unknown>>> }> }).contents).flatMap((c) => c.parts);
    expect(parts.filter((p) => p.functionCall || p.functionResponse)).toEqual([
      { functionCall: { name: 'weather', args: { city: 'Rome' } } },
      { functionResponse: { name: 'weather', response: { temp: 21 } } },
    ]);
  });

  it('Gemini 3 on Vertex: reasoning_effort → thinkingLevel; a level the model lacks is our 400, Vertex not called', async () => {
    await client.chat.completions.create({ model: 'gemini-3-pro-preview', messages: [{ role: 'user', content: 'think' }], reasoning_effort: 'high' });
    expect((modelCalls()[0]?.body as { generationConfig?: unknown }).generationConfig).toEqual({ thinkingConfig: { thinkingLevel: 'high', includeThoughts: true } });
    const err = await openaiError(client.chat.completions.create({ model: 'gemini-3-pro-preview', messages: [{ role: 'user', content: 'think' }], reasoning_effort: 'medium' }));
    expect([err.status, err.code, err.param]).toEqual([400, 'unsupported_value', 'reasoning_effort']);
    expect(modelCalls()).toHaveLength(1);
  });

  it('the test upstream refuses an id on a functionCall / functionResponse part as Vertex does', async () => {
    await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'token please' }] });
    const token = String(modelCalls()[0]?.headers.authorization);
    const res = await fetch(`${upstream.url.replace(/\/v1$/, '')}${PREFIX}/google/models/gemini-2.5-flash:generateContent`, {
      method: 'POST',
      headers: { authorization: token, 'content-type': 'application/json' },
      body: JSON.stringify({
        contents: [
          { role: 'user', parts: [{ text: 'hi' }] },
          { role: 'model', parts: [{ functionCall: { id: 'a', name: 'f', args: {} } }] },
          { role: 'user', parts: [{ functionResponse: { id: 'a', name: 'f', response: {} } }] },
        ],
      }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(
      `Invalid JSON payload received. Unknown name "id" at 'contents[1].parts[0].function_call': Cannot find field.\nInvalid JSON payload received. Unknown name "id" at 'contents[2].parts[0].function_response': Cannot find field.`,
    );
  });
});

describe('Claude models on Vertex', () => {
  it('plain: rawPredict with a Messages body without model, anthropic_version vertex-2023-10-16', async () => {
    const res = await client.chat.completions.create({ model: CLAUDE, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say something about rivers' }] });
    expect(res.choices[0]?.message.content).toBe(replyTo('Say something about rivers'));
    expect(res.choices[0]?.finish_reason).toBe('stop');
    const [call] = modelCalls();
    expect(call?.url).toBe(`${PREFIX}/anthropic/models/${CLAUDE}:rawPredict`);
    expect(call?.headers.authorization).toBe(`Bearer ${lastIssued()}`);
    expect(call?.headers['x-api-key']).toBeUndefined();
    expect(call?.body?.anthropic_version).toBe('vertex-2023-10-16');
    expect(call?.body).not.toHaveProperty('model');
    expect(call?.body?.system).toEqual([{ type: 'text', text: 'Be brief.' }]);
  });

  it('streamed with cache_control: kept on system, message and tool; cached tokens reported', async () => {
    const params = {
      model: `${CLAUDE}+cache`,
      stream: true,
      stream_options: { include_usage: true },
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'Long policy text', cache_control: { type: 'ephemeral' } }] },
        { role: 'user', content: [{ type: 'text', text: 'Long document', cache_control: { type: 'ephemeral', ttl: '1h' } }, { type: 'text', text: 'What is in it' }] },
      ],
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } }, cache_control: { type: 'ephemeral' } }],
    } as unknown as OpenAI.ChatCompletionCreateParamsStreaming;
    const stream = await client.chat.completions.create(params);
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(replyTo('Long document What is in it'));
    expect(usage?.prompt_tokens_details?.cached_tokens).toBe(100);
    const [call] = modelCalls();
    expect(call?.url).toBe(`${PREFIX}/anthropic/models/${CLAUDE}+cache:streamRawPredict`);
    expect(call?.body?.stream).toBe(true);
    expect(call?.body?.system).toEqual([{ type: 'text', text: 'Long policy text', cache_control: { type: 'ephemeral' } }]);
    expect(call?.body?.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'Long document', cache_control: { type: 'ephemeral', ttl: '1h' } }, { type: 'text', text: 'What is in it' }] }]);
    expect((call?.body?.tools as unknown[])[0]).toEqual({ name: 'lookup', input_schema: { type: 'object', properties: { q: { type: 'string' } } }, cache_control: { type: 'ephemeral' } });
  });

  it('native Anthropic ingress (Anthropic SDK), streamed: the body passes through with cache_control, minus model', async () => {
    const anthropic = new Anthropic({ baseURL: `${gw.url}/a/test/anthropic`, apiKey: gw.key, maxRetries: 0 });
    const body = {
      model: CLAUDE,
      max_tokens: 200,
      system: [{ type: 'text' as const, text: 'Policy', cache_control: { type: 'ephemeral' as const } }],
      tools: [{ name: 'search', input_schema: { type: 'object' as const, properties: {} }, cache_control: { type: 'ephemeral' as const } }],
      messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'Hello native', cache_control: { type: 'ephemeral' as const } }] }],
    };
    const stream = anthropic.messages.stream(body);
    const message = await stream.finalMessage();
    expect(message.content[0]).toEqual({ type: 'text', text: replyTo('Hello native') });
    expect(message.stop_reason).toBe('end_turn');
    const [call] = modelCalls();
    expect(call?.url).toBe(`${PREFIX}/anthropic/models/${CLAUDE}:streamRawPredict`);
    const { model: _model, ...rest } = body;
    expect(call?.body).toEqual({ anthropic_version: 'vertex-2023-10-16', ...rest, stream: true });
  });

  it('native Anthropic ingress, count_tokens: the shared count-tokens endpoint with the model in the body', async () => {
    const anthropic = new Anthropic({ baseURL: `${gw.url}/a/test/anthropic`, apiKey: gw.key, maxRetries: 0 });
    const count = await anthropic.messages.countTokens({ model: CLAUDE, messages: [{ role: 'user', content: 'one two three' }] });
    expect(count.input_tokens).toBe(3);
    const [call] = modelCalls();
    expect(call?.url).toBe(`${PREFIX}/anthropic/models/count-tokens:rawPredict`);
    expect(call?.body?.model).toBe(CLAUDE);
  });

  it('a stream Vertex cuts mid-way ends with an error the SDK raises, after the text that arrived', async () => {
    const stream = await client.chat.completions.create({ model: `${CLAUDE}+cut=5`, messages: [{ role: 'user', content: 'a long answer about many things' }], stream: true });
    let text = '';
    let failure: unknown;
    try {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    } catch (err) {
      failure = err;
    }
    expect(failure).toBeInstanceOf(Error);
    expect(String((failure as Error).message)).toMatch(/interrupted/);
    expect(replyTo('a long answer about many things').startsWith(text)).toBe(true);
    expect(text.length).toBeGreaterThan(0);
  });

  it('Google errors (bare and in an array) and Anthropic errors are mapped', async () => {
    const rate = await openaiError(client.chat.completions.create({ model: `${CLAUDE}+gerror=429`, messages: [{ role: 'user', content: 'hi' }] }));
    expect(rate.status).toBe(429);
    expect(rate.code).toBe('rate_limit_exceeded');
    expect(rate.message).toContain('Quota exceeded');
    const array = await openaiError(client.chat.completions.create({ model: `${CLAUDE}+gerror-array=400`, messages: [{ role: 'user', content: 'hi' }] }));
    expect(array.status).toBe(400);
    expect(array.code).toBe('invalid_argument');
    const context = await openaiError(client.chat.completions.create({ model: `${CLAUDE}+aerror=400+context`, messages: [{ role: 'user', content: 'hi' }] }));
    expect(context.status).toBe(400);
    expect(context.code).toBe('context_length_exceeded');
  });

  it('on the native ingress, a Google error comes back Anthropic-shaped', async () => {
    const anthropic = new Anthropic({ baseURL: `${gw.url}/a/test/anthropic`, apiKey: gw.key, maxRetries: 0 });
    const err = await anthropic.messages.create({ model: `${CLAUDE}+gerror-array=429`, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect((err as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
  });
});

describe('other ingresses', () => {
  it('the Responses API on a Claude model and on a Gemini model', async () => {
    const claude = await client.responses.create({ model: CLAUDE, instructions: 'Be brief.', input: 'Responses on Claude' });
    expect(claude.output_text).toBe(replyTo('Responses on Claude'));
    const gemini = await client.responses.create({ model: 'gemini-2.5-flash', input: 'Responses on Gemini' });
    expect(gemini.output_text).toBe(replyTo('Responses on Gemini'));
    expect(modelCalls().map((c) => c.url)).toEqual([`${PREFIX}/anthropic/models/${CLAUDE}:rawPredict`, `${PREFIX}/google/models/gemini-2.5-flash:generateContent`]);
  });

  it('the native Anthropic ingress on a Gemini model: Messages in, generateContent upstream, Messages out (streamed)', async () => {
    const anthropic = new Anthropic({ baseURL: `${gw.url}/a/test/anthropic`, apiKey: gw.key, maxRetries: 0 });
    const message = await anthropic.messages.stream({ model: 'gemini-2.5-flash', max_tokens: 100, messages: [{ role: 'user', content: 'Messages to Gemini' }] }).finalMessage();
    expect(message.content).toEqual([{ type: 'text', text: replyTo('Messages to Gemini') }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(modelCalls()[0]?.url).toBe(`${PREFIX}/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse`);
  });
});

describe('OAuth tokens', () => {
  it('one exchange serves many requests; past its renewal point (5 min before expiry) a new one is exchanged', async () => {
    clock += 2 * 3600_000; // whatever was cached has expired
    const before = upstream.exchanges;
    await client.chat.completions.create({ model: CLAUDE, messages: [{ role: 'user', content: 'first' }] });
    await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'second' }] });
    expect(upstream.exchanges).toBe(before + 1);
    const first = lastIssued();

    clock += 56 * 60_000; // 4 min before expiry: renewed
    await client.chat.completions.create({ model: CLAUDE, messages: [{ role: 'user', content: 'third' }] });
    expect(upstream.exchanges).toBe(before + 2);
    expect(lastIssued()).not.toBe(first);
    expect(modelCalls().at(-1)?.headers.authorization).toBe(`Bearer ${lastIssued()}`);
  });

  it('a token Vertex refuses (revoked early) is a 401 once, then dropped: the next request exchanges a new one', async () => {
    await client.chat.completions.create({ model: CLAUDE, messages: [{ role: 'user', content: 'before' }] });
    const revoked = lastIssued();
    upstream.revokeIssued();
    const before = upstream.exchanges;
    const err = await openaiError(client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'refused' }] }));
    expect(err.status).toBe(401);
    expect(err.message).not.toContain(revoked!);
    const res = await client.chat.completions.create({ model: CLAUDE, messages: [{ role: 'user', content: 'after' }] });
    expect(res.choices[0]?.message.content).toBe(replyTo('after'));
    expect(upstream.exchanges).toBe(before + 1);
    expect(modelCalls().at(-1)?.headers.authorization).toBe(`Bearer ${lastIssued()}`);
    expect(lastIssued()).not.toBe(revoked);
  });

  it('concurrent first requests share one exchange', async () => {
    clock += 2 * 3600_000;
    const before = upstream.exchanges;
    const all = await Promise.all(Array.from({ length: 10 }, (_, i) => client.chat.completions.create({ model: CLAUDE, messages: [{ role: 'user', content: `concurrent ${i}` }] })));
    expect(all.map((r) => r.choices[0]?.message.content)).toEqual(Array.from({ length: 10 }, (_, i) => replyTo(`concurrent ${i}`)));
    expect(upstream.exchanges).toBe(before + 1);
  });

  it('a refused exchange is a 502 naming the OAuth error, without the key or assertion', async () => {
    clock += 2 * 3600_000;
    upstream.failTokens({ status: 400, error: 'invalid_grant', description: 'Invalid JWT Signature.' });
    try {
      const err = await openaiError(client.chat.completions.create({ model: CLAUDE, messages: [{ role: 'user', content: 'hi' }] }));
      expect(err.status).toBe(502);
      expect(err.code).toBe('upstream_auth_failed');
      expect(err.message).toContain('invalid_grant: Invalid JWT Signature.');
      expect(err.message).not.toMatch(/PRIVATE KEY|eyJ/);
      expect(modelCalls()).toHaveLength(0);
    } finally {
      upstream.failTokens(undefined);
    }
  });
});

describe('BYOK and configuration', () => {
  it('a BYOK proxy sends the caller’s OAuth token as is (no exchange); an expired one is a 401', async () => {
    await gw.addProxy({ id: 'byok', provider: 'vertex', baseUrl: upstream.url, byok: true, gcp: { project: VERTEX_TEST_PROJECT, location: 'global' } });
    const { key } = await gw.addKey({ proxyId: 'byok' });
    upstream.acceptToken('ya29.caller-own-token');
    const before = upstream.exchanges;
    const byok = new OpenAI({ baseURL: `${gw.url}/a/byok/openai/v1`, apiKey: 'ya29.caller-own-token', defaultHeaders: { 'X-Sluice-Key': key }, maxRetries: 0 });
    const res = await byok.chat.completions.create({ model: CLAUDE, messages: [{ role: 'user', content: 'mine' }] });
    expect(res.choices[0]?.message.content).toBe(replyTo('mine'));
    const [call] = modelCalls();
    expect(call?.url).toBe(`/v1/projects/${VERTEX_TEST_PROJECT}/locations/global/publishers/anthropic/models/${CLAUDE}:rawPredict`);
    expect(call?.headers.authorization).toBe('Bearer ya29.caller-own-token');
    expect(upstream.exchanges).toBe(before);

    const expired = new OpenAI({ baseURL: `${gw.url}/a/byok/openai/v1`, apiKey: 'ya29.expired-token', defaultHeaders: { 'X-Sluice-Key': key }, maxRetries: 0 });
    const err = await openaiError(expired.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'x' }] }));
    expect(err.status).toBe(401);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(err.message).not.toContain('ya29.expired-token');
  });

  it('a named Vertex upstream picked per request (X-Sluice-Upstream) uses its own project, location and service account', async () => {
    await gw.addProxy({
      id: 'selecting',
      provider: 'openai-compatible',
      upstreamSelection: true,
      upstreams: { 'vertex-local': { provider: 'vertex', baseUrl: upstream.url, credentialRef: 'env:VERTEX_SA_KEY', gcp: { project: VERTEX_TEST_PROJECT, location: 'global' }, allowPrivateNetwork: true } },
    });
    const { key } = await gw.addKey({ proxyId: 'selecting' });
    const selecting = new OpenAI({ baseURL: `${gw.url}/a/selecting/openai/v1`, apiKey: key, defaultHeaders: { 'X-Sluice-Upstream': 'vertex-local' }, maxRetries: 0 });
    const res = await selecting.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'picked per request' }] });
    expect(res.choices[0]?.message.content).toBe(replyTo('picked per request'));
    const [call] = modelCalls();
    expect(call?.url).toBe(`/v1/projects/${VERTEX_TEST_PROJECT}/locations/global/publishers/google/models/gemini-2.5-flash:generateContent`);
    expect(upstream.issued).toContain(String(call?.headers.authorization).slice('Bearer '.length));
  });

  it('the wrong project is the upstream’s 403; no project at all is a 400 naming the setting', async () => {
    await gw.addProxy({ id: 'other-project', provider: 'vertex', baseUrl: upstream.url, credentialRef: 'env:VERTEX_SA_KEY', gcp: { project: 'another-project', location: VERTEX_TEST_LOCATION } });
    const { key } = await gw.addKey({ proxyId: 'other-project' });
    const other = new OpenAI({ baseURL: `${gw.url}/a/other-project/openai/v1`, apiKey: key, maxRetries: 0 });
    const denied = await openaiError(other.chat.completions.create({ model: CLAUDE, messages: [{ role: 'user', content: 'x' }] }));
    expect(denied.status).toBe(403);
    expect(denied.type).toBe('permission_error');

    await gw.addProxy({ id: 'no-project', provider: 'vertex', baseUrl: upstream.url, credentialRef: 'env:VERTEX_SA_KEY' });
    const { key: key2 } = await gw.addKey({ proxyId: 'no-project' });
    const none = new OpenAI({ baseURL: `${gw.url}/a/no-project/openai/v1`, apiKey: key2, maxRetries: 0 });
    const missing = await openaiError(none.chat.completions.create({ model: CLAUDE, messages: [{ role: 'user', content: 'x' }] }));
    expect(missing.status).toBe(400);
    expect(missing.code).toBe('gcp_project_missing');
    expect(missing.message).toContain('--gcp-project');
  });

  it('embeddings: :predict with one instance per input; vectors, dimensions and token usage come back in OpenAI form', async () => {
    const res = await client.embeddings.create({ model: 'text-embedding-005', input: ['the first text', 'second'], dimensions: 8 });
    expect(res.data.map((d) => d.embedding)).toEqual([embeddingFor('text-embedding-005:the first text', 8), embeddingFor('text-embedding-005:second', 8)]);
    expect(res.usage).toEqual({ prompt_tokens: 4, total_tokens: 4 });
    const [call] = modelCalls();
    expect(call?.url).toBe(`${PREFIX}/google/models/text-embedding-005:predict`);
    expect(call?.headers.authorization).toBe(`Bearer ${lastIssued()}`);
    expect(call?.body).toEqual({ instances: [{ content: 'the first text' }, { content: 'second' }], parameters: { outputDimensionality: 8 } });

    const tooMany = await openaiError(client.embeddings.create({ model: 'text-embedding-005', input: Array.from({ length: 251 }, (_, i) => `t${i}`) }));
    expect(tooMany.status).toBe(400);
    expect(modelCalls()).toHaveLength(1);
  });

  it('embeddings on a Gemini Embedding model: one :predict call per input (Vertex takes a single instance for them), joined in input order', async () => {
    const inputs = ['alpha one', 'beta', 'gamma three words', 'delta', 'epsilon five'];
    const res = await client.embeddings.create({ model: 'gemini-embedding-001', input: inputs, dimensions: 8 });
    expect(res.data.map((d) => d.index)).toEqual([0, 1, 2, 3, 4]);
    expect(res.data.map((d) => d.embedding)).toEqual(inputs.map((t) => embeddingFor(`gemini-embedding-001:${t}`, 8)));
    expect(res.usage).toEqual({ prompt_tokens: 9, total_tokens: 9 });
    const calls = modelCalls();
    expect(calls).toHaveLength(5);
    for (const call of calls) {
      expect(call.url).toBe(`${PREFIX}/google/models/gemini-embedding-001:predict`);
      expect(call.body?.parameters).toEqual({ outputDimensionality: 8 });
      expect(call.body?.instances).toHaveLength(1);
    }
    expect(calls.map((c) => (c.body?.instances as Array<{ content: string }>)[0]!.content).sort()).toEqual([...inputs].sort());

    // One input: one call, as before.
    upstream.reset();
    const single = await client.embeddings.create({ model: 'gemini-embedding-001', input: 'only' });
    expect(single.data).toHaveLength(1);
    expect(modelCalls()).toHaveLength(1);
  });
});

describe('secrets', () => {
  it('no trace holds an OAuth token, the service-account key or a caller token', async () => {
    await pollFor(() => (traces.length >= 10 ? true : undefined), { everyMs: 20 });
    expect(traces.length).toBeGreaterThanOrEqual(10);
    const all = traces.join('\n');
    expect(all).toContain('vertex');
    for (const token of upstream.issued) expect(all).not.toContain(token);
    expect(all).not.toContain('ya29.caller-own-token');
    expect(all).not.toContain(sa.privateKeyPem.split('\n')[1]!);
    expect(all).not.toContain('BEGIN PRIVATE KEY');
  });
});
