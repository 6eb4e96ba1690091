/**
 * Response checks on the streams that were left: Anthropic message events on the native
 * Anthropic ingress (OpenAI-family and Anthropic proxies, the Anthropic SDK as the client),
 * ConverseStream on the native Bedrock ingress (raw fetch + an AWS event-stream decoder),
 * legacy completions streams (the OpenAI SDK), plain Converse; the response input's cost
 * and data; and traces that keep the masked body, never the upstream's text.
 */
import Anthropic from '@anthropic-ai/sdk';
import { BedrockRuntimeClient, ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MASK_CHAR } from '../../functions/governance/redact.js';
import { BLOCKED_NOTICE } from '../../functions/governance/response-output.js';
import { PriceBook } from '../../functions/pricing/price-book.js';
import { createBedrockClients, type BedrockClients } from '../../functions/providers/bedrock/transport.js';
import type { GovernanceConfig } from '../../functions/stores/types.js';
import { createJsonlTraceSink } from '../../functions/traces/sink.js';
import type { TraceBatch } from '../../functions/traces/sink.js';
import type { TraceStep } from '../../functions/traces/recorder.js';
import { startAnthropicUpstream, type AnthropicUpstream } from '../support/anthropic-upstream.js';
import { startBedrockUpstream, useTestAwsCredentials, type BedrockUpstream } from '../support/bedrock-upstream.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { FULL_RULES, governedProxy, masked, stepsOf, STREAM_RULES } from './governance-helpers.js';

const PROVIDER_KEY = 'sk-ant-governance-streams-test';
const CLAUDE = 'claude-sonnet-4-5';
const CONVERSE_MODEL = 'eu.anthropic.claude-3-7-sonnet-20250219-v1:0';

let openai: OpenAIUpstream;
let anthropic: AnthropicUpstream;
let bedrock: BedrockUpstream;
let gw: TestGateway;
let traceDir: string;
const batches: TraceBatch[] = [];

/** Bedrock clients whose ConverseStream events arrive `gap` ms apart when the model id says `+slow` (the test upstream sends them at once). */
function slowableClients(inner: BedrockClients, gapMs: number): BedrockClients {
  return {
    defaultRegion: inner.defaultRegion,
    async client(region, endpoint) {
      const client = await inner.client(region, endpoint);
      return new Proxy(client, {
        get(target, prop, receiver) {
          if (prop !== 'send') return Reflect.get(target, prop, receiver) as unknown;
          return async (command: { input?: { modelId?: string } }, options?: unknown) => {
            const out = (await (target.send as (c: unknown, o?: unknown) => Promise<{ stream?: AsyncIterable<unknown> }>)(command, options)) as { stream?: AsyncIterable<unknown> };
            if (out.stream && command.input?.modelId?.includes('+slow')) {
              const source = out.stream;
              out.stream = (async function* () {
                for await (const e of source) {
                  await new Promise((r) => setTimeout(r, gapMs));
                  yield e;
                }
              })();
            }
            return out;
          };
        },
      }) as BedrockRuntimeClient;
    },
  };
}

beforeAll(async () => {
  useTestAwsCredentials();
  openai = await startOpenAIUpstream();
  anthropic = await startAnthropicUpstream({ apiKey: PROVIDER_KEY });
  bedrock = await startBedrockUpstream({ region: 'eu-west-1' });
  let jsonl: ReturnType<typeof createJsonlTraceSink> | undefined;
  gw = await startTestGateway({
    upstreamUrl: openai.url,
    env: { ANTHROPIC_TEST_KEY: PROVIDER_KEY },
    deps: {
      // The embedded JSONL sink (the file is what is asserted on), remembering what it was given.
      traceSink: {
        write: async (b) => {
          await jsonl!.write([b]);
          batches.push(b);
        },
      },
      bedrock: slowableClients(createBedrockClients('eu-west-1'), 30),
      // Every token costs 1 USD: the response input's cost is the token count.
      pricing: new PriceBook(undefined, { models: { 'gpt-4o-mini': { input: 1_000_000, output: 1_000_000 } } }),
    },
  });
  traceDir = gw.dataDir;
  jsonl = createJsonlTraceSink(traceDir);
});
afterAll(async () => {
  await gw?.close();
  await openai?.close();
  await anthropic?.close();
  await bedrock?.close();
});
beforeEach(() => {
  openai.reset();
  anthropic.reset();
  bedrock.reset();
});

