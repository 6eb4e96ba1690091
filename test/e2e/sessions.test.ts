/**
 * Sessions end to end: the official OpenAI SDK through the local runtime, with no
 * client change — conversations group by fingerprint (plain, streamed, tool turns),
 * by `user`, by `previous_response_id`, and a session id never crosses proxies.
 */
import Anthropic from '@anthropic-ai/sdk';
import { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand, type ContentBlock, type Message } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startAnthropicUpstream, type AnthropicUpstream } from '../support/anthropic-upstream.js';
import { startBedrockUpstream, useTestAwsCredentials, type BedrockUpstream } from '../support/bedrock-upstream.js';
import { createBedrockClients } from '../../functions/providers/bedrock/transport.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoSessionStore } from '../../functions/sessions/dynamodb-session-store.js';
import { FileSessionStore } from '../../functions/sessions/file-session-store.js';
import { LayeredCache } from '../../functions/stores/layered-cache.js';
import { LruCache } from '../../functions/stores/lru-cache.js';
import { RedisCache } from '../../functions/stores/redis-cache.js';
import { startRedis } from '../support/redis.js';
import { createSluiceTables, localDynamoClient, startDynalite } from '../support/dynalite.js';
import type { TraceSink } from '../../functions/traces/sink.js';
import { pollFor } from '../support/traces.js';

/** Trace attributes by trace id, as the gateway hands them to its sink (whatever batch shape it uses). */
const traces = new Map<string, Record<string, unknown>>();
const capturingSink = {
  async write(arg: unknown) {
    const record = (typeof arg === 'object' && arg !== null && 'record' in arg ? (arg as { record: unknown }).record : arg) as {
      traceId: string;
      sessionId: string;
      attributes: Record<string, unknown>;
    };
    traces.set(record.traceId, { ...traces.get(record.traceId), ...record.attributes, sessionId: record.sessionId });
  },
} as unknown as TraceSink;

let upstream: OpenAIUpstream;
let gw: TestGateway;
let client: OpenAI;
let sessionsDir: string;
let sessions: FileSessionStore;

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  sessionsDir = await mkdtemp(join(tmpdir(), 'sluice-sessions-'));
  sessions = new FileSessionStore({ dataDir: sessionsDir });
  gw = await startTestGateway({ upstreamUrl: upstream.url, deps: { traceSink: capturingSink, sessions } });
  client = new OpenAI({ baseURL: `${gw.url}/a/test/openai/v1`, apiKey: gw.key, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
  await sessions?.idle(); // link writes finish after the response they belong to
  if (sessionsDir) await rm(sessionsDir, { recursive: true, force: true });
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function traceOf(response: Response): Promise<Record<string, unknown>> {
  return traceById(response.headers.get('x-sluice-trace-id')!);
}

async function traceById(traceId: string): Promise<Record<string, unknown>> {
  const trace = await pollFor(() => traces.get(traceId), { tries: 1000, everyMs: 5 });
  if (!trace) throw new Error(`no trace ${traceId}`);
  return trace;
}

interface Turn {
  sessionId: string | null;
  trace: Record<string, unknown>;
}

async function plainTurn(c: OpenAI, messages: OpenAI.ChatCompletionMessageParam[], extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}): Promise<Turn & { message: OpenAI.ChatCompletionMessage }> {
  const { data, response } = await c.chat.completions.create({ model: 'gpt-4o-mini', messages, ...extra }).withResponse();
  return { sessionId: response.headers.get('x-sluice-session-id'), trace: await traceOf(response), message: data.choices[0]!.message };
}

async function streamedTurn(c: OpenAI, messages: OpenAI.ChatCompletionMessageParam[], extra: Partial<OpenAI.ChatCompletionCreateParamsStreaming> = {}): Promise<Turn & { message: OpenAI.ChatCompletionMessage }> {
  const { data: stream, response } = await c.chat.completions
    .create({ model: 'gpt-4o-mini', messages, stream: true, stream_options: { include_usage: true }, ...extra })
    .withResponse();
  // Accumulate the way an application does: text deltas and tool-call fragments into one message.
  let content = '';
  const calls: { id: string; type: 'function'; function: { name: string; arguments: string } }[] = [];
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta;
    if (delta?.content) content += delta.content;
    for (const tc of delta?.tool_calls ?? []) {
      const call = (calls[tc.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } });
      if (tc.id) call.id = tc.id;
      if (tc.function?.name) call.function.name += tc.function.name;
      if (tc.function?.arguments) call.function.arguments += tc.function.arguments;
    }
  }
  const message = { role: 'assistant', content: content || null, refusal: null, ...(calls.length ? { tool_calls: calls } : {}) } as OpenAI.ChatCompletionMessage;
  return { sessionId: response.headers.get('x-sluice-session-id'), trace: await traceOf(response), message };
}

