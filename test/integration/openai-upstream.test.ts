/**
 * The official `openai` SDK pointed directly at the test upstream, endpoint by endpoint
 * and scenario by scenario. This proves the fake is wire-faithful before any gateway
 * test relies on it: if the SDK can parse it, a gateway must pass it through intact.
 */
import OpenAI, {
  APIConnectionTimeoutError,
  APIError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  NotFoundError,
  RateLimitError,
} from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countTokens, embeddingFor, replyTo, startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';

const API_KEY = 'sk-upstream-test-key';
let upstream: OpenAIUpstream;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startOpenAIUpstream({ apiKey: API_KEY });
  client = new OpenAI({ apiKey: API_KEY, baseURL: upstream.url, maxRetries: 0, timeout: 10_000 });
});
afterAll(async () => {
  await upstream.close();
});
beforeEach(() => upstream.reset());

const errorOf = async (res: Response) =>
  ((await res.json()) as { error: { message: string; type: string; param: string | null; code: string | null } }).error;

const PROMPT = 'ping the upstream please';
const REPLY = replyTo(PROMPT);

describe('chat completions', () => {
  it('answers plain requests with a full chat.completion and deterministic usage', async () => {
    const completion = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: PROMPT },
      ],
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.model).toBe('gpt-4o-mini');
    expect(completion.system_fingerprint).toBeTruthy();
    expect(completion.choices[0]?.message).toMatchObject({ role: 'assistant', content: REPLY });
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage).toMatchObject({
      prompt_tokens: countTokens(`be brief ${PROMPT}`),
      completion_tokens: countTokens(REPLY),
      total_tokens: countTokens(`be brief ${PROMPT}`) + countTokens(REPLY),
    });

    expect(upstream.requests).toHaveLength(1);
    const seen = upstream.requests[0]!;
    expect(seen).toMatchObject({ method: 'POST', path: '/v1/chat/completions' });
    expect(seen.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(seen.body).toMatchObject({ model: 'gpt-4o-mini', messages: [{ role: 'system' }, { role: 'user', content: PROMPT }] });
  });

  it('sends OpenAI response headers (request id, rate limits)', async () => {
    const { response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    expect(response.headers.get('x-request-id')).toMatch(/^req_/);
    expect(response.headers.get('x-ratelimit-remaining-requests')).toBe('9999');
    expect(response.headers.get('openai-version')).toBe('2020-10-01');
  });

  it('truncates at max_tokens with finish_reason "length"', async () => {
    const completion = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      max_tokens: 2,
      messages: [{ role: 'user', content: PROMPT }],
    });
    expect(completion.choices[0]?.message.content).toBe('You said:');
    expect(completion.choices[0]?.finish_reason).toBe('length');
    expect(completion.usage?.completion_tokens).toBe(2);
  });

  it('streams a role delta, content deltas, a finish chunk and the usage chunk', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: PROMPT }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);

    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    const contentChunks = chunks.filter((c) => c.choices[0]?.delta.content);
    expect(contentChunks.length).toBe(countTokens(REPLY));
    expect(contentChunks.map((c) => c.choices[0]?.delta.content).join('')).toBe(REPLY);
    const finish = chunks.at(-2);
    expect(finish?.choices[0]?.finish_reason).toBe('stop');
    expect(finish?.usage).toBeNull();
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toMatchObject({ prompt_tokens: countTokens(PROMPT), completion_tokens: countTokens(REPLY) });
  });

  it('streams without a usage chunk unless include_usage is set', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: PROMPT }],
      stream: true,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.some((c) => 'usage' in c)).toBe(false);
  });

  it('frames the stream as OpenAI does: data lines, blank-line separated, ending with [DONE]', async () => {
    const res = await fetch(`${upstream.url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true }),
    });
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const text = await res.text();
    const events = text.split('\n\n');
    expect(events.pop()).toBe('');
    expect(events.at(-1)).toBe('data: [DONE]');
    for (const event of events.slice(0, -1)) expect(event).toMatch(/^data: \{.*\}$/);
  });

  it('streams parallel tool calls that the SDK stream helper accumulates', async () => {
    const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
      { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { query: { type: 'string' } } } } },
      { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: { query: { type: 'string' } } } } },
    ];
    const runner = client.chat.completions.stream({
      model: 'test-tools',
      messages: [{ role: 'user', content: 'weather and time in Paris' }],
      tools,
      stream_options: { include_usage: true },
    });
    let argumentDeltas = 0;
    runner.on('chunk', (chunk) => {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) if (call.function?.arguments) argumentDeltas++;
    });
    const final = await runner.finalChatCompletion();
    const message = final.choices[0]?.message;
    expect(final.choices[0]?.finish_reason).toBe('tool_calls');
    expect(message?.content).toBeNull();
    expect(message?.tool_calls?.map((c) => c.type === 'function' && c.function.name)).toEqual(['get_weather', 'get_time']);
    message?.tool_calls?.forEach((call, i) => {
      expect(call.id).toMatch(/^call_/);
      expect(call.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ query: 'weather and time in Paris', call: i });
    });
    // Arguments arrive in fragments across several chunks per call.
    expect(argumentDeltas).toBeGreaterThan(4);
    expect(final.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('returns tool calls in a plain completion', async () => {
    const completion = await client.chat.completions.create({
      model: 'test-tools@calls=1',
      messages: [{ role: 'user', content: 'x' }],
      tools: [{ type: 'function', function: { name: 'lookup' } }],
    });
    const call = completion.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === 'function' && call.function).toEqual({ name: 'lookup', arguments: '{"query":"x","call":0}' });
  });
});

describe('responses', () => {
  it('answers plain requests with a response object', async () => {
    const response = await client.responses.create({ model: 'gpt-4o-mini', input: PROMPT, instructions: 'be brief' });
    expect(response.object).toBe('response');
    expect(response.id).toMatch(/^resp_/);
    expect(response.status).toBe('completed');
    expect(response.output_text).toBe(REPLY);
    expect(response.instructions).toBe('be brief');
    expect(response.usage).toMatchObject({
      input_tokens: countTokens(`be brief ${PROMPT}`),
      output_tokens: countTokens(REPLY),
    });
  });

  it('streams typed events with sequence numbers that the SDK stream helper assembles', async () => {
    const stream = client.responses.stream({
      model: 'gpt-4o-mini',
      input: [{ role: 'user', content: [{ type: 'input_text', text: PROMPT }] }],
    });
    const events: { type: string; sequence_number: number }[] = [];
    stream.on('event', (e) => events.push(e));
    const final = await stream.finalResponse();
    expect(final.output_text).toBe(REPLY);
    expect(final.usage?.output_tokens).toBe(countTokens(REPLY));

    const types = events.map((e) => e.type);
    expect(types.slice(0, 4)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
    ]);
    expect(types.filter((t) => t === 'response.output_text.delta')).toHaveLength(countTokens(REPLY));
    expect(types.slice(-4)).toEqual([
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
  });

  it('names every SSE event with an event: line matching its type, and sends no [DONE]', async () => {
    const res = await fetch(`${upstream.url}/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', input: 'hi', stream: true }),
    });
    const blocks = (await res.text()).split('\n\n').filter(Boolean);
    for (const block of blocks) {
      const [eventLine, dataLine] = block.split('\n');
      const type = eventLine?.replace(/^event: /, '');
      expect(JSON.parse(dataLine!.replace(/^data: /, '')).type).toBe(type);
    }
    expect(blocks.at(-1)).toMatch(/^event: response\.completed\n/);
  });

  it('streams function calls', async () => {
    const stream = client.responses.stream({
      model: 'test-tools',
      input: 'plan a trip',
      tools: [{ type: 'function', name: 'book', parameters: null, strict: false }],
    });
    const final = await stream.finalResponse();
    const calls = final.output.filter((o) => o.type === 'function_call');
    expect(calls).toHaveLength(2);
    expect(calls.map((c) => c.type === 'function_call' && JSON.parse(c.arguments))).toEqual([
      { query: 'plan a trip', call: 0 },
      { query: 'plan a trip', call: 1 },
    ]);
  });
});