const LONG_TAIL = 'and this sentence keeps going for a good while longer';

const traceIdOf = (response: Response) => response.headers.get('x-sluice-trace-id');
async function responseStep(traceId: string | null): Promise<TraceStep | undefined> {
  return (await stepsOf({ batches }, traceId, 'policy')).find((s) => s.attributes.stage === 'response');
}

async function anthropicProxy(policy: string, provider: 'openai' | 'anthropic' = 'openai') {
  const proxy = provider === 'anthropic' ? { provider: 'anthropic' as const, baseUrl: anthropic.url, credentialRef: 'env:ANTHROPIC_TEST_KEY' } : {};
  const { id, key } = await governedProxy(gw, { policies: { response: policy }, proxy });
  return new Anthropic({ baseURL: `${gw.url}/a/${id}/anthropic`, apiKey: key, maxRetries: 0 });
}

/** Reads an Anthropic stream: the text, the stop reason, when the first text came, the event types in order. */
async function readAnthropic(client: Anthropic, model: string, prompt: string) {
  const t0 = performance.now();
  const { data: stream, response } = await client.messages.create({ model, max_tokens: 200, messages: [{ role: 'user', content: prompt }], stream: true }).withResponse();
  let text = '';
  let firstAt = 0;
  let stop: string | null = null;
  const types: string[] = [];
  for await (const event of stream) {
    types.push(event.type);
    if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
      if (!firstAt && event.delta.text) firstAt = performance.now() - t0;
      text += event.delta.text;
    }
    if (event.type === 'message_delta') stop = event.delta.stop_reason;
  }
  return { text, stop, firstAt, total: performance.now() - t0, types, traceId: traceIdOf(response) };
}