describe('fingerprint: a conversation without a session header is one session', () => {
  it('plain: three turns re-sending the SDK history share a session with turns 1..3', async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Name a river in France' },
    ];
    const turns: Turn[] = [];
    for (const next of ['And one in Spain?', 'And in Italy?', undefined]) {
      const turn = await plainTurn(client, messages);
      turns.push(turn);
      messages.push(turn.message); // the SDK's message object, as applications re-send it
      if (next) messages.push({ role: 'user', content: next });
      else break;
    }
    expect(turns).toHaveLength(3);
    expect(turns[0]!.sessionId).toMatch(UUID);
    expect(new Set(turns.map((t) => t.sessionId)).size).toBe(1);
    expect(turns.map((t) => t.trace.sessionTurn)).toEqual([1, 2, 3]);
    expect(turns.map((t) => t.trace.sessionStrategy)).toEqual(['new', 'fingerprint', 'fingerprint']);
    expect(turns.every((t) => t.trace.sessionId === turns[0]!.sessionId)).toBe(true);

    // The same system prompt with another first question is another conversation.
    const other = await plainTurn(client, [messages[0]!, { role: 'user', content: 'Name a mountain' }]);
    expect(other.sessionId).not.toBe(turns[0]!.sessionId);
    expect(other.trace.sessionTurn).toBe(1);
  });

  it('streamed: three turns share a session with turns 1..3', async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: [{ type: 'text', text: 'Tell me about lighthouses' }] }];
    const turns: Turn[] = [];
    for (let i = 0; i < 3; i++) {
      const turn = await streamedTurn(client, messages);
      turns.push(turn);
      messages.push(turn.message, { role: 'user', content: `Go on (${i})` });
    }
    expect(new Set(turns.map((t) => t.sessionId)).size).toBe(1);
    expect(turns.map((t) => t.trace.sessionTurn)).toEqual([1, 2, 3]);
    expect(turns.map((t) => t.trace.sessionStrategy)).toEqual(['new', 'fingerprint', 'fingerprint']);
  });

  it('tool turns: parallel tool calls and their results stay in the session (streamed and plain)', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
    ];
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Oslo and Bergen?' }];
    const first = await streamedTurn(client, messages, { model: 'test-tools', tools });
    expect(first.message.tool_calls).toHaveLength(2);
    messages.push(first.message);
    for (const call of first.message.tool_calls!) messages.push({ role: 'tool', tool_call_id: call.id, content: `sunny (${call.id})` });
    const second = await plainTurn(client, messages, { tools });
    messages.push(second.message, { role: 'user', content: 'Thanks. Tomorrow?' });
    const third = await plainTurn(client, messages, { model: 'test-tools', tools });
    messages.push(third.message);
    for (const call of third.message.tool_calls!) messages.push({ role: 'tool', tool_call_id: call.id, content: 'rain' });
    const fourth = await streamedTurn(client, messages, { tools });

    const all = [first, second, third, fourth];
    expect(new Set(all.map((t) => t.sessionId)).size).toBe(1);
    expect(all.map((t) => t.trace.sessionTurn)).toEqual([1, 2, 3, 4]);
  });
});

