/**
 * Bedrock with the caller's own AWS credentials (X-Sluice-AWS-*): the gateway re-signs
 * with them through the AWS SDK and never with its own role. The wire-faithful Bedrock
 * upstream verifies SigV4 and accepts only the caller's keys here, so a request that fell
 * back to the role would be refused (403) — and the role's keys are in this process's
 * default credential chain, so such a fallback would really sign.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBedrockClients } from '../../functions/providers/bedrock/transport.js';
import { replyTo, startBedrockUpstream, TEST_AWS_CREDENTIALS, useTestAwsCredentials, type BedrockUpstream } from '../support/bedrock-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { pollFor } from '../support/traces.js';
import { governedProxy } from './governance-helpers.js';

/** The caller's long-term keys, and a temporary set with a session token. */
const CALLER = { accessKeyId: 'AKIACALLEROWNKEY0001', secretAccessKey: 'callerSecretKeyForSigV4TestsOnly0000000A' };
const TEMPORARY = { accessKeyId: 'ASIACALLERTEMPKEY002', secretAccessKey: 'callerTemporarySecretForSigV4Tests00000B', sessionToken: 'FwoGZXIvYXdzECallerSessionToken0000000000000000000000C' };
const CALLER_REGION = 'us-west-2';
const MODEL = 'us.amazon.nova-lite-v1:0';
const CLAUDE = 'us.anthropic.claude-3-7-sonnet-20250219-v1:0';

const awsHeaders = (c: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }, region = CALLER_REGION): Record<string, string> => ({
  'X-Sluice-AWS-Access-Key-Id': c.accessKeyId,
  'X-Sluice-AWS-Secret-Access-Key': c.secretAccessKey,
  ...(c.sessionToken ? { 'X-Sluice-AWS-Session-Token': c.sessionToken } : {}),
  'X-Sluice-AWS-Region': region,
});

let upstream: BedrockUpstream;
let gw: TestGateway;
let selectionKey: string;
let plainKey: string;
const output: string[] = [];
const writes = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };

beforeAll(async () => {
  // The function's role: in the default chain, and NOT accepted by the upstream.
  useTestAwsCredentials();
  upstream = await startBedrockUpstream({ region: CALLER_REGION, credentials: [CALLER, TEMPORARY] });
  gw = await startTestGateway({
    upstreamUrl: upstream.url,
    proxy: { provider: 'bedrock', byok: true },
    // Logs on, so the secret grep below has something to read.
    env: { SLUICE_LOG_LEVEL: 'DEBUG' },
    deps: { bedrock: createBedrockClients('eu-west-1') },
  });
  // An OpenAI proxy that lets a request pick a named Bedrock upstream.
  await gw.addProxy({ id: 'select', provider: 'openai', baseUrl: 'http://127.0.0.1:9/v1', credentialRef: 'env:NOT_SET', upstreamSelection: true, upstreams: { bedrock: { provider: 'bedrock', baseUrl: upstream.url, allowPrivateNetwork: true } } });
  selectionKey = (await gw.addKey({ proxyId: 'select' })).key;
  // A plain Bedrock proxy (the role signs): caller credentials are refused there.
  await gw.addProxy({ id: 'role', provider: 'bedrock', byok: false });
  plainKey = (await gw.addKey({ proxyId: 'role' })).key;
  // Every log line is kept (not printed) for the grep below.
  const capture = ((chunk: unknown, ...rest: unknown[]) => {
    output.push(String(chunk));
    const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    done?.();
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = capture;
  process.stderr.write = capture;
});
afterAll(async () => {
  process.stdout.write = writes.out;
  process.stderr.write = writes.err;
  await gw?.close();
  await upstream?.close();
});
beforeEach(() => upstream.reset());

const openai = (headers: Record<string, string>, key = gw.key) => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, defaultHeaders: headers, maxRetries: 0 });
const signer = (i = 0) => /Credential=([^/]+)\/\d{8}\/([^/]+)\//.exec(String(upstream.requests[i]?.headers['authorization']))?.slice(1);