describe('Anthropic message streams (native ingress)', () => {
  it('incremental stream_redact on an OpenAI-family proxy: masked across three events, first text before the upstream finishes', async () => {
    const client = await anthropicProxy(STREAM_RULES);
    const r = await readAnthropic(client, 'test-slow@first=50,gap=40', `my account is ACCT 1234 5678 ${LONG_TAIL}`);
    expect(r.text).toBe(`You said: my account is ${masked('ACCT 1234 5678')} ${LONG_TAIL}`);
    expect(r.stop).toBe('end_turn');
    // ~20 words 40 ms apart: the first text came long before the last.
    expect(r.firstAt).toBeLessThan(r.total - 300);
    expect((await responseStep(r.traceId))?.attributes).toMatchObject({ mode: 'incremental', decision: 'redact', masked: 1 });
  });

  it('incremental on an Anthropic proxy (events relayed as Anthropic sent them); the SDK assembles the masked message', async () => {
    const client = await anthropicProxy(STREAM_RULES, 'anthropic');
    const stream = client.messages.stream({ model: CLAUDE, max_tokens: 200, messages: [{ role: 'user', content: 'card ACCT 9876 5432 on file' }] });
    const message = await stream.finalMessage();
    expect(message.content).toEqual([expect.objectContaining({ type: 'text', text: `You said: card ${masked('ACCT 9876 5432')} on file` })]);
    expect(message.stop_reason).toBe('end_turn');
    expect(anthropic.requests.length).toBe(1);
  });

  it('stream_deny: the notice as the last text, stop_reason refusal, then message_stop; what was sent stays sent; trace cut', async () => {
    const client = await anthropicProxy(STREAM_RULES);
    const r = await readAnthropic(client, 'gpt-4o-mini', 'please run rm -rf / now and then more words');
    expect(r.stop).toBe('refusal');
    expect(r.text).toBe(`You said: plea${BLOCKED_NOTICE}`);
    expect(r.text).not.toContain('rm -rf');
    expect(r.types.slice(-4)).toEqual(['content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    const step = await responseStep(r.traceId);
    expect(step?.attributes).toMatchObject({ mode: 'incremental', decision: 'deny', cutBy: 'rm -rf /' });
    expect(step?.attributes.cutAt).toBe('You said: please run '.length);
  });

  it('stream_deny on an Anthropic proxy: the SDK final message ends with the notice and refusal', async () => {
    const client = await anthropicProxy(STREAM_RULES, 'anthropic');
    const message = await client.messages.stream({ model: CLAUDE, max_tokens: 200, messages: [{ role: 'user', content: 'go rm -rf / everything else too' }] }).finalMessage();
    expect(message.stop_reason).toBe('refusal');
    const text = message.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
    expect(text.endsWith(BLOCKED_NOTICE)).toBe(true);
    expect(text).not.toContain('rm -rf');
  });

  it('buffered: held, decided on the whole output, re-emitted as Anthropic events (masked); deny → one notice block and refusal', async () => {
    const client = await anthropicProxy(FULL_RULES);
    const r = await readAnthropic(client, 'gpt-4o-mini', 'account ACCT 1234 5678 ok');
    expect(r.text).toBe(`You said: account ${masked('ACCT 1234 5678')} ok`);
    expect(r.stop).toBe('end_turn');
    expect(r.types[0]).toBe('message_start');
    expect(r.types.at(-1)).toBe('message_stop');
    expect((await responseStep(r.traceId))?.attributes).toMatchObject({ mode: 'buffered', decision: 'redact', fullPolicy: { enforced: true } });

    const denied = await readAnthropic(client, 'gpt-4o-mini', 'the launch code is 0000');
    expect(denied.text).toBe(BLOCKED_NOTICE);
    expect(denied.stop).toBe('refusal');
    expect(denied.types).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    expect((await responseStep(denied.traceId))?.attributes).toMatchObject({ mode: 'buffered', decision: 'deny', fullPolicy: { deny: true, reasons: ['no launch codes'] } });
  });

  it('on a Bedrock proxy (Claude through InvokeModelWithResponseStream): incremental masking and stream_deny', async () => {
    const { id, key } = await governedProxy(gw, { policies: { response: STREAM_RULES }, proxy: { provider: 'bedrock', baseUrl: bedrock.url } });
    const client = new Anthropic({ baseURL: `${gw.url}/a/${id}/anthropic`, apiKey: key, maxRetries: 0 });
    const r = await readAnthropic(client, CONVERSE_MODEL, 'card ACCT 1234 5678 on file');
    expect(r.text).toBe(`You said: card ${masked('ACCT 1234 5678')} on file`);
    expect(r.stop).toBe('end_turn');
    expect((await responseStep(r.traceId))?.attributes).toMatchObject({ mode: 'incremental', decision: 'redact', masked: 1 });
    expect(bedrock.requests.at(-1)?.action).toBe('invoke-with-response-stream');
    const denied = await readAnthropic(client, CONVERSE_MODEL, 'please run rm -rf / now and then more words');
    expect(denied.stop).toBe('refusal');
    expect(denied.text).toBe(`You said: plea${BLOCKED_NOTICE}`);
  });

  it('buffered on an Anthropic proxy: the SDK final message is masked', async () => {
    const client = await anthropicProxy(FULL_RULES, 'anthropic');
    const message = await client.messages.stream({ model: CLAUDE, max_tokens: 200, messages: [{ role: 'user', content: 'use ACCT 1111 2222 please' }] }).finalMessage();
    expect(message.content).toEqual([expect.objectContaining({ type: 'text', text: `You said: use ${masked('ACCT 1111 2222')} please` })]);
  });
});

describe('legacy completions streams', () => {
  it('incremental: masked across three chunks, the first text before the upstream finishes', async () => {
    const { client } = await governedProxy(gw, { policies: { response: STREAM_RULES } });
    const t0 = performance.now();
    const { data: stream, response } = await client.completions.create({ model: 'test-slow@first=50,gap=40', prompt: `my account is ACCT 1234 5678 ${LONG_TAIL}`, max_tokens: 100, stream: true }).withResponse();
    let text = '';
    let firstAt = 0;
    let finish: string | null = null;
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.text ?? '';
      if (piece && !firstAt) firstAt = performance.now() - t0;
      text += piece;
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    const total = performance.now() - t0;
    expect(text).toBe(`You said: my account is ${masked('ACCT 1234 5678')} ${LONG_TAIL}`);
    expect(finish).toBe('stop');
    expect(firstAt).toBeLessThan(total - 300);
    expect((await responseStep(traceIdOf(response)))?.attributes).toMatchObject({ mode: 'incremental', decision: 'redact', masked: 1 });
  });

  it('stream_deny: the notice chunk with finish_reason content_filter, then [DONE]', async () => {
    const { client } = await governedProxy(gw, { policies: { response: STREAM_RULES } });
    const { data: stream, response } = await client.completions.create({ model: 'gpt-4o-mini', prompt: 'please run rm -rf / now and then more words', stream: true }).withResponse();
    let text = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe(`You said: plea${BLOCKED_NOTICE}`);
    expect(finish).toBe('content_filter');
    expect((await responseStep(traceIdOf(response)))?.attributes).toMatchObject({ mode: 'incremental', decision: 'deny', cutBy: 'rm -rf /' });
  });

  it('buffered: one masked chunk after the full policy; deny → the notice and content_filter', async () => {
    const { client } = await governedProxy(gw, { policies: { response: FULL_RULES } });
    const { data: stream, response } = await client.completions.create({ model: 'gpt-4o-mini', prompt: 'account ACCT 1234 5678 ok', stream: true }).withResponse();
    const pieces: string[] = [];
    for await (const chunk of stream) if (chunk.choices[0]?.text) pieces.push(chunk.choices[0].text);
    expect(pieces).toEqual([`You said: account ${masked('ACCT 1234 5678')} ok`]);
    expect((await responseStep(traceIdOf(response)))?.attributes).toMatchObject({ mode: 'buffered', decision: 'redact' });

    const denied = await client.completions.create({ model: 'gpt-4o-mini', prompt: 'the launch code is 0000', stream: true });
    let text = '';
    let finish: string | null = null;
    for await (const chunk of denied) {
      text += chunk.choices[0]?.text ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe(BLOCKED_NOTICE);
    expect(finish).toBe('content_filter');
  });
});

// --- Converse (native Bedrock ingress), read with raw fetch and an AWS event-stream decoder ---

const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes).toString('utf8'),
  (text) => new Uint8Array(Buffer.from(text, 'utf8')),
);

interface ConverseRead {
  events: { type: string; payload: Record<string, unknown> }[];
  text: string;
  stopReason: string | undefined;
  firstAt: number;
  total: number;
  traceId: string | null;
  status: number;
}

async function converseStream(proxyId: string, key: string, model: string, prompt: string): Promise<ConverseRead> {
  const t0 = performance.now();
  const res = await fetch(`${gw.url}/a/${proxyId}/bedrock/model/${encodeURIComponent(model)}/converse-stream`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-sluice-key': key },
    body: JSON.stringify({ messages: [{ role: 'user', content: [{ text: prompt }] }], inferenceConfig: { maxTokens: 200 } }),
  });
  expect(res.headers.get('content-type')).toBe('application/vnd.amazon.eventstream');
  const out: ConverseRead = { events: [], text: '', stopReason: undefined, firstAt: 0, total: 0, traceId: traceIdOf(res), status: res.status };
  let buffer = Buffer.alloc(0);
  for await (const chunk of res.body!) {
    buffer = Buffer.concat([buffer, Buffer.from(chunk as Uint8Array)]);
    while (buffer.length >= 4 && buffer.length >= buffer.readUInt32BE(0)) {
      const length = buffer.readUInt32BE(0);
      const message = codec.decode(new Uint8Array(buffer.subarray(0, length)));
      buffer = buffer.subarray(length);
      expect(message.headers[':message-type']?.value).toBe('event');
      const type = String(message.headers[':event-type']?.value);
      const payload = JSON.parse(Buffer.from(message.body).toString('utf8')) as Record<string, unknown>;
      out.events.push({ type, payload });
      const delta = payload.delta as { text?: string } | undefined;
      if (type === 'contentBlockDelta' && typeof delta?.text === 'string') {
        if (!out.firstAt && delta.text) out.firstAt = performance.now() - t0;
        out.text += delta.text;
      }
      if (type === 'messageStop') out.stopReason = String(payload.stopReason);
    }
  }
  expect(buffer.length).toBe(0);
  out.total = performance.now() - t0;
  return out;
}

