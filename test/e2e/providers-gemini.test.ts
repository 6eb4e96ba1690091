/**
 * The official OpenAI SDK against the gateway with a Gemini proxy: chat completions
 * (plain and streamed), tools with JSON Schemas Gemini would refuse unsanitized, safety
 * and recitation stops, errors, usage (also in traces), embeddings, the Responses API and
 * the native Anthropic ingress — against a wire-faithful Gemini API upstream.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TraceRecord } from '../../functions/traces/recorder.js';
import { replyTo, startGeminiUpstream, type GeminiUpstream } from '../support/gemini-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { usageTraced } from '../support/traces.js';

const API_KEY = 'AIzaSyTestKey0123456789abcdefghijklmnop';
let upstream: GeminiUpstream;
let gw: TestGateway;
let client: OpenAI;
const traces: TraceRecord[] = [];

beforeAll(async () => {
  upstream = await startGeminiUpstream({ apiKey: API_KEY });
  gw = await startTestGateway({
    upstreamUrl: upstream.url,
    proxy: { provider: 'gemini', credentialRef: 'env:GEMINI_TEST_KEY', allowPrivateNetwork: true },
    env: { GEMINI_TEST_KEY: API_KEY, GEMINI_BAD_KEY: 'AIzaSyWrongKey9876543210zyxwvutsrqponm' },
    deps: { traceSink: { write: async ({ record }) => void traces.push(record) } },
  });
  await gw.addProxy({ id: 'badkey', provider: 'gemini', credentialRef: 'env:GEMINI_BAD_KEY', allowPrivateNetwork: true });
  client = new OpenAI({ baseURL: `${gw.url}/a/test/openai/v1`, apiKey: gw.key, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
beforeEach(() => upstream.reset());

type Json = Record<string, unknown>;
const sent = (i = 0) => upstream.requests[i]!.body as Json;

/** A tool schema as Pydantic / zod-to-json-schema write them: Gemini refuses most of these keywords. */
const bookingSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://example.com/booking',
  type: 'object',
  additionalProperties: false,
  $defs: {
    Guest: {
      type: 'object',
      additionalProperties: false,
      properties: { name: { type: 'string' }, email: { type: 'string', format: 'email' }, age: { type: 'integer', exclusiveMinimum: 0 } },
      required: ['name'],
    },
  },
  properties: {
    city: { type: 'string', description: 'City' },
    guests: { type: 'array', items: { $ref: '#/$defs/Guest' }, minItems: 1 },
    nights: { anyOf: [{ type: 'integer', exclusiveMaximum: 30 }, { type: 'null' }], default: null },
    budget: { type: ['number', 'null'], exclusiveMinimum: 0 },
    kind: { const: 'hotel' },
    when: { type: 'string', format: 'date-time' },
  },
  required: ['city', 'guests', 'ghost'],
};

const tools: OpenAI.ChatCompletionTool[] = [
  { type: 'function', function: { name: 'book', description: 'Book a stay', parameters: bookingSchema } },
  { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: { tz: { type: 'string' } } } } },
];

/** The sanitized booking schema, written out by hand from Gemini's Schema rules. */
const bookingForGemini = {
  type: 'OBJECT',
  properties: {
    city: { type: 'STRING', description: 'City' },
    guests: {
      type: 'ARRAY',
      minItems: 1,
      items: {
        type: 'OBJECT',
        properties: { name: { type: 'STRING' }, email: { type: 'STRING', description: '(format: email)' }, age: { type: 'INTEGER', minimum: 1 } },
        required: ['name'],
      },
    },
    nights: { type: 'INTEGER', maximum: 29, nullable: true, description: '(default: null)' },
    budget: { type: 'NUMBER', minimum: 0, nullable: true, description: '(greater than 0, not equal)' },
    kind: { type: 'STRING', enum: ['hotel'] },
    when: { type: 'STRING', format: 'date-time' },
  },
  required: ['city', 'guests'],
};