describe('a --byok Bedrock proxy signs with the caller\'s AWS credentials', () => {
  it('chat completions through the openai SDK: signed with the caller\'s key for the caller\'s Region', async () => {
    const out = await openai(awsHeaders(CALLER)).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Tell me about deltas' }] });
    expect(out.choices[0]!.message.content).toBe(replyTo('Tell me about deltas'));
    expect(upstream.requests).toHaveLength(1);
    expect(signer()).toEqual([CALLER.accessKeyId, CALLER_REGION]);
  });

  it('a streamed chat: ConverseStream signed with temporary credentials (session token signed too)', async () => {
    const stream = await openai(awsHeaders(TEMPORARY)).chat.completions.create({ model: MODEL, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Name a river' }] });
    let text = '';
    let usage: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(replyTo('Name a river'));
    expect(usage).toMatchObject({ prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) });
    expect(signer()).toEqual([TEMPORARY.accessKeyId, CALLER_REGION]);
    expect(upstream.requests[0]!.headers['x-amz-security-token']).toBe(TEMPORARY.sessionToken);
  });

  it('native Anthropic Messages through the Anthropic SDK go to InvokeModel with the caller\'s signature', async () => {
    const client = new Anthropic({ baseURL: gw.url, apiKey: gw.key, defaultHeaders: awsHeaders(CALLER), maxRetries: 0 });
    const msg = await client.messages.create({ model: CLAUDE, max_tokens: 64, messages: [{ role: 'user', content: 'Hello there' }] });
    expect(msg.content[0]).toMatchObject({ type: 'text' });
    expect(upstream.requests[0]!.action).toBe('invoke');
    expect(signer()).toEqual([CALLER.accessKeyId, CALLER_REGION]);
  });

  it('native Converse through the AWS SDK: the caller\'s X-Sluice-AWS-* headers sign the upstream call', async () => {
    const client = new BedrockRuntimeClient({
      region: 'eu-central-1',
      endpoint: `${gw.url}/a/test/bedrock`,
      credentials: { accessKeyId: 'AKIACLIENTSIDEONLY00', secretAccessKey: 'client-side-signature-is-ignored' },
      requestHandler: new NodeHttpHandler(),
      maxAttempts: 1,
    });
    client.middlewareStack.add(
      (next) => async (args) => {
        Object.assign((args.request as { headers: Record<string, string> }).headers, { 'x-sluice-key': gw.key }, awsHeaders(CALLER));
        return next(args);
      },
      { step: 'build', name: 'sluiceHeaders' },
    );
    const out = await client.send(new ConverseCommand({ modelId: MODEL, messages: [{ role: 'user', content: [{ text: 'Say hi' }] }] }));
    expect(out.output?.message?.content).toEqual([{ text: replyTo('Say hi') }]);
    expect(signer()).toEqual([CALLER.accessKeyId, CALLER_REGION]);
  });

  it('no caller credentials: 401 missing_provider_credentials, and nothing reaches Bedrock (no fallback to the role)', async () => {
    const err = await openai({}).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('missing_provider_credentials');
    expect(upstream.requests).toHaveLength(0);
  });

  it('a partial set or a Region that is not an AWS Region is a 400 that never echoes the value', async () => {
    const partial = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json', 'x-sluice-aws-access-key-id': CALLER.accessKeyId },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(partial.status).toBe(400);
    const partialBody = (await partial.json()) as { error: { code: string; param: string; message: string } };
    expect(partialBody.error).toMatchObject({ code: 'invalid_header', param: 'x-sluice-aws-secret-access-key' });
    expect(partialBody.error.message).not.toContain(CALLER.accessKeyId);

    const host = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json', ...awsHeaders(CALLER, 'evil.example.com') },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(host.status).toBe(400);
    const hostBody = await host.text();
    expect(hostBody).toContain('x-sluice-aws-region');
    expect(hostBody).not.toContain('evil.example.com');
    expect(upstream.requests).toHaveLength(0);
  });

  it('clients are keyed by the whole credential: a wrong secret with a known key id is refused, before and after the right one', async () => {
    const wrong = { ...CALLER, secretAccessKey: 'wrongSecretKeyForSigV4TestsOnly000000000' };
    const first = await openai(awsHeaders(wrong)).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'a' }] }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(OpenAI.APIError);
    expect((first as InstanceType<typeof OpenAI.APIError>).status).not.toBe(200);
    await openai(awsHeaders(CALLER)).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'b' }] });
    const again = await openai(awsHeaders(wrong)).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'c' }] }).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(OpenAI.APIError);
    // Three requests reached Bedrock, each signed with the key id; only the right secret's signature passed.
    expect(upstream.requests).toHaveLength(3);
  });
});