async function bedrockProxy(policy: string) {
  return governedProxy(gw, { policies: { response: policy }, proxy: { provider: 'bedrock', baseUrl: bedrock.url } });
}

describe('Converse streams (AWS event-stream)', () => {
  it('incremental: text deltas masked across three frames, re-encoded as event-stream; the first text before the upstream finishes', async () => {
    const { id, key } = await bedrockProxy(STREAM_RULES);
    const r = await converseStream(id, key, `${CONVERSE_MODEL}+slow`, `my account is ACCT 1234 5678 ${LONG_TAIL}`);
    expect(r.status).toBe(200);
    expect(r.text).toBe(`You said: my account is ${masked('ACCT 1234 5678')} ${LONG_TAIL}`);
    expect(r.stopReason).toBe('end_turn');
    expect(r.events[0]?.type).toBe('messageStart');
    expect(r.events.at(-1)?.type).toBe('metadata');
    // ~25 frames 30 ms apart: the first text came long before the last.
    expect(r.firstAt).toBeLessThan(r.total - 250);
    expect((await responseStep(r.traceId))?.attributes).toMatchObject({ mode: 'incremental', decision: 'redact', masked: 1 });
  });

  it('stream_deny: the notice, contentBlockStop and messageStop guardrail_intervened end the stream', async () => {
    const { id, key } = await bedrockProxy(STREAM_RULES);
    const r = await converseStream(id, key, CONVERSE_MODEL, 'please run rm -rf / now and then more words');
    expect(r.text).toBe(`You said: plea${BLOCKED_NOTICE}`);
    expect(r.stopReason).toBe('guardrail_intervened');
    expect(r.events.slice(-3).map((e) => e.type)).toEqual(['contentBlockDelta', 'contentBlockStop', 'messageStop']);
    const step = await responseStep(r.traceId);
    expect(step?.attributes).toMatchObject({ mode: 'incremental', decision: 'deny', cutBy: 'rm -rf /' });
  });

  it('buffered: held until messageStop, masked; deny → the notice and guardrail_intervened, usage metadata kept', async () => {
    const { id, key } = await bedrockProxy(FULL_RULES);
    const r = await converseStream(id, key, CONVERSE_MODEL, 'account ACCT 1234 5678 ok');
    expect(r.text).toBe(`You said: account ${masked('ACCT 1234 5678')} ok`);
    expect(r.stopReason).toBe('end_turn');
    expect((await responseStep(r.traceId))?.attributes).toMatchObject({ mode: 'buffered', decision: 'redact' });

    const denied = await converseStream(id, key, CONVERSE_MODEL, 'the launch code is 0000');
    expect(denied.text).toBe(BLOCKED_NOTICE);
    expect(denied.stopReason).toBe('guardrail_intervened');
    expect(denied.events.map((e) => e.type)).toEqual(['messageStart', 'contentBlockDelta', 'contentBlockStop', 'messageStop', 'metadata']);
    expect((await responseStep(denied.traceId))?.attributes).toMatchObject({ mode: 'buffered', decision: 'deny' });
  });

  it('the AWS SDK reads the re-encoded stream: masked deltas, and a cut stream ends cleanly with guardrail_intervened', async () => {
    const { id, key } = await bedrockProxy(STREAM_RULES);
    const client = new BedrockRuntimeClient({
      region: 'eu-central-1',
      endpoint: `${gw.url}/a/${id}/bedrock`,
      credentials: { accessKeyId: 'AKIACLIENTSIDEONLY00', secretAccessKey: 'client-side-signature-is-ignored' },
      requestHandler: new NodeHttpHandler(),
      maxAttempts: 1,
    });
    client.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { headers: Record<string, string> }).headers['x-sluice-key'] = key;
        return next(args);
      },
      { step: 'build', name: 'sluiceKey' },
    );
    const read = async (prompt: string) => {
      const out = await client.send(new ConverseStreamCommand({ modelId: CONVERSE_MODEL, messages: [{ role: 'user', content: [{ text: prompt }] }] }));
      let text = '';
      let stop: string | undefined;
      for await (const e of out.stream!) {
        text += e.contentBlockDelta?.delta?.text ?? '';
        stop = e.messageStop?.stopReason ?? stop;
      }
      return { text, stop };
    };
    expect(await read('use ACCT 1234 5678 today')).toEqual({ text: `You said: use ${masked('ACCT 1234 5678')} today`, stop: 'end_turn' });
    expect(await read('please run rm -rf / now and then more words')).toEqual({ text: `You said: plea${BLOCKED_NOTICE}`, stop: 'guardrail_intervened' });
  });

  it('plain Converse: text masked, every other field kept; deny → the notice with stopReason guardrail_intervened', async () => {
    const { id, key } = await bedrockProxy(FULL_RULES);
    const call = (prompt: string) =>
      fetch(`${gw.url}/a/${id}/bedrock/model/${encodeURIComponent(CONVERSE_MODEL)}/converse`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-sluice-key': key },
        body: JSON.stringify({ messages: [{ role: 'user', content: [{ text: prompt }] }] }),
      });
    const res = await call('my account is ACCT 1234 5678');
    const body = (await res.json()) as { output: { message: { role: string; content: { text: string }[] } }; stopReason: string; usage: { inputTokens: number } };
    expect(body.output.message).toEqual({ role: 'assistant', content: [{ text: `You said: my account is ${masked('ACCT 1234 5678')}` }] });
    expect(body.stopReason).toBe('end_turn');
    expect(body.usage.inputTokens).toBeGreaterThan(0);
    expect((await responseStep(traceIdOf(res)))?.attributes).toMatchObject({ mode: 'buffered', decision: 'redact', masked: 1 });

    const blocked = (await (await call('the launch code is 0000')).json()) as { output: { message: { content: unknown[] } }; stopReason: string };
    expect(blocked.output.message.content).toEqual([{ text: BLOCKED_NOTICE }]);
    expect(blocked.stopReason).toBe('guardrail_intervened');
  });
});