describe('chat completions → Gemini generateContent', () => {
  it('plain: translated both ways; the key goes in x-goog-api-key, system messages in systemInstruction', async () => {
    const { data: res, response } = await client.chat.completions
      .create({
        model: 'gemini-2.5-flash',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'developer', content: 'Answer in English.' },
          { role: 'user', content: 'Say something' },
          { role: 'user', content: 'about rivers' },
        ],
        max_completion_tokens: 50,
        temperature: 1.5,
        top_p: 0.9,
        stop: ['END'],
      })
      .withResponse();
    expect(res.choices[0]?.message.content).toBe(replyTo('Say something about rivers'));
    expect(res.choices[0]?.finish_reason).toBe('stop');
    expect(res.object).toBe('chat.completion');
    const seen = upstream.requests[0]!;
    expect(seen.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(seen.query).toBe('');
    expect(seen.headers['x-goog-api-key']).toBe(API_KEY);
    expect(seen.headers['authorization']).toBeUndefined();
    expect(seen.body).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'Say something' }, { text: 'about rivers' }] }],
      systemInstruction: { parts: [{ text: 'Be brief.' }, { text: 'Answer in English.' }] },
      generationConfig: { maxOutputTokens: 50, temperature: 1.5, topP: 0.9, stopSequences: ['END'] },
    });
    // Prompt: "Be brief." 2 + "Answer in English." 3 + 4 words; completion: the reply's words.
    expect(res.usage).toMatchObject({ prompt_tokens: 9, completion_tokens: replyTo('Say something about rivers').split(' ').length });
    const traced = await usageTraced(traces, response.headers.get('x-sluice-trace-id')!);
    expect(traced).toMatchObject({ promptTokens: 9, completionTokens: 6, totalTokens: 15 });
  });

  it('streamed: SSE chunks (\\r\\n\\r\\n, no [DONE] upstream) become chat chunks ending in [DONE]; no usage chunk unless asked', async () => {
    const stream = await client.chat.completions.create({ model: 'gemini-2.5-flash+slow', messages: [{ role: 'user', content: 'Tell me about the sea' }], stream: true });
    let text = '';
    const finish: unknown[] = [];
    let chunks = 0;
    let sawUsage = false;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.choices[0]?.finish_reason) finish.push(chunk.choices[0].finish_reason);
      if (chunk.usage) sawUsage = true;
    }
    expect(text).toBe(replyTo('Tell me about the sea'));
    expect(finish).toEqual(['stop']);
    expect(chunks).toBeGreaterThan(3);
    expect(sawUsage).toBe(false);
    expect(upstream.requests[0]!.path).toBe('/v1beta/models/gemini-2.5-flash+slow:streamGenerateContent');
    expect(upstream.requests[0]!.query).toBe('alt=sse');
  });

  it('streamed with include_usage: usage from the last chunk exactly — cached content and thoughts included', async () => {
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'gemini-2.5-pro+cache+thoughts', messages: [{ role: 'user', content: 'one two three' }], stream: true, stream_options: { include_usage: true }, reasoning_effort: 'low' })
      .withResponse();
    let usage: OpenAI.CompletionUsage | undefined | null;
    let reasoning = '';
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      reasoning += (chunk.choices[0]?.delta as { reasoning_content?: string } | undefined)?.reasoning_content ?? '';
    }
    expect(sent().generationConfig).toEqual({ thinkingConfig: { thinkingBudget: 1024, includeThoughts: true } });
    expect(reasoning).toBe('Thinking about one two three');
    const visible = replyTo('one two three').split(' ').length;
    expect(usage).toEqual({
      prompt_tokens: 3 + 100,
      completion_tokens: visible + 12,
      total_tokens: 3 + 100 + visible + 12,
      prompt_tokens_details: { cached_tokens: 100 },
      completion_tokens_details: { reasoning_tokens: 12 },
    });
    const traced = await usageTraced(traces, response.headers.get('x-sluice-trace-id')!);
    expect(traced).toMatchObject({ promptTokens: 103, cachedTokens: 100, reasoningTokens: 12, completionTokens: visible + 12 });
  });

  it('streamed without include_usage still meters the usage in the trace', async () => {
    const { data: stream, response } = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'a b c d' }], stream: true }).withResponse();
    for await (const _ of stream) void _;
    const traced = await usageTraced(traces, response.headers.get('x-sluice-trace-id')!);
    expect(traced).toMatchObject({ promptTokens: 4, completionTokens: replyTo('a b c d').split(' ').length });
  });

  it('max_tokens reached → finish_reason length, plain and streamed', async () => {
    const plain = await client.chat.completions.create({ model: 'gemini-2.5-flash+max', messages: [{ role: 'user', content: 'tell me a long story' }] });
    expect(plain.choices[0]!.finish_reason).toBe('length');
    const stream = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'tell me a long story' }], max_tokens: 3, stream: true });
    const finish: unknown[] = [];
    for await (const c of stream) if (c.choices[0]?.finish_reason) finish.push(c.choices[0].finish_reason);
    expect(finish).toEqual(['length']);
    expect(sent(1).generationConfig).toEqual({ maxOutputTokens: 3 });
  });

  it('n → candidateCount: one choice per candidate', async () => {
    const res = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'hello' }], n: 2 });
    expect(sent().generationConfig).toEqual({ candidateCount: 2 });
    expect(res.choices.map((c) => [c.index, c.message.content])).toEqual([
      [0, replyTo('hello')],
      [1, `${replyTo('hello')} (candidate 1)`],
    ]);
  });
});

