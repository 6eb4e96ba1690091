/**
 * Bedrock's own failures through retries and fallbacks (docs/providers.md "Retries and
 * fallbacks"), against the wire-faithful Bedrock upstream (HTTP/2, SigV4 checked, errors
 * as `x-amzn-errortype` + `{"message"}`, event-stream exceptions) and the real AWS SDK
 * client, which makes one attempt per call (maxAttempts 1) so that only the gateway retries.
 *
 * ThrottlingException (429), ModelNotReadyException (429 on the wire) and
 * ServiceUnavailableException (503) are retried with the jittered backoff — Bedrock sends
 * no Retry-After, so the `Retry-After: 1` Sluice puts on its 429/503 answer is a hint for
 * the client, not a wait for its own retries — then fall back to the next target. A
 * ValidationException is the client's answer at once.
 */
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBedrockClients } from '../../functions/providers/bedrock/transport.js';
import type { RoutingConfig } from '../../functions/stores/types.js';
import type { TraceRecord } from '../../functions/traces/recorder.js';
import { startBedrockUpstream, useTestAwsCredentials, type BedrockUpstream } from '../support/bedrock-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { traceIn } from '../support/traces.js';

const MODEL = 'us.anthropic.claude-sonnet-4-20250514-v1:0';
const traces: TraceRecord[] = [];
let bedrock: BedrockUpstream;
let openai: OpenAIUpstream;
let gw: TestGateway;

beforeAll(async () => {
  useTestAwsCredentials();
  [bedrock, openai] = await Promise.all([startBedrockUpstream({ region: 'eu-west-1' }), startOpenAIUpstream()]);
  // The default proxy 'test' (a healthy OpenAI wire) is the fallback; it maps the alias `chat` to its own model.
  gw = await startTestGateway({
    upstreamUrl: openai.url,
    proxy: { modelAliases: { chat: 'test-ok' } },
    deps: { traceSink: { write: async ({ record }: { record: TraceRecord }) => void traces.push(record) }, bedrock: createBedrockClients('eu-west-1') },
  });
  // A healthy Bedrock proxy, for Bedrock → Bedrock fallbacks.
  await gw.addProxy({ id: 'br-ok', provider: 'bedrock', baseUrl: bedrock.url, modelAliases: { chat: MODEL } });
});
afterAll(async () => {
  await gw?.close();
  await Promise.all([bedrock?.close(), openai?.close()]);
});
beforeEach(() => bedrock.reset());

/** A Bedrock proxy whose alias `chat` is a model the upstream fails with `scenario`, and a key for it. */
async function bedrockProxy(id: string, scenario: string, routing: RoutingConfig) {
  await gw.addProxy({ id, provider: 'bedrock', baseUrl: bedrock.url, modelAliases: { chat: `${MODEL}+${scenario}` }, routing });
  return (await gw.addKey({ proxyId: id })).key;
}

async function chat(key: string, stream = false) {
  const started = performance.now();
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'chat', stream, messages: [{ role: 'user', content: 'one two three' }] }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: stream ? undefined : (JSON.parse(text) as Record<string, any>), ms: performance.now() - started, traceId: res.headers.get('x-sluice-trace-id')! };
}

const attemptsOf = async (traceId: string) => (await traceIn(traces, traceId))!.attributes.attempts as Array<Record<string, unknown>>;