describe('traces keep what the client got', () => {
  // "said" is only in the upstream's answer ("You said: …"), never in the request: once masked, the trace file must not contain it.
  const HIDE_SAID = `package sluice.policy
stream_redact contains {"pattern": "You said:", "max_len": 9}
`;
  const HIDE_SAID_BUFFERED = `package sluice.policy
redact contains "You said:"
`;

  async function storedRecord(traceId: string | null): Promise<{ line: string; responseBody: string }> {
    await stepsOf({ batches }, traceId);
    const files = await readdir(join(traceDir, 'traces'));
    for (const file of files) {
      for (const line of (await readFile(join(traceDir, 'traces', file), 'utf8')).split('\n')) {
        if (!line.includes(`"traceId":"${traceId}"`)) continue;
        const record = JSON.parse(line) as { steps: TraceStep[] };
        const finished = record.steps.find((s) => s.name === 'request_finished') as (TraceStep & { responseBody?: string }) | undefined;
        return { line, responseBody: String(finished?.responseBody ?? (finished?.attributes as Record<string, unknown> | undefined)?.responseBody ?? '') };
      }
    }
    throw new Error(`trace ${traceId} not in the JSONL file`);
  }

  it('plain and streamed chat, Anthropic and Converse streams: the stored trace holds the masked text; the secret word is nowhere in it', async () => {
    const { client } = await governedProxy(gw, { policies: { response: HIDE_SAID } });
    const hidden = masked('You said:');

    const plain = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }] }).withResponse();
    expect(plain.data.choices[0]?.message.content).toBe(`${hidden} hello there`);

    const streamed = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello again' }], stream: true }).withResponse();
    let text = '';
    for await (const chunk of streamed.data) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe(`${hidden} hello again`);

    const sdk = await anthropicProxy(HIDE_SAID);
    const a = await readAnthropic(sdk, 'gpt-4o-mini', 'hello anthropic');
    expect(a.text).toBe(`${hidden} hello anthropic`);

    const { id, key } = await bedrockProxy(HIDE_SAID);
    const c = await converseStream(id, key, CONVERSE_MODEL, 'hello converse');
    expect(c.text).toBe(`${hidden} hello converse`);

    for (const traceId of [traceIdOf(plain.response), traceIdOf(streamed.response), a.traceId, c.traceId]) {
      const { line, responseBody } = await storedRecord(traceId);
      expect(responseBody.length).toBeGreaterThan(0);
      expect(responseBody).toContain(MASK_CHAR);
      expect(line).not.toContain('said');
    }
  });

  it('buffered streams and plain responses too', async () => {
    const { client } = await governedProxy(gw, { policies: { response: HIDE_SAID_BUFFERED } });
    const streamed = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello buffered' }], stream: true }).withResponse();
    for await (const _ of streamed.data) void _;
    const completions = await client.completions.create({ model: 'gpt-4o-mini', prompt: 'hello legacy' }).withResponse();
    expect(completions.data.choices[0]?.text).toBe(`${masked('You said:')} hello legacy`);
    for (const traceId of [traceIdOf(streamed.response), traceIdOf(completions.response)]) {
      const { line, responseBody } = await storedRecord(traceId);
      expect(responseBody).toContain(MASK_CHAR);
      expect(line).not.toContain('said');
    }
  });

  it('without a response policy the trace keeps the upstream body as it was', async () => {
    const { client } = await governedProxy(gw, {});
    const res = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'plain words' }] }).withResponse();
    const { responseBody } = await storedRecord(traceIdOf(res.response));
    expect(responseBody).toContain('You said: plain words');
  });
});