describe('Gemini 3 thinking: reasoning_effort → thinkingLevel', () => {
  const ask = (model: string, reasoning_effort: string) =>
    client.chat.completions.create({ model, messages: [{ role: 'user', content: 'one two' }], reasoning_effort: reasoning_effort as 'low' });

  it('Gemini 3 Pro: low / high go as thinkingLevel with thought summaries, never as thinkingBudget', async () => {
    const res = await ask('gemini-3-pro-preview+thoughts', 'high');
    expect(sent().generationConfig).toEqual({ thinkingConfig: { thinkingLevel: 'high', includeThoughts: true } });
    expect((res.choices[0]!.message as { reasoning_content?: string }).reasoning_content).toBe('Thinking about one two');
    await ask('gemini-3-pro-preview', 'low');
    expect(sent(1).generationConfig).toEqual({ thinkingConfig: { thinkingLevel: 'low', includeThoughts: true } });
  });

  it('Gemini 3 Flash takes minimal and medium; Gemini 3.1 Pro medium', async () => {
    await ask('gemini-3-flash-preview', 'minimal');
    await ask('gemini-3-flash-preview', 'medium');
    await ask('gemini-3.1-pro-preview', 'medium');
    expect(upstream.requests.map((r) => ((r.body as Json).generationConfig as Json).thinkingConfig)).toEqual([
      { thinkingLevel: 'minimal', includeThoughts: true },
      { thinkingLevel: 'medium', includeThoughts: true },
      { thinkingLevel: 'medium', includeThoughts: true },
    ]);
  });

  it('what the model would refuse is our 400 naming the values it takes, and Google is not called', async () => {
    const cases: Array<[string, string, string]> = [
      ['gemini-3-pro-preview', 'medium', 'it takes low, high'],
      ['gemini-3-pro-preview', 'minimal', 'it takes low, high'],
      ['gemini-3-pro-preview', 'none', 'thinking cannot be turned off'],
      ['gemini-3-flash-preview', 'none', 'thinking cannot be turned off'],
      ['gemini-3.1-pro-preview', 'minimal', 'it takes low, medium, high'],
      ['gemini-2.5-pro', 'none', 'only works in thinking mode'],
    ];
    for (const [model, effort, message] of cases) {
      const err = await ask(model, effort).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, `${model} ${effort}`).toBeInstanceOf(OpenAI.BadRequestError);
      const e = err as InstanceType<typeof OpenAI.BadRequestError>;
      expect([e.code, e.param]).toEqual(['unsupported_value', 'reasoning_effort']);
      expect(e.message).toContain(message);
    }
    expect(upstream.requests).toHaveLength(0);
  });

  it('Gemini 2.5 keeps thinkingBudget; none turns thinking off on Flash', async () => {
    await ask('gemini-2.5-flash', 'none');
    await ask('gemini-2.5-pro', 'medium');
    expect(upstream.requests.map((r) => ((r.body as Json).generationConfig as Json).thinkingConfig)).toEqual([{ thinkingBudget: 0 }, { thinkingBudget: 8192, includeThoughts: true }]);
  });

  it('the test upstream refuses what Google documents as refused', async () => {
    const call = async (model: string, thinkingConfig: Json) => {
      const res = await fetch(`${upstream.url}/models/${model}:generateContent`, {
        method: 'POST',
        headers: { 'x-goog-api-key': API_KEY, 'content-type': 'application/json' },
        body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }], generationConfig: { thinkingConfig } }),
      });
      return { status: res.status, message: ((await res.json()) as { error?: { message?: string } }).error?.message };
    };
    expect(await call('gemini-3-pro-preview', { thinkingLevel: 'medium' })).toEqual({ status: 400, message: 'Thinking level MEDIUM is not supported for this model. Please retry with other thinking level' });
    expect(await call('gemini-2.5-flash', { thinkingLevel: 'low' })).toEqual({ status: 400, message: 'Thinking level is not supported for this model.' });
    expect(await call('gemini-3-pro-preview', { thinkingBudget: 0 })).toEqual({ status: 400, message: 'Budget 0 is invalid. This model only works in thinking mode.' });
    expect(await call('gemini-2.5-pro', { thinkingBudget: 0 })).toEqual({ status: 400, message: 'Budget 0 is invalid. This model only works in thinking mode.' });
    expect((await call('gemini-2.5-flash', { thinkingBudget: 0 })).status).toBe(200);
    expect((await call('gemini-3-flash-preview', { thinkingLevel: 'minimal' })).status).toBe(200);
  });
});