describe('Bedrock exceptions: retried, then the fallback serves', () => {
  for (const [exception, status, code] of [
    ['ThrottlingException', 429, 'rate_limit_exceeded'],
    ['ModelNotReadyException', 503, 'model_not_ready'],
    ['ServiceUnavailableException', 503, 'overloaded'],
  ] as const) {
    it(`${exception}: two retries on Bedrock, then the OpenAI fallback answers 200`, async () => {
      const key = await bedrockProxy(`br-${exception}`, `error=${exception}`, { fallbacks: ['test'], retries: 2 });
      const r = await chat(key);
      expect(r.status).toBe(200);
      expect(r.json!.choices[0].message.content).toBeTruthy();
      expect(r.headers.get('x-sluice-served-by')).toBe('test');
      expect(r.headers.get('x-sluice-attempts')).toBe('4');
      // Three Converse calls reached Bedrock: the SDK added none of its own.
      expect(bedrock.requests.filter((q) => q.action === 'converse')).toHaveLength(3);
      const attempts = await attemptsOf(r.traceId);
      expect(attempts.slice(0, 3)).toEqual(Array.from({ length: 3 }, () => expect.objectContaining({ target: `br-${exception}`, provider: 'bedrock', status, error: code })));
      expect(attempts[3]).toMatchObject({ target: 'test', status: 200 });
      // The retries waited the jittered backoff (under 250 ms, then under 500 ms), not the 1 s (2 s in all) the client's Retry-After hints.
      expect(r.ms).toBeLessThan(1_500);
    });
  }

  it('a throttled Bedrock model that heals is served by Bedrock itself on a retry', async () => {
    const key = await bedrockProxy('br-heals', 'error=ThrottlingException+fail-first=1', { fallbacks: ['test'], retries: 2 });
    const r = await chat(key);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-sluice-served-by')).toBe('br-heals');
    expect(r.headers.get('x-sluice-attempts')).toBe('2');
    expect((await attemptsOf(r.traceId)).map((a) => a.status)).toEqual([429, 200]);
  });

  it('Bedrock → Bedrock: a throttled model falls back to another Bedrock proxy, translated for it', async () => {
    const key = await bedrockProxy('br-to-br', 'error=ThrottlingException', { fallbacks: ['br-ok'], retries: 0 });
    const r = await chat(key);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-sluice-served-by')).toBe('br-ok');
    expect(bedrock.requests.map((q) => q.modelId)).toEqual([`${MODEL}+error=ThrottlingException`, MODEL]);
  });

  it('a ValidationException is not retried nor failed over: the client gets its 400', async () => {
    const key = await bedrockProxy('br-invalid', 'error=ValidationException', { fallbacks: ['test'], retries: 2 });
    const r = await chat(key);
    expect(r.status).toBe(400);
    expect(r.json!.error).toMatchObject({ type: 'invalid_request_error' });
    expect(bedrock.requests).toHaveLength(1);
    expect(r.headers.get('x-sluice-attempts')).toBe('1');
  });

  it('streamed: a ConverseStream throttled at its status line, or by an exception event before any content, fails over', async () => {
    for (const scenario of ['error=ThrottlingException', 'stream-error=0']) {
      const key = await bedrockProxy(`br-stream-${scenario.replace(/\W/g, '')}`, scenario, { fallbacks: ['test'], retries: 0 });
      const r = await chat(key, true);
      expect(r.status, scenario).toBe(200);
      expect(r.headers.get('x-sluice-served-by'), scenario).toBe('test');
      expect(r.text, scenario).toContain('data: [DONE]');
      expect(r.text, scenario).not.toContain('"error"');
    }
  });

  it('streamed: an exception event after content has gone out is not failed over: an error event, then [DONE]', async () => {
    const key = await bedrockProxy('br-stream-late', 'stream-error=3', { fallbacks: ['test'], retries: 0 });
    const r = await chat(key, true);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-sluice-served-by')).toBe('br-stream-late');
    const events = r.text.split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    expect(JSON.parse(events.at(-2)!.slice(6))).toMatchObject({ error: { type: 'rate_limit_error' } });
  });
});

describe('Bedrock exceptions with no target left: the client\'s answer', () => {
  it('OpenAI ingress: 429 rate_limit_exceeded / 503 model_not_ready / 503 overloaded, each with Retry-After, after the retries', async () => {
    for (const [exception, status, code] of [
      ['ThrottlingException', 429, 'rate_limit_exceeded'],
      ['ModelNotReadyException', 503, 'model_not_ready'],
      ['ServiceUnavailableException', 503, 'overloaded'],
    ] as const) {
      bedrock.reset();
      const key = await bedrockProxy(`br-last-${exception}`, `error=${exception}`, { retries: 1 });
      const r = await chat(key);
      expect(r.status, exception).toBe(status);
      expect(r.json!.error, exception).toMatchObject({ code });
      expect(r.headers.get('retry-after'), exception).toBe('1');
      expect(r.headers.get('x-sluice-attempts'), exception).toBe('2');
      expect(bedrock.requests, exception).toHaveLength(2);
    }
  });

  it('native Converse ingress (the AWS SDK against the gateway): the exception keeps its Bedrock name', async () => {
    const key = await bedrockProxy('br-native', 'error=ThrottlingException', { retries: 1 });
    // The local runtime speaks HTTP/1.1; the gateway key rides in X-Sluice-Key (the client's own signature is ignored).
    const client = new BedrockRuntimeClient({
      region: 'eu-west-1',
      endpoint: `${gw.url}/a/br-native/bedrock`,
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
    const err = (await client.send(new ConverseCommand({ modelId: 'chat', messages: [{ role: 'user', content: [{ text: 'x' }] }] })).catch((e: unknown) => e)) as { name: string; $metadata: { httpStatusCode: number } };
    expect(err.name).toBe('ThrottlingException');
    expect(err.$metadata.httpStatusCode).toBe(429);
    expect(bedrock.requests).toHaveLength(2);
  });
});