/** Static policy data on the proxy's governance config (read by the policy plugin as `governance.data`). */
const withData = (data: Record<string, unknown>) => ({ data }) as unknown as Partial<GovernanceConfig>;

describe('the response input: cost and data', () => {
  it('cost is the request cost from the price book for the usage; data is the proxy static policy data', async () => {
    const policy = `package sluice.policy
deny contains sprintf("cost=%v tier=%v", [input.cost, input.data.tier]) if input.stage == "response"
`;
    const { client } = await governedProxy(gw, { policies: { response: policy }, governance: withData({ tier: 'gold' }) });
    const { data, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'what does it cost' }] }).withResponse();
    expect(data.choices[0]?.message.content).toBe(BLOCKED_NOTICE);
    const tokens = data.usage!.prompt_tokens + data.usage!.completion_tokens;
    expect(tokens).toBeGreaterThan(0);
    expect((await responseStep(traceIdOf(response)))?.attributes.reasons).toEqual([`cost=${tokens} tier=gold`]);
  });

  it('a proxy without data gets {} (and the request stage sees data too)', async () => {
    const policy = `package sluice.policy
deny contains "data is not an empty object" if input.data != {}
`;
    const { client } = await governedProxy(gw, { policies: { request: policy } });
    const res = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.choices[0]?.message.content).toBe('You said: hi');
    const other = await governedProxy(gw, { policies: { request: policy }, governance: withData({ any: 1 }) });
    await expect(other.client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ status: 403 });
  });
});