describe('tools', () => {
  it('plain: schemas sanitized for Gemini (the upstream refuses $ref, additionalProperties, exclusive bounds…), calls get call_ ids, finish tool_calls', async () => {
    const res = await client.chat.completions.create({ model: 'gemini-2.5-flash+tools', messages: [{ role: 'user', content: 'book Paris' }], tools, tool_choice: 'required' });
    const decls = ((sent().tools as Json[])[0]!.functionDeclarations as Json[]);
    expect(decls).toEqual([
      { name: 'book', description: 'Book a stay', parameters: bookingForGemini },
      { name: 'get_time', parameters: { type: 'OBJECT', properties: { tz: { type: 'STRING' } } } },
    ]);
    expect(sent().toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY' } });
    const calls = res.choices[0]!.message.tool_calls!;
    expect(calls.map((c) => c.type === 'function' && [c.function.name, JSON.parse(c.function.arguments)])).toEqual([
      ['book', { city: 'book Paris' }],
      ['get_time', { tz: 'book Paris' }],
    ]);
    for (const c of calls) expect(c.id).toMatch(/^call_[0-9a-f]{24}$/);
    expect(new Set(calls.map((c) => c.id)).size).toBe(2);
    expect(res.choices[0]!.finish_reason).toBe('tool_calls');
    expect(res.choices[0]!.message.content).toBeNull();
  });

  it('the upstream refuses the same schema unsanitized, as Gemini does (so the test above can fail)', async () => {
    const res = await fetch(`${upstream.url}/models/gemini-2.5-flash:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': API_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'x' }] }], tools: [{ functionDeclarations: [{ name: 'book', parameters: bookingSchema }] }] }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { status: string; message: string } };
    expect(body.error.status).toBe('INVALID_ARGUMENT');
    expect(body.error.message).toMatch(/Unknown name "\$schema"/);
  });

  it('a tool round trip: tool results become functionResponse parts named after their calls (the upstream checks the counts)', async () => {
    const first = await client.chat.completions.create({ model: 'gemini-2.5-flash+tools', messages: [{ role: 'user', content: 'book Paris' }], tools });
    const calls = first.choices[0]!.message.tool_calls!;
    const second = await client.chat.completions.create({
      model: 'gemini-2.5-flash',
      messages: [
        { role: 'user', content: 'book Paris' },
        first.choices[0]!.message as OpenAI.ChatCompletionMessageParam,
        { role: 'tool', tool_call_id: calls[0]!.id, content: '{"booked":true}' },
        { role: 'tool', tool_call_id: calls[1]!.id, content: '10:00' },
      ],
      tools,
    });
    expect(second.choices[0]!.message.content).toBe(replyTo('results {"booked":true} {"output":"10:00"}'));
    const contents = sent(1).contents as Json[];
    expect(contents.map((c) => c.role)).toEqual(['user', 'model', 'user']);
    // Gemini issued no ids (the gateway made the call_ ids up): none are sent back.
    expect(contents[1]!.parts).toEqual([
      { functionCall: { name: 'book', args: { city: 'book Paris' } } },
      { functionCall: { name: 'get_time', args: { tz: 'book Paris' } } },
    ]);
    expect(contents[2]!.parts).toEqual([
      { functionResponse: { name: 'book', response: { booked: true } } },
      { functionResponse: { name: 'get_time', response: { output: '10:00' } } },
    ]);
  });

  it("Gemini's own call ids and thought signatures are kept and sent back", async () => {
    const first = await client.chat.completions.create({ model: 'gemini-2.5-pro+tools+ids+thoughts', messages: [{ role: 'user', content: 'book Rome' }], tools, reasoning_effort: 'medium' });
    const message = first.choices[0]!.message as OpenAI.ChatCompletionMessage & { reasoning_content?: string };
    expect(message.reasoning_content).toBe('Thinking about book Rome');
    const calls = message.tool_calls! as Array<OpenAI.ChatCompletionMessageToolCall & { extra_content?: unknown }>;
    expect(calls.map((c) => c.id)).toEqual([expect.stringMatching(/^fc-/), expect.stringMatching(/^fc-/)]);
    expect(calls[0]!.extra_content).toEqual({ google: { thought_signature: 'sig-1' } });
    await client.chat.completions.create({
      model: 'gemini-2.5-pro',
      messages: [{ role: 'user', content: 'book Rome' }, message as OpenAI.ChatCompletionMessageParam, ...calls.map((c) => ({ role: 'tool' as const, tool_call_id: c.id, content: 'ok' }))],
      tools,
    });
    const contents = sent(1).contents as Json[];
    expect(contents[1]!.parts).toEqual([
      { functionCall: { id: calls[0]!.id, name: 'book', args: { city: 'book Rome' } }, thoughtSignature: 'sig-1' },
      { functionCall: { id: calls[1]!.id, name: 'get_time', args: { tz: 'book Rome' } } },
    ]);
    expect((contents[2]!.parts as Json[]).map((p) => (p.functionResponse as Json).id)).toEqual(calls.map((c) => c.id));
  });

  it('streamed parallel calls: each whole functionCall part is one tool_call delta with a dense index; text before the calls is kept', async () => {
    const runner = client.chat.completions.stream({ model: 'gemini-2.5-flash+text-tool', messages: [{ role: 'user', content: 'book Oslo' }], tools });
    const deltas: Array<{ index: number; id?: string; name?: string }> = [];
    runner.on('chunk', (chunk) => {
      for (const call of chunk.choices[0]?.delta?.tool_calls ?? []) deltas.push({ index: call.index, id: call.id, name: call.function?.name });
    });
    const final = await runner.finalChatCompletion();
    expect(deltas.map((d) => [d.index, d.name])).toEqual([
      [0, 'book'],
      [1, 'get_time'],
    ]);
    const message = final.choices[0]!.message;
    expect(message.content).toBe('Let me check. One moment.');
    expect(message.tool_calls?.map((c) => c.type === 'function' && [c.id, c.function.name, JSON.parse(c.function.arguments)])).toEqual([
      [deltas[0]!.id, 'book', { city: 'book Oslo' }],
      [deltas[1]!.id, 'get_time', { tz: 'book Oslo' }],
    ]);
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
  });

  it('tool_choice: a named function → ANY limited to it; none → NONE and no call', async () => {
    const named = await client.chat.completions.create({ model: 'gemini-2.5-flash+tools', messages: [{ role: 'user', content: 'time' }], tools, tool_choice: { type: 'function', function: { name: 'get_time' } } });
    expect(sent().toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_time'] } });
    expect(named.choices[0]!.message.tool_calls?.map((c) => c.type === 'function' && c.function.name)).toEqual(['get_time']);
    const none = await client.chat.completions.create({ model: 'gemini-2.5-flash+tools', messages: [{ role: 'user', content: 'time' }], tools, tool_choice: 'none' });
    expect(sent(1).toolConfig).toEqual({ functionCallingConfig: { mode: 'NONE' } });
    expect(none.choices[0]!.message.tool_calls).toBeUndefined();
    expect(none.choices[0]!.finish_reason).toBe('stop');
  });

  it('a recursive $ref is a clear 400 before any upstream call', async () => {
    const tree = { type: 'object', properties: { children: { type: 'array', items: { $ref: '#' } } } };
    const err = (await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'function', function: { name: 'walk', parameters: tree } }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(400);
    expect(err.code).toBe('invalid_tool_schema');
    expect(err.message).toMatch(/recursive/);
    expect(upstream.requests).toHaveLength(0);
  });

  it('response_format json_schema → responseMimeType + a sanitized responseSchema', async () => {
    await client.chat.completions.create({
      model: 'gemini-2.5-flash',
      messages: [{ role: 'user', content: 'a city' }],
      response_format: { type: 'json_schema', json_schema: { name: 'city', strict: true, schema: { type: 'object', additionalProperties: false, properties: { name: { type: 'string' }, size: { type: 'integer', exclusiveMinimum: 0 } }, required: ['name', 'size'] } } },
    });
    expect(sent().generationConfig).toEqual({
      responseMimeType: 'application/json',
      responseSchema: { type: 'OBJECT', properties: { name: { type: 'STRING' }, size: { type: 'INTEGER', minimum: 1 } }, required: ['name', 'size'] },
    });
  });
});

describe('safety and recitation → content_filter', () => {
  for (const [flag, label] of [
    ['safety', 'SAFETY'],
    ['recitation', 'RECITATION'],
    ['prohibited', 'PROHIBITED_CONTENT'],
    ['prompt-block', 'promptFeedback.blockReason'],
  ] as const) {
    it(`${label}: plain and streamed`, async () => {
      const plain = await client.chat.completions.create({ model: `gemini-2.5-flash+${flag}`, messages: [{ role: 'user', content: 'something risky here' }] });
      expect(plain.choices[0]!.finish_reason).toBe('content_filter');
      expect(plain.choices[0]!.message.content).toBe('');
      const stream = await client.chat.completions.create({ model: `gemini-2.5-flash+${flag}`, messages: [{ role: 'user', content: 'something risky here' }], stream: true, stream_options: { include_usage: true } });
      const finish: unknown[] = [];
      let usage: OpenAI.CompletionUsage | null | undefined;
      let text = '';
      for await (const c of stream) {
        if (c.choices[0]?.finish_reason) finish.push(c.choices[0].finish_reason);
        text += c.choices[0]?.delta?.content ?? '';
        if (c.usage) usage = c.usage;
      }
      expect(finish).toEqual(['content_filter']);
      expect(usage?.prompt_tokens).toBe(3);
      // What came before a mid-answer block was already sent; a blocked prompt sends nothing.
      expect(text).toBe(flag === 'prompt-block' ? '' : 'You said:');
    });
  }
});

describe('errors', () => {
  const fail = (model: string, extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}) =>
    client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], ...extra }).catch((e: unknown) => e) as Promise<InstanceType<typeof OpenAI.APIError>>;

  it('429 RESOURCE_EXHAUSTED → 429 rate_limit_error with Retry-After from RetryInfo', async () => {
    const e = await fail('gemini-2.5-flash+error=429');
    expect(e.status).toBe(429);
    expect(e.type).toBe('rate_limit_error');
    expect(e.headers?.get('retry-after')).toBe('7');
  });

  it('400 INVALID_ARGUMENT → 400 invalid_request_error; a token-limit message → context_length_exceeded', async () => {
    const e = await fail('gemini-2.5-flash+error=400');
    expect([e.status, e.type, e.code]).toEqual([400, 'invalid_request_error', 'invalid_argument']);
    const long = await fail('gemini-2.5-flash+error=400+context');
    expect(long.code).toBe('context_length_exceeded');
  });

  it('404 → model_not_found; 403 → permission_error; 503 → 503 (retryable); 500 → 502', async () => {
    expect([(await fail('gemini-9+error=404')).status, (await fail('gemini-9+error=404')).code]).toEqual([404, 'model_not_found']);
    const forbidden = await fail('gemini-2.5-flash+error=403');
    expect([forbidden.status, forbidden.type]).toEqual([403, 'permission_error']);
    expect((await fail('gemini-2.5-flash+error=503')).status).toBe(503);
    expect((await fail('gemini-2.5-flash+error=500')).status).toBe(502);
  });

  it('an invalid API key (Google answers 400 API_KEY_INVALID) → 401, and the key never appears', async () => {
    const bad = new OpenAI({ baseURL: `${gw.url}/a/badkey/openai/v1`, apiKey: (await gw.addKey({ proxyId: 'badkey' })).key, maxRetries: 0 });
    const { data: raw, response } = await bad.chat.completions
      .create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse()
      .then(
        () => ({ data: undefined, response: undefined }),
        (e: InstanceType<typeof OpenAI.APIError>) => ({ data: e, response: e }),
      );
    expect(response).toBeDefined();
    expect(raw!.status).toBe(401);
    expect(raw!.type).toBe('authentication_error');
    expect(JSON.stringify(raw!.error)).not.toContain('AIzaSyWrongKey');
    expect(JSON.stringify(traces)).not.toContain('AIzaSyWrongKey');
    expect(JSON.stringify(traces)).not.toContain(API_KEY);
  });

  it('parameters Gemini cannot honour are a 400 unsupported_parameter; temperature above 2 a 400; the upstream is never called', async () => {
    const e = await fail('gemini-2.5-flash', { logit_bias: { '50256': -100 } });
    expect([e.status, e.code, e.param]).toEqual([400, 'unsupported_parameter', 'logit_bias']);
    const t = await fail('gemini-2.5-flash', { temperature: 2.5 });
    expect(t.status).toBe(400);
    expect(t.message).toMatch(/between 0 and 2/);
    expect(upstream.requests).toHaveLength(0);
  });

  it('a mid-stream error payload ends the stream with an OpenAI error event and [DONE]', async () => {
    const res = await fetch(`${gw.url}/a/test/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gemini-2.5-flash+stream-error=2', messages: [{ role: 'user', content: 'a b c d e f g' }], stream: true }),
    });
    const events = (await res.text()).split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    const error = JSON.parse(events.at(-2)!.slice('data: '.length)) as { error: { type: string; code: string } };
    expect(error.error).toMatchObject({ type: 'service_unavailable', code: 'unavailable' });
    expect(events.filter((e) => e.includes('"content":"')).length).toBeGreaterThan(0);
  });

  it('a cut stream, and a stream that ends without a finishReason, end with an error event and [DONE], never silently', async () => {
    for (const model of ['gemini-2.5-flash+cut=2', 'gemini-2.5-flash+no-finish']) {
      const res = await fetch(`${gw.url}/a/test/openai/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'a b c d e f g' }], stream: true }),
      });
      const events = (await res.text()).split('\n\n').filter(Boolean);
      expect(events.at(-1)).toBe('data: [DONE]');
      // Cut: the socket died; no finishReason: a clean end before the answer finished.
      expect(events.at(-2)).toContain(model.endsWith('no-finish') ? 'stream_incomplete' : 'stream_interrupted');
      expect(events.some((e) => e.includes('finish_reason":"stop'))).toBe(false);
    }
  });
});

describe('images, embeddings, Responses API, Anthropic ingress', () => {
  it('a data: URL becomes inlineData; an http(s) URL is a 400 (never fetched)', async () => {
    await client.chat.completions.create({
      model: 'gemini-2.5-flash',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] }],
    });
    expect((sent().contents as Json[])[0]!.parts).toEqual([{ text: 'what is this' }, { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } }]);
    const err = (await client.chat.completions
      .create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } }] }] })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect([err.status, err.code]).toEqual([400, 'invalid_image_url']);
    expect(upstream.requests).toHaveLength(1);
  });

  it('embeddings through batchEmbedContents, in order, with dimensions → outputDimensionality', async () => {
    const res = await client.embeddings.create({ model: 'text-embedding-004', input: ['alpha', 'beta', 'gamma'], dimensions: 4 });
    expect(upstream.requests[0]!.path).toBe('/v1beta/models/text-embedding-004:batchEmbedContents');
    expect(sent().requests).toEqual(['alpha', 'beta', 'gamma'].map((text) => ({ model: 'models/text-embedding-004', content: { parts: [{ text }] }, outputDimensionality: 4 })));
    expect(res.data.map((d) => d.index)).toEqual([0, 1, 2]);
    expect(res.data.every((d) => d.embedding.length === 4)).toBe(true);
    expect(res.data[0]!.embedding).not.toEqual(res.data[1]!.embedding);
    const again = await client.embeddings.create({ model: 'text-embedding-004', input: 'beta', dimensions: 4 });
    expect(again.data[0]!.embedding).toEqual(res.data[1]!.embedding);
  });

  it('Responses API: plain and streamed through the chat translation', async () => {
    const plain = await client.responses.create({ model: 'gemini-2.5-flash', instructions: 'Be brief.', input: 'Say something about rivers', max_output_tokens: 100 });
    expect(plain.output_text).toBe(replyTo('Say something about rivers'));
    expect(sent().systemInstruction).toEqual({ parts: [{ text: 'Be brief.' }] });
    expect(plain.usage?.input_tokens).toBe(6);
    const streamed = await client.responses.stream({ model: 'gemini-2.5-flash+tools', input: 'book Lima', tools: [{ type: 'function', name: 'get_time', parameters: { type: 'object', properties: { tz: { type: 'string' } } }, strict: false }] }).finalResponse();
    const call = streamed.output.find((o) => o.type === 'function_call');
    expect(call).toMatchObject({ type: 'function_call', name: 'get_time', arguments: JSON.stringify({ tz: 'book Lima' }) });
    expect(streamed.status).toBe('completed');
  });

  it('Responses API stream: a mid-stream Gemini error ends it with an error event and [DONE]', async () => {
    const res = await fetch(`${gw.url}/a/test/openai/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gemini-2.5-flash+stream-error=2', input: 'a b c d e f g', stream: true }),
    });
    const events = (await res.text()).split('\n\n').filter(Boolean);
    expect(events[0]).toContain('event: response.created');
    expect(events.some((e) => e.startsWith('event: response.output_text.delta'))).toBe(true);
    expect(events.at(-1)).toBe('data: [DONE]');
    expect(events.at(-2)).toMatch(/^event: error\ndata: .*"code":"unavailable"/);
    expect(events.some((e) => e.startsWith('event: response.completed'))).toBe(false);
  });

  it('native Anthropic Messages on a Gemini proxy: translated through chat, answered as a Message and as Anthropic events', async () => {
    const post = (body: Json) =>
      fetch(`${gw.url}/a/test/anthropic/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': gw.key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify(body),
      });
    const plain = (await (await post({ model: 'gemini-2.5-flash', max_tokens: 100, system: 'Be brief.', messages: [{ role: 'user', content: 'hello there' }] })).json()) as Json;
    expect(plain).toMatchObject({ type: 'message', role: 'assistant', stop_reason: 'end_turn', content: [{ type: 'text', text: replyTo('hello there') }] });
    expect(sent().systemInstruction).toEqual({ parts: [{ text: 'Be brief.' }] });
    const res = await post({ model: 'gemini-2.5-flash+safety', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'hello there' }] });
    const text = await res.text();
    expect(text).toContain('event: message_start');
    expect(text).toContain('event: message_stop');
    expect(text).toContain('"stop_reason":"refusal"');
  });
});