describe('user and previous_response_id', () => {
  it('the `user` field groups unrelated requests of one user, per user', async () => {
    const a1 = await plainTurn(client, [{ role: 'user', content: 'first thing' }], { user: 'alice@example.com' });
    const b1 = await plainTurn(client, [{ role: 'user', content: 'first thing' }], { user: 'bob@example.com' });
    const a2 = await streamedTurn(client, [{ role: 'user', content: 'something unrelated' }], { user: 'alice@example.com' });
    expect(a1.sessionId).toBe(a2.sessionId);
    expect(b1.sessionId).not.toBe(a1.sessionId);
    expect([a1.trace.sessionTurn, a2.trace.sessionTurn, b1.trace.sessionTurn]).toEqual([1, 2, 1]);
    expect([a1.trace.sessionStrategy, a2.trace.sessionStrategy]).toEqual(['user', 'user']);
  });

  it('previous_response_id continues the session of that response (plain and streamed)', async () => {
    const first = await client.responses.create({ model: 'gpt-4o-mini', input: 'Describe a harbour' }).withResponse();
    const s1 = first.response.headers.get('x-sluice-session-id');
    const second = await client.responses.create({ model: 'gpt-4o-mini', input: 'More detail', previous_response_id: first.data.id, stream: true }).withResponse();
    let secondId = '';
    for await (const event of second.data) if (event.type === 'response.completed') secondId = event.response.id;
    const third = await client.responses.create({ model: 'gpt-4o-mini', input: 'Summarize', previous_response_id: secondId }).withResponse();

    expect(second.response.headers.get('x-sluice-session-id')).toBe(s1);
    expect(third.response.headers.get('x-sluice-session-id')).toBe(s1);
    const t = await Promise.all([first, second, third].map((r) => traceOf(r.response)));
    expect(t.map((x) => x.sessionTurn)).toEqual([1, 2, 3]);
    expect(t.map((x) => x.sessionStrategy)).toEqual(['new', 'previous_response_id', 'previous_response_id']);

    // An unknown response id falls through to a new session, no error.
    const unknown = await client.responses.create({ model: 'gpt-4o-mini', input: 'x', previous_response_id: 'resp_unknown' }).withResponse();
    expect(unknown.response.headers.get('x-sluice-session-id')).not.toBe(s1);
    expect((await traceOf(unknown.response)).sessionStrategy).toBe('new');
  });
});

describe('header sessions are proxy-scoped', () => {
  it('the owning proxy counts turns; another proxy gets a fresh session and the refused id is traced', async () => {
    const sessionId = crypto.randomUUID();
    const headers = { 'X-Sluice-Session-Id': sessionId };
    const t1 = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'one' }] }, { headers }).withResponse();
    const t2 = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'two' }] }, { headers }).withResponse();
    expect(t1.response.headers.get('x-sluice-session-id')).toBe(sessionId);
    expect(t2.response.headers.get('x-sluice-session-id')).toBe(sessionId);
    expect((await traceOf(t1.response)).sessionTurn).toBe(1);
    expect((await traceOf(t2.response)).sessionTurn).toBe(2);

    const other = await gw.addProxy({ id: 'other' });
    const { key } = await gw.addKey({ proxyId: other.id });
    const otherClient = new OpenAI({ baseURL: `${gw.url}/a/other/openai/v1`, apiKey: key, maxRetries: 0 });
    const probe = await otherClient.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'probe' }] }, { headers }).withResponse();
    expect(probe.response.status).toBe(200);
    const fresh = probe.response.headers.get('x-sluice-session-id');
    expect(fresh).toMatch(UUID);
    expect(fresh).not.toBe(sessionId);
    const probeTrace = await traceOf(probe.response);
    expect(probeTrace).toMatchObject({ sessionRefusedId: sessionId, sessionStrategy: 'new', sessionTurn: 1, sessionId: fresh });

    // The owner's session was not touched by the probe.
    const t3 = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'three' }] }, { headers }).withResponse();
    expect((await traceOf(t3.response)).sessionTurn).toBe(3);
  });

  it('a malformed session header is a 400 before anything else', async () => {
    upstream.reset();
    const err = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'malformed' }] }, { headers: { 'X-Sluice-Session-Id': 'not-a-uuid' } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(upstream.requests).toHaveLength(0);
  });
});

/** 50 conversations at once, three streamed turns each, no session header: fingerprinting alone must group them. */
async function concurrentConversations(c: OpenAI, count: number): Promise<Turn[][]> {
  return Promise.all(
    Array.from({ length: count }, async (_, n) => {
      const messages: OpenAI.ChatCompletionMessageParam[] = [
        { role: 'system', content: 'Shared system prompt.' },
        { role: 'user', content: `Conversation ${n}: tell me about topic ${n * 7919}` },
      ];
      const turns: Turn[] = [];
      for (let i = 0; i < 3; i++) {
        const turn = await streamedTurn(c, messages);
        turns.push(turn);
        messages.push(turn.message, { role: 'user', content: `Conversation ${n}, follow-up ${i}` });
      }
      return turns;
    }),
  );
}