describe('embeddings', () => {
  it('returns float vectors', async () => {
    const result = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['alpha', 'beta gamma'],
      encoding_format: 'float',
    });
    expect(result.object).toBe('list');
    expect(result.data.map((d) => d.index)).toEqual([0, 1]);
    expect(result.data[0]?.embedding).toEqual(embeddingFor('alpha'));
    expect(result.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
  });

  it('returns base64 float32 that the SDK decodes to the same vector', async () => {
    // Without encoding_format the SDK asks for base64 and decodes it itself.
    const decoded = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'alpha', dimensions: 8 });
    expect(upstream.requests[0]?.body).toMatchObject({ encoding_format: 'base64' });
    expect(Array.from(decoded.data[0]!.embedding)).toEqual(embeddingFor('alpha', 8));

    const raw = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'alpha', dimensions: 8, encoding_format: 'base64' });
    const bytes = Buffer.from(raw.data[0]!.embedding, 'base64');
    expect(Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4))).toEqual(embeddingFor('alpha', 8));
  });
});

describe('legacy completions', () => {
  it('answers plain and streamed requests', async () => {
    const plain = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: PROMPT });
    expect(plain.object).toBe('text_completion');
    expect(plain.choices[0]?.text).toBe(REPLY);
    expect(plain.usage?.prompt_tokens).toBe(countTokens(PROMPT));

    const stream = await client.completions.create({
      model: 'gpt-3.5-turbo-instruct',
      prompt: PROMPT,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(REPLY);
    expect(usage?.completion_tokens).toBe(countTokens(REPLY));
  });
});