describe('elsewhere', () => {
  it('X-Sluice-Upstream: bedrock (a named Bedrock upstream) on a proxy with upstream selection signs with the caller\'s keys', async () => {
    const out = await openai({ 'X-Sluice-Upstream': 'bedrock', ...awsHeaders(CALLER) }, selectionKey).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Pick me' }] });
    expect(out.choices[0]!.message.content).toBe(replyTo('Pick me'));
    expect(signer()).toEqual([CALLER.accessKeyId, CALLER_REGION]);
  });

  it('caller credentials on a proxy that does not take them: 403 caller_credentials_forbidden', async () => {
    const err = await openai(awsHeaders(CALLER), plainKey).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('caller_credentials_forbidden');
    expect(upstream.requests).toHaveLength(0);
  });

  it('the headers never reach the policy input: a request policy that looks for them lets the call through', async () => {
    // The policy denies if any X-Sluice-AWS-* header, or (the start of) the secret, is in its input.
    // Only a prefix goes into the policy: the stored policy must not hold the secret the grep below looks for.
    const policy = `package sluice.policy
deny contains "caller AWS credentials reached the policy input" if {
  some name, _ in input.headers
  startswith(name, "x-sluice-aws")
}
deny contains "the secret reached the policy input" if {
  contains(json.marshal(input), "${CALLER.secretAccessKey.slice(0, 20)}")
}
`;
    const { key } = await governedProxy(gw, { policies: { request: policy }, proxy: { provider: 'bedrock', byok: true } });
    // The same policy does see headers on the allow-list (so it is really evaluated on them).
    const seen = await governedProxy(gw, { policies: { request: 'package sluice.policy\ndeny contains "ua" if { input.headers["user-agent"] == "probe" }\n' }, proxy: { provider: 'bedrock', byok: true } });
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...awsHeaders(CALLER) },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status, await res.text()).toBe(200);
    const denied = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${seen.key}`, 'content-type': 'application/json', 'user-agent': 'probe', ...awsHeaders(CALLER) },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(denied.status).toBe(403);
  });

  it('the credentials appear in no log line, trace, spool or state file; the trace keeps only a fingerprint', async () => {
    const { traceId } = await (async () => {
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json', ...awsHeaders(TEMPORARY) },
        body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'grep me' }] }),
      });
      expect(res.status).toBe(200);
      await res.text();
      return { traceId: res.headers.get('x-sluice-trace-id')! };
    })();
    const files = async (dir: string): Promise<string[]> =>
      (await readdir(dir, { withFileTypes: true })).flatMap((e) => (e.isDirectory() ? [] : [join(dir, e.name)])).concat(
        ...(await Promise.all((await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => files(join(dir, e.name))))),
      );
    const traced = await pollFor(async () => {
      for (const f of await files(gw.dataDir)) if ((await readFile(f, 'utf8')).includes(traceId)) return true;
      return undefined;
    });
    expect(traced).toBe(true);
    const everything = [output.join(''), ...(await Promise.all((await files(gw.dataDir)).map((f) => readFile(f, 'utf8'))))].join('\n');
    expect(output.join('')).toContain(traceId);
    for (const secret of [CALLER.secretAccessKey, TEMPORARY.secretAccessKey, TEMPORARY.sessionToken, TEST_AWS_CREDENTIALS.secretAccessKey]) expect(everything).not.toContain(secret);
    expect(everything).not.toContain(TEMPORARY.accessKeyId);
    // What is kept: the 8-character SHA-256 prefix over key id, secret and token.
    const fingerprint = createHash('sha256').update(`${TEMPORARY.accessKeyId}\0${TEMPORARY.secretAccessKey}\0${TEMPORARY.sessionToken}`).digest('hex').slice(0, 8);
    expect(everything).toContain(`"providerKeyFingerprint":"${fingerprint}"`);
  });
});
