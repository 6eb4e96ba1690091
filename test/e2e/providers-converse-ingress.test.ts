/**
 * The native Converse ingress: the AWS SDK's BedrockRuntimeClient pointed at
 * `/a/{proxyId}/bedrock` (gateway key in X-Sluice-Key) gets Bedrock's own JSON and AWS
 * event-stream answers, while the gateway calls Bedrock with its own role.
 */
import { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand, type ConverseStreamOutput } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBedrockClients } from '../../functions/providers/bedrock/transport.js';
import { replyTo, startBedrockUpstream, TEST_AWS_CREDENTIALS, useTestAwsCredentials, type BedrockUpstream } from '../support/bedrock-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/** Traces are not under test here: dropped in memory, so nothing is still writing files when a gateway stops. */
const quietTraces = { traceSink: { write: async () => undefined } };

let upstream: BedrockUpstream;
let gw: TestGateway;
const MODEL = 'eu.anthropic.claude-3-7-sonnet-20250219-v1:0';

/** A Bedrock client for the gateway: the local runtime speaks HTTP/1.1, and the gateway key rides in X-Sluice-Key. */
function gatewayClient(key: string | undefined): BedrockRuntimeClient {
  const client = new BedrockRuntimeClient({
    region: 'eu-central-1',
    endpoint: `${gw.url}/a/test/bedrock`,
    credentials: { accessKeyId: 'AKIACLIENTSIDEONLY00', secretAccessKey: 'client-side-signature-is-ignored' },
    requestHandler: new NodeHttpHandler(),
    maxAttempts: 1,
  });
  if (key) {
    client.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { headers: Record<string, string> }).headers['x-sluice-key'] = key;
        return next(args);
      },
      { step: 'build', name: 'sluiceKey' },
    );
  }
  return client;
}