function expectGrouped(conversations: Turn[][]): void {
  for (const turns of conversations) {
    expect(new Set(turns.map((t) => t.sessionId)).size).toBe(1);
    expect(turns.map((t) => t.trace.sessionTurn)).toEqual([1, 2, 3]);
  }
  expect(new Set(conversations.map((turns) => turns[0]!.sessionId)).size).toBe(conversations.length);
}

describe('concurrency', () => {
  it('file store: 50 concurrent streamed conversations × 3 turns → 50 sessions with turns 1..3', async () => {
    expectGrouped(await concurrentConversations(client, 50));
  });

  it('DynamoDB store (dynalite): the same, through SLUICE_STORE=dynamodb session storage', async () => {
    const dynalite = await startDynalite();
    const dynamo = localDynamoClient(dynalite.endpoint);
    const { stateTable } = await createSluiceTables(dynamo);
    const store = new DynamoSessionStore({ client: dynamo, tableName: stateTable });
    const dgw = await startTestGateway({ upstreamUrl: upstream.url, deps: { traceSink: capturingSink, sessions: store } });
    try {
      const c = new OpenAI({ baseURL: `${dgw.url}/v1`, apiKey: dgw.key, maxRetries: 0 });
      expectGrouped(await concurrentConversations(c, 50));
    } finally {
      await dgw.close();
      dynamo.destroy();
      await dynalite.close();
    }
  });
});

describe('a failing session store never fails the request', () => {
  it('the call proceeds on a fresh session without a turn; the error is on the trace', async () => {
    const dynalite = await startDynalite();
    const dynamo = localDynamoClient(dynalite.endpoint);
    await dynalite.close(); // nothing listens there any more
    const broken = new DynamoSessionStore({ client: dynamo, tableName: 'gone' });
    const bgw = await startTestGateway({ upstreamUrl: upstream.url, deps: { traceSink: capturingSink, sessions: broken } });
    try {
      const c = new OpenAI({ baseURL: `${bgw.url}/v1`, apiKey: bgw.key, maxRetries: 0 });
      const turn = await plainTurn(c, [{ role: 'user', content: 'still answered' }]);
      expect(turn.message.content).toBeTruthy();
      expect(turn.sessionId).toMatch(UUID);
      expect(turn.trace.sessionTurn).toBeUndefined();
      expect(turn.trace.sessionError).toBeTruthy();
    } finally {
      await bgw.close();
      dynamo.destroy();
    }
  });
});