describe('models', () => {
  it('lists and retrieves models', async () => {
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toContain('gpt-4o-mini');
    expect((await client.models.retrieve('gpt-4o')).object).toBe('model');
    await expect(client.models.retrieve('nope')).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('errors as OpenAI sends them', () => {
  it('401 with a wrong key → AuthenticationError, and the key is not echoed', async () => {
    const wrong = new OpenAI({ apiKey: 'sk-wrong-key', baseURL: upstream.url, maxRetries: 0 });
    const error = await wrong.models.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).code).toBe('invalid_api_key');
    expect(JSON.stringify((error as AuthenticationError).error)).not.toContain('sk-wrong-key');
  });

  it('scenario statuses map to the SDK error classes, one request each with maxRetries 0', async () => {
    const call = (model: string) =>
      client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);

    const bad = await call('test-400');
    expect(bad).toBeInstanceOf(BadRequestError);
    expect((bad as BadRequestError).type).toBe('invalid_request_error');
    expect((bad as BadRequestError).param).toBe('temperature');

    expect(await call('test-401')).toBeInstanceOf(AuthenticationError);

    const limited = (await call('test-429@retry=7')) as RateLimitError;
    expect(limited).toBeInstanceOf(RateLimitError);
    expect(limited.code).toBe('rate_limit_exceeded');
    expect(limited.headers?.get('retry-after')).toBe('7');
    expect(limited.headers?.get('x-ratelimit-remaining-requests')).toBe('0');

    const failed = (await call('test-500')) as InternalServerError;
    expect(failed).toBeInstanceOf(InternalServerError);
    expect(failed.status).toBe(500);
    expect(failed.type).toBe('server_error');

    const unavailable = (await call('test-503')) as InternalServerError;
    expect(unavailable).toBeInstanceOf(InternalServerError);
    expect(unavailable.status).toBe(503);

    expect(upstream.requests).toHaveLength(5);
  });

  it('the x-test-scenario header selects a scenario too', async () => {
    const error = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-test-scenario': '500' } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalServerError);
  });

  it('400 for malformed JSON, missing fields and unknown scenarios; 404/405 for bad routes', async () => {
    const post = (path: string, body: string) =>
      fetch(`${upstream.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body });
    const badJson = await post('/chat/completions', '{nope');
    expect(badJson.status).toBe(400);
    expect((await errorOf(badJson))).toMatchObject({ type: 'invalid_request_error', param: null, code: null });

    const noMessages = await post('/chat/completions', '{"model":"gpt-4o-mini","messages":[]}');
    expect(noMessages.status).toBe(400);
    expect((await errorOf(noMessages)).param).toBe('messages');

    const typo = await post('/chat/completions', '{"model":"test-slwo","messages":[{"role":"user","content":"x"}]}');
    expect(typo.status).toBe(400);
    expect((await errorOf(typo)).code).toBe('invalid_test_scenario');

    const unknown = await post('/nope', '{}');
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).message).toBe('Invalid URL (POST /v1/nope)');

    const wrongMethod = await fetch(`${upstream.url}/chat/completions`, { headers: { authorization: `Bearer ${API_KEY}` } });
    expect(wrongMethod.status).toBe(405);
  });
});

describe('failure scenarios', () => {
  it('a stream cut mid-way makes the SDK raise after the chunks that did arrive', async () => {
    const stream = await client.chat.completions.create({
      model: 'test-cut@after=3',
      messages: [{ role: 'user', content: PROMPT }],
      stream: true,
    });
    const received: string[] = [];
    const error = await (async () => {
      for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? '');
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(received).toHaveLength(3);
    expect(received.join('')).toBe('You said:');
  });

  it('a plain answer cut mid-body fails the SDK call', async () => {
    const error = await client.chat.completions
      .create({ model: 'test-cut', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
  });

  it('a mid-stream error event surfaces as an APIError', async () => {
    const stream = await client.chat.completions.create({
      model: 'test-stream-error@after=2',
      messages: [{ role: 'user', content: PROMPT }],
      stream: true,
    });
    let count = 0;
    const error = await (async () => {
      for await (const _ of stream) count++;
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).message).toContain('The server had an error');
    expect(count).toBe(2);
  });

  it('a Responses stream error arrives as an `event: error` the SDK raises', async () => {
    const stream = await client.responses.create({ model: 'test-stream-error@after=3', input: PROMPT, stream: true });
    const types: string[] = [];
    const error = await (async () => {
      for await (const event of stream) types.push(event.type);
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIError);
    expect(types).toEqual(['response.created', 'response.in_progress', 'response.output_item.added']);
  });

  it('a slow stream honours the first-chunk delay and the gap between chunks', async () => {
    const started = performance.now();
    const stream = await client.chat.completions.create({
      model: 'test-slow@first=150,gap=40',
      messages: [{ role: 'user', content: 'one two three' }],
      stream: true,
    });
    const headersAt = performance.now() - started;
    const arrivals: number[] = [];
    for await (const _ of stream) arrivals.push(performance.now() - started);
    // Headers are sent at once; the body waits.
    expect(headersAt).toBeLessThan(120);
    expect(arrivals[0]).toBeGreaterThanOrEqual(140);
    const gaps = arrivals.slice(1).map((t, i) => t - arrivals[i]!);
    expect(gaps.length).toBeGreaterThan(4);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(30);
  });

  it('a hang before headers times the SDK out; the request is recorded', async () => {
    const impatient = new OpenAI({ apiKey: API_KEY, baseURL: upstream.url, maxRetries: 0, timeout: 300 });
    const error = await impatient.chat.completions
      .create({ model: 'test-hang', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIConnectionTimeoutError);
    expect(upstream.requests).toHaveLength(1);
  });

  it('a hang after headers leaves a stream that never delivers a chunk', async () => {
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'test-hang@phase=body', messages: [{ role: 'user', content: 'x' }], stream: true },
      { signal: controller.signal },
    );
    const first = stream[Symbol.asyncIterator]().next();
    const outcome = await Promise.race([first.then(() => 'chunk'), new Promise((r) => setTimeout(() => r('waiting'), 300))]);
    expect(outcome).toBe('waiting');
    controller.abort();
    await first.catch(() => undefined);
  });

  it('close() ends hung connections and stops the server', async () => {
    const other = await startOpenAIUpstream();
    const hung = fetch(`${other.url}/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'test-hang', messages: [{ role: 'user', content: 'x' }] }),
    }).catch((e: unknown) => e);
    while (other.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    const started = performance.now();
    await other.close();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await hung).toBeInstanceOf(Error);
    await expect(fetch(`${other.url}/models`)).rejects.toThrow();
  });
});