beforeAll(async () => {
  useTestAwsCredentials();
  upstream = await startBedrockUpstream({ region: 'eu-west-1' });
  gw = await startTestGateway({ upstreamUrl: upstream.url, proxy: { provider: 'bedrock' }, deps: { ...quietTraces, bedrock: createBedrockClients('eu-west-1') } });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
beforeEach(() => upstream.reset());

describe('native Converse through the gateway', () => {
  it('Converse: the body is sent with the gateway role, the answer comes back in Bedrock JSON', async () => {
    const client = gatewayClient(gw.key);
    const out = await client.send(new ConverseCommand({ modelId: MODEL, messages: [{ role: 'user', content: [{ text: 'Say something about rivers' }] }], inferenceConfig: { maxTokens: 50 } }));
    expect(out.output?.message?.content).toEqual([{ text: replyTo('Say something about rivers') }]);
    expect(out.stopReason).toBe('end_turn');
    expect(out.usage?.inputTokens).toBe(4);
    const seen = upstream.requests[0]!;
    expect(seen.modelId).toBe(MODEL);
    expect(seen.body).toEqual({ messages: [{ role: 'user', content: [{ text: 'Say something about rivers' }] }], inferenceConfig: { maxTokens: 50 } });
    // The upstream saw the gateway's signature (its test credentials), not the client's.
    expect(String(seen.headers['authorization'])).toContain(TEST_AWS_CREDENTIALS.accessKeyId);
    expect(JSON.stringify(seen.headers)).not.toContain(gw.key);
  });

  it('ConverseStream: AWS event-stream frames re-encoded for the client, tool use included', async () => {
    const client = gatewayClient(gw.key);
    const out = await client.send(
      new ConverseStreamCommand({
        modelId: `${MODEL}+text-tool`,
        messages: [{ role: 'user', content: [{ text: 'weather in Oslo' }] }],
        toolConfig: { tools: [{ toolSpec: { name: 'weather', inputSchema: { json: { type: 'object', properties: { city: { type: 'string' } } } } } }] },
      }),
    );
    const events: ConverseStreamOutput[] = [];
    for await (const e of out.stream!) events.push(e);
    const kinds = events.map((e) => Object.keys(e).find((k) => (e as unknown as Record<string, unknown>)[k] !== undefined));
    expect(kinds[0]).toBe('messageStart');
    expect(kinds.slice(-2)).toEqual(['messageStop', 'metadata']);
    const text = events.map((e) => e.contentBlockDelta?.delta?.text ?? '').join('');
    expect(text).toBe('Let me check. One moment.');
    const start = events.find((e) => e.contentBlockStart)?.contentBlockStart;
    expect(start?.start?.toolUse?.name).toBe('weather');
    const args = events.map((e) => e.contentBlockDelta?.delta?.toolUse?.input ?? '').join('');
    expect(JSON.parse(args)).toEqual({ city: 'weather in Oslo' });
    expect(events.at(-1)?.metadata?.usage?.inputTokens).toBe(3);
  });

  it('Bedrock errors reach the SDK as the same exception (ThrottlingException, 429)', async () => {
    const client = gatewayClient(gw.key);
    const err = (await client.send(new ConverseCommand({ modelId: `${MODEL}+error=ThrottlingException`, messages: [{ role: 'user', content: [{ text: 'x' }] }] })).catch((e: unknown) => e)) as { name: string; $metadata: { httpStatusCode: number } };
    expect(err.name).toBe('ThrottlingException');
    expect(err.$metadata.httpStatusCode).toBe(429);
  });

  it('a mid-stream exception reaches the SDK as that exception', async () => {
    const client = gatewayClient(gw.key);
    const out = await client.send(new ConverseStreamCommand({ modelId: `${MODEL}+stream-error=3`, messages: [{ role: 'user', content: [{ text: 'a b c d e' }] }] }));
    const seen: unknown[] = [];
    const err = await (async () => {
      for await (const e of out.stream!) seen.push(e);
    })().catch((e: unknown) => e as Error);
    expect(seen).toHaveLength(3);
    expect((err as Error).name).toBe('ThrottlingException');
  });

  it('gateway errors are Bedrock-shaped: no key → 401 with x-amzn-errortype', async () => {
    const res = await fetch(`${gw.url}/a/test/bedrock/model/${encodeURIComponent(MODEL)}/converse`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"messages":[]}' });
    expect(res.status).toBe(401);
    expect(res.headers.get('x-amzn-errortype')).toBe('AccessDeniedException');
    expect(await res.json()).toMatchObject({ message: expect.stringContaining('gateway key') });
    expect(upstream.requests).toHaveLength(0);
  });

  it('on a proxy that is not Bedrock, Converse is a 400 unsupported_endpoint before any upstream call', async () => {
    await gw.addProxy({ id: 'oai', provider: 'openai-compatible', baseUrl: upstream.url });
    const { key } = await gw.addKey({ proxyId: 'oai' });
    for (const path of ['converse', 'converse-stream']) {
      const res = await fetch(`${gw.url}/a/oai/bedrock/model/${encodeURIComponent(MODEL)}/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-sluice-key': key },
        body: JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'hi' }] }] }),
      });
      expect(res.status).toBe(400);
      expect(res.headers.get('x-amzn-errortype')).toBe('ValidationException');
      expect(await res.json()).toEqual({ code: 'unsupported_endpoint', message: expect.stringContaining("not available for provider 'openai-compatible'") });
    }
    const sdk = new BedrockRuntimeClient({
      region: 'eu-central-1',
      endpoint: `${gw.url}/a/oai/bedrock`,
      credentials: { accessKeyId: 'AKIACLIENTSIDEONLY00', secretAccessKey: 'client-side-signature-is-ignored' },
      requestHandler: new NodeHttpHandler(),
      maxAttempts: 1,
    });
    sdk.middlewareStack.add((next) => async (args) => {
      (args.request as { headers: Record<string, string> }).headers['x-sluice-key'] = key;
      return next(args);
    }, { step: 'build', name: 'sluiceKey' });
    const err = await sdk.send(new ConverseCommand({ modelId: MODEL, messages: [{ role: 'user', content: [{ text: 'hi' }] }] })).catch((e: unknown) => e as Error & { $metadata: { httpStatusCode?: number } });
    expect((err as Error).name).toBe('ValidationException');
    expect((err as { $metadata: { httpStatusCode?: number } }).$metadata.httpStatusCode).toBe(400);
    expect(upstream.requests).toHaveLength(0);
  });
});