describe('Anthropic Messages ingress (official Anthropic SDK)', () => {
  const PROVIDER_KEY = 'sk-ant-provider-key-for-session-tests';
  let anthropicUpstream: AnthropicUpstream;
  let agw: TestGateway;
  let anthropic: Anthropic;
  beforeAll(async () => {
    anthropicUpstream = await startAnthropicUpstream({ apiKey: PROVIDER_KEY });
    agw = await startTestGateway({
      upstreamUrl: anthropicUpstream.url,
      proxy: { provider: 'anthropic', credentialRef: 'env:ANTHROPIC_SESSION_TEST_KEY' },
      env: { ANTHROPIC_SESSION_TEST_KEY: PROVIDER_KEY },
      deps: { traceSink: capturingSink, sessions },
    });
    anthropic = new Anthropic({ baseURL: `${agw.url}/a/test/anthropic`, apiKey: agw.key, maxRetries: 0 });
  });
  afterAll(async () => {
    await agw?.close();
    await anthropicUpstream?.close();
  });

  it('plain, streamed and tool turns of one conversation share a session; counting tokens is not a turn', async () => {
    const tools: Anthropic.Tool[] = [{ name: 'get_weather', description: 'weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }];
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'Weather in Quito?' }];
    const sessionsSeen: (string | null)[] = [];
    const traceIds: Record<string, unknown>[] = [];
    const record = async (response: Response) => {
      sessionsSeen.push(response.headers.get('x-sluice-session-id'));
      traceIds.push(await traceOf(response));
    };

    const first = await anthropic.messages.create({ model: 'claude-sonnet-4-6+tools', max_tokens: 100, messages, tools }).withResponse();
    await record(first.response);
    messages.push({ role: first.data.role, content: first.data.content });
    const toolUses = first.data.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
    expect(toolUses.length).toBeGreaterThan(0);
    messages.push({ role: 'user', content: toolUses.map((t) => ({ type: 'tool_result' as const, tool_use_id: t.id, content: '18C' })) });

    await anthropic.messages.countTokens({ model: 'claude-sonnet-4-6', messages, tools });

    const stream = anthropic.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 100, messages, tools });
    const second = await stream.finalMessage();
    await record((await stream.withResponse()).response);
    messages.push({ role: second.role, content: second.content }, { role: 'user', content: [{ type: 'text', text: 'And tomorrow?' }] });

    const third = await anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 100, messages, tools }).withResponse();
    await record(third.response);

    expect(new Set(sessionsSeen).size).toBe(1);
    expect(traceIds.map((t) => t.sessionTurn)).toEqual([1, 2, 3]);
    expect(traceIds.map((t) => t.sessionStrategy)).toEqual(['new', 'fingerprint', 'fingerprint']);
  });

  it('metadata.user_id groups a user’s requests', async () => {
    const ask = (text: string) =>
      anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 50, messages: [{ role: 'user', content: text }], metadata: { user_id: 'user-42' } }).withResponse();
    const a = await ask('one');
    const b = await ask('two');
    expect(b.response.headers.get('x-sluice-session-id')).toBe(a.response.headers.get('x-sluice-session-id'));
    expect([(await traceOf(a.response)).sessionTurn, (await traceOf(b.response)).sessionTurn]).toEqual([1, 2]);
    expect((await traceOf(b.response)).sessionStrategy).toBe('user');
  });
});

describe('Bedrock Converse ingress (AWS SDK)', () => {
  const MODEL = 'eu.anthropic.claude-3-7-sonnet-20250219-v1:0';
  let bedrockUpstream: BedrockUpstream;
  let bgw: TestGateway;
  const responseHeaders: Record<string, string>[] = [];
  let bedrock: BedrockRuntimeClient;
  beforeAll(async () => {
    useTestAwsCredentials();
    bedrockUpstream = await startBedrockUpstream({ region: 'eu-west-1' });
    bgw = await startTestGateway({ upstreamUrl: bedrockUpstream.url, proxy: { provider: 'bedrock' }, deps: { bedrock: createBedrockClients('eu-west-1'), traceSink: capturingSink, sessions } });
    bedrock = new BedrockRuntimeClient({
      region: 'eu-central-1',
      endpoint: `${bgw.url}/a/test/bedrock`,
      credentials: { accessKeyId: 'AKIACLIENTSIDEONLY00', secretAccessKey: 'client-side-signature-is-ignored' },
      requestHandler: new NodeHttpHandler(),
      maxAttempts: 1,
    });
    bedrock.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { headers: Record<string, string> }).headers['x-sluice-key'] = bgw.key;
        return next(args);
      },
      { step: 'build', name: 'sluiceKey' },
    );
    bedrock.middlewareStack.add(
      (next) => async (args) => {
        const out = await next(args);
        responseHeaders.push((out.response as { headers: Record<string, string> }).headers);
        return out;
      },
      { step: 'deserialize', name: 'captureHeaders' },
    );
  });
  afterAll(async () => {
    bedrock?.destroy();
    await bgw?.close();
    await bedrockUpstream?.close();
  });

  it('streamed tool use, a plain tool result turn and a streamed turn share a session with turns 1..3', async () => {
    const toolConfig = { tools: [{ toolSpec: { name: 'weather', inputSchema: { json: { type: 'object', properties: { city: { type: 'string' } } } } } }] };
    const messages: Message[] = [{ role: 'user', content: [{ text: 'weather in Lima' }] }];
    /** Accumulates a ConverseStream answer the way applications do. */
    const streamed = async (modelId: string): Promise<Message> => {
      const out = await bedrock.send(new ConverseStreamCommand({ modelId, messages, toolConfig }));
      const blocks: ContentBlock[] = [];
      const toolInput = new Map<number, string>();
      for await (const e of out.stream!) {
        const i = e.contentBlockStart?.contentBlockIndex ?? e.contentBlockDelta?.contentBlockIndex;
        if (e.contentBlockStart?.start?.toolUse) blocks[i!] = { toolUse: { ...e.contentBlockStart.start.toolUse, input: {} } } as ContentBlock;
        const delta = e.contentBlockDelta?.delta;
        if (delta?.text !== undefined) blocks[i!] = { text: ((blocks[i!] as { text?: string } | undefined)?.text ?? '') + delta.text };
        if (delta?.toolUse?.input !== undefined) toolInput.set(i!, (toolInput.get(i!) ?? '') + delta.toolUse.input);
      }
      for (const [i, json] of toolInput) (blocks[i] as { toolUse: { input: unknown } }).toolUse.input = JSON.parse(json);
      return { role: 'assistant', content: blocks };
    };

    const first = await streamed(`${MODEL}+text-tool`);
    const toolUse = first.content!.find((b) => b.toolUse)!.toolUse!;
    messages.push(first, { role: 'user', content: [{ toolResult: { toolUseId: toolUse.toolUseId!, content: [{ text: '19C' }] } }] });
    const second = await bedrock.send(new ConverseCommand({ modelId: MODEL, messages, toolConfig }));
    messages.push(second.output!.message!, { role: 'user', content: [{ text: 'and tomorrow?' }] });
    await streamed(MODEL);

    const last3 = responseHeaders.slice(-3);
    expect(new Set(last3.map((h) => h['x-sluice-session-id'])).size).toBe(1);
    const traces = await Promise.all(last3.map((h) => traceById(h['x-sluice-trace-id']!)));
    expect(traces.map((t) => t.sessionTurn)).toEqual([1, 2, 3]);
    expect(traces.map((t) => t.sessionStrategy)).toEqual(['new', 'fingerprint', 'fingerprint']);
  });
});

describe('several containers', () => {
  it('turns alternating between two gateways (own LRU, shared Redis and DynamoDB) stay in one session', async () => {
    const dynalite = await startDynalite();
    const dynamo = localDynamoClient(dynalite.endpoint);
    const { stateTable } = await createSluiceTables(dynamo);
    const redis = await startRedis();
    const redisCaches: RedisCache[] = [];
    const gateways: TestGateway[] = [];
    try {
      // Two "containers": each its own in-process LRU in front of the one Redis, one state table.
      const containerDeps = () => {
        const redisCache = new RedisCache({ url: redis.url });
        redisCaches.push(redisCache);
        const cache = new LayeredCache([
          { name: 'memory', cache: new LruCache({ maxEntries: 1000 }) },
          { name: 'redis', cache: redisCache, timeoutMs: 1000 },
        ]);
        return { traceSink: capturingSink, sessions: new DynamoSessionStore({ client: dynamo, tableName: stateTable }), cache };
      };
      const a = await startTestGateway({ upstreamUrl: upstream.url, deps: containerDeps() });
      gateways.push(a);
      const b = await startTestGateway({ upstreamUrl: upstream.url, deps: containerDeps() });
      gateways.push(b);
      // The same key on both: B's control store gets A's proxy and key record.
      await b.store.putKey((await a.store.listKeys())[0]!);
      const clients = [a, b].map((g) => new OpenAI({ baseURL: `${g.url}/v1`, apiKey: a.key, maxRetries: 0 }));

      const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Across containers' }];
      const turns: Turn[] = [];
      for (let i = 0; i < 4; i++) {
        const turn = i % 2 ? await streamedTurn(clients[i % 2]!, messages) : await plainTurn(clients[i % 2]!, messages);
        turns.push(turn);
        messages.push(turn.message, { role: 'user', content: `next ${i}` });
      }
      expect(new Set(turns.map((t) => t.sessionId)).size).toBe(1);
      expect(turns.map((t) => t.trace.sessionTurn)).toEqual([1, 2, 3, 4]);
      expect(turns.map((t) => t.trace.sessionStrategy)).toEqual(['new', 'fingerprint', 'fingerprint', 'fingerprint']);
    } finally {
      for (const g of gateways) await g.close();
      for (const c of redisCaches) c.close();
      await redis.stop();
      dynamo.destroy();
      await dynalite.close();
    }
  });
});
