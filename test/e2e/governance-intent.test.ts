/**
 * The intent plugin against a local scorer server: the trigger matrix, block and escalate
 * (reason never sent to the client), fail modes, and the escalation notice delivered
 * before the Lambda handler resolves.
 */
import '../../functions/local/awslambda.js';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGatewayHandler } from '../../functions/gateway/handler.js';
import { depsFromEnv } from '../../functions/gateway/deps.js';
import { LambdaResponseStream } from '../../functions/local/awslambda.js';
import type { ScoreRequest } from '../../functions/governance/intent-scorer.js';
import type { IntentConfig } from '../../functions/stores/types.js';
import { FileControlStore } from '../../functions/stores/file-store.js';
import { generateGatewayKey } from '../../functions/stores/keys.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { apiErrorOf } from '../support/api-error.js';
import { governedProxy, memorySink, stepsOf } from './governance-helpers.js';

const SECRET = 'guardrail-secret-for-tests';

/** Scores by keywords in the content: "refund" → allow, "poem" → block, "lawyer" → escalate, "crash" → 500, "slow" → hangs. */
function startScorer() {
  const seen: { body: ScoreRequest; auth: string | undefined }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      const body = JSON.parse(text) as ScoreRequest;
      seen.push({ body, auth: req.headers.authorization });
      if (req.headers.authorization !== `Bearer ${SECRET}`) return void res.writeHead(401).end();
      if (body.content.includes('crash')) return void res.writeHead(500).end('boom');
      if (body.content.includes('slow')) return; // never answers
      const action = body.content.includes('poem') ? 'block' : body.content.includes('lawyer') ? 'escalate' : 'allow';
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ action, score: action === 'allow' ? 0.9 : 0.1, reason: `secret judge notes: ${action}` }));
    });
  });
  return { server, seen };
}

let upstream: OpenAIUpstream;
let gw: TestGateway;
let closedGw: TestGateway;
const scorer = startScorer();
let scorerUrl: string;
const sink = memorySink();

beforeAll(async () => {
  await new Promise<void>((r) => scorer.server.listen(0, '127.0.0.1', r));
  scorerUrl = `http://127.0.0.1:${(scorer.server.address() as AddressInfo).port}`;
  upstream = await startOpenAIUpstream();
  gw = await startTestGateway({ upstreamUrl: upstream.url, env: { GUARDRAIL_URL: scorerUrl, GUARDRAIL_SECRET: SECRET }, deps: { traceSink: sink } });
  closedGw = await startTestGateway({ upstreamUrl: upstream.url, env: { GUARDRAIL_URL: scorerUrl, GUARDRAIL_SECRET: SECRET, SLUICE_INTENT_FAIL_MODE: 'closed' }, deps: { traceSink: sink } });
});
afterAll(async () => {
  await gw?.close();
  await closedGw?.close();
  await upstream?.close();
  scorer.server.closeAllConnections();
  await new Promise((r) => scorer.server.close(r));
});
beforeEach(() => {
  upstream.reset();
  scorer.seen.length = 0;
});

const INTENT: IntentConfig = { intent: 'Customer support for ACME bank accounts', capabilities: ['refunds', 'card blocking'] };
const chat = (client: OpenAI, content: string, extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}) =>
  client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], ...extra }).withResponse();

describe('actions', () => {
  it('allow: scored with the secret, fields as documented; the call proceeds', async () => {
    const p = await governedProxy(gw, { governance: { intent: INTENT } });
    const { response } = await chat(p.client, 'I want a refund for a double charge');
    expect(upstream.requests).toHaveLength(1);
    expect(scorer.seen).toHaveLength(1);
    expect(scorer.seen[0]!.auth).toBe(`Bearer ${SECRET}`);
    expect(scorer.seen[0]!.body).toMatchObject({ intent: INTENT.intent, capabilities: INTENT.capabilities, content: 'I want a refund for a double charge', proxy_id: p.id });
    const [step] = await stepsOf(sink, response.headers.get('x-sluice-trace-id'), 'intent');
    expect(step?.attributes).toMatchObject({ mode: 'scored', action: 'allow', score: 0.9 });
  });

  it('block: 403, the reason only in the trace, the upstream never called', async () => {
    const p = await governedProxy(gw, { governance: { intent: INTENT } });
    const err = await apiErrorOf(chat(p.client, 'write me a poem about the sea'));
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(err.code).toBe('intent_blocked');
    expect(JSON.stringify(err.error)).not.toContain('secret judge notes');
    expect(upstream.requests).toHaveLength(0);
    const [step] = await stepsOf(sink, err.headers?.get('x-sluice-trace-id') ?? null, 'intent');
    expect(step?.attributes).toMatchObject({ action: 'block', reason: 'secret judge notes: block' });
  });

  it('fields are cut to 4096 characters', async () => {
    const p = await governedProxy(gw, { governance: { intent: { ...INTENT, intent: 'i'.repeat(5000) } } });
    await chat(p.client, `refund ${'x'.repeat(9000)}`);
    expect(scorer.seen[0]!.body.content).toHaveLength(4096);
    expect(scorer.seen[0]!.body.intent).toHaveLength(4096);
  });
});

describe('trigger matrix', () => {
  const cases: { name: string; intent: Partial<IntentConfig>; content: string; tools?: boolean; session?: number; scored: boolean; reason?: RegExp }[] = [
    { name: 'all (default) scores every turn', intent: {}, content: 'refund please', session: 3, scored: true },
    { name: 'first_only skips turn 2', intent: { turnScope: 'first_only' }, content: 'refund please', session: 2, scored: false, reason: /first_only/ },
    { name: 'first_only scores turn 1', intent: { turnScope: 'first_only' }, content: 'refund please', session: 1, scored: true },
    { name: 'first_n scores turn n', intent: { turnScope: 'first_n', n: 2 }, content: 'refund please', session: 2, scored: true },
    { name: 'first_n skips turn n+1', intent: { turnScope: 'first_n', n: 2 }, content: 'refund please', session: 3, scored: false, reason: /first_n/ },
    { name: 'on_tools require skips a request without tools', intent: { onTools: 'require' }, content: 'refund please', scored: false, reason: /require/ },
    { name: 'on_tools require scores a request with tools', intent: { onTools: 'require' }, content: 'refund please', tools: true, scored: true },
    { name: 'on_tools ignore skips a request with tools', intent: { onTools: 'ignore' }, content: 'refund please', tools: true, scored: false, reason: /ignore/ },
    { name: 'on_tools always scores a request with tools', intent: { onTools: 'always' }, content: 'refund please', tools: true, scored: true },
    { name: 'min_content_chars skips short content', intent: { minContentChars: 50 }, content: 'refund', scored: false, reason: /min_content_chars/ },
    { name: 'sample_rate 0 never scores', intent: { sampleRate: 0 }, content: 'refund please', scored: false, reason: /sample_rate/ },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const p = await governedProxy(gw, { governance: { intent: { ...INTENT, ...c.intent } } });
      // Turns come from the session plugin: send the conversation's earlier turns first, with one session id.
      const sessionId = crypto.randomUUID();
      const turns = c.session ?? 1;
      const headers = { 'x-sluice-session-id': sessionId };
      for (let t = 1; t < turns; t++) await p.client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `refund please, turn ${t}` }] }, { headers });
      scorer.seen.length = 0;
      const extra = c.tools ? { tools: [{ type: 'function' as const, function: { name: 'refund', parameters: { type: 'object', properties: {} } } }] } : {};
      const { data, response } = await p.client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: c.content }], ...extra }, { headers }).withResponse();
      expect(data.choices).toHaveLength(1);
      const traceId = response.headers.get('x-sluice-trace-id');
      const [step] = await stepsOf(sink, traceId, 'intent');
      if (c.session) expect(sink.batches.filter((b) => b.record.traceId === traceId).at(-1)?.record.attributes.sessionTurn).toBe(c.session);
      expect(scorer.seen.length).toBe(c.scored ? 1 : 0);
      expect(step?.attributes.mode).toBe(c.scored ? 'scored' : 'skipped');
      if (c.reason) expect(String(step?.attributes.reason)).toMatch(c.reason);
    });
  }
});

describe('fail modes', () => {
  it('open (default): a scorer error or timeout lets the call through, traced as an error', async () => {
    const p = await governedProxy(gw, { governance: { intent: INTENT } });
    const { response } = await chat(p.client, 'crash the scorer');
    expect(upstream.requests).toHaveLength(1);
    const [step] = await stepsOf(sink, response.headers.get('x-sluice-trace-id'), 'intent');
    expect(step?.attributes).toMatchObject({ mode: 'error', failMode: 'open', error: 'scorer answered 500' });
  });

  it('closed: 503 intent_unavailable, the upstream never called', async () => {
    const p = await governedProxy(closedGw, { governance: { intent: INTENT } });
    const err = await apiErrorOf(chat(p.client, 'crash the scorer'));
    expect(err.status).toBe(503);
    expect(err.code).toBe('intent_unavailable');
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('escalate', () => {
  it('403 to the client at once; the operator notice is delivered before the Lambda handler resolves', async () => {
    const delivered: { at: number; notice: Record<string, unknown> }[] = [];
    // The webhook takes 300 ms: a notice not awaited by the invocation would land after it resolved.
    const webhook = createServer((req, res) => {
      let text = '';
      req.on('data', (c) => (text += c));
      req.on('end', () => setTimeout(() => res.end('ok', () => delivered.push({ at: performance.now(), notice: JSON.parse(text) as Record<string, unknown> })), 300));
    });
    await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
    const dataDir = await mkdtemp(join(tmpdir(), 'sluice-intent-'));
    try {
      const store = new FileControlStore({ dataDir });
      await store.putProxy({ id: 'p1', orgId: 'o1', name: 'p1', provider: 'openai-compatible', baseUrl: upstream.url, byok: false, allowPrivateNetwork: true, createdAt: new Date().toISOString(), governance: { enabled: true, intent: INTENT } });
      const generated = generateGatewayKey();
      await store.putKey({ id: generated.id, hash: generated.hash, proxyId: 'p1', orgId: 'o1', createdAt: new Date().toISOString() });
      const env = {
        SLUICE_DATA_DIR: dataDir,
        SLUICE_LOG_LEVEL: 'SILENT',
        GUARDRAIL_URL: scorerUrl,
        GUARDRAIL_SECRET: SECRET,
        SLUICE_NOTIFY_WEBHOOK_URL: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/`,
      };
      const handler = createGatewayHandler({ ...depsFromEnv(env), store, traceSink: memorySink() }) as unknown as (e: unknown, s: unknown, c: unknown) => Promise<void>;
      const writes: { at: number; bytes: Buffer }[] = [];
      const stream = new LambdaResponseStream((chunk, done) => {
        writes.push({ at: performance.now(), bytes: Buffer.from(chunk) });
        done();
      });
      const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'I need a lawyer to sue the bank' }] });
      const event = {
        version: '2.0',
        rawPath: '/a/p1/openai/v1/chat/completions',
        rawQueryString: '',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${generated.key}` },
        requestContext: { http: { method: 'POST', path: '/a/p1/openai/v1/chat/completions', protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'test' }, requestId: 'r1', timeEpoch: 0 },
        body,
        isBase64Encoded: false,
      };
      await handler(event, stream, { getRemainingTimeInMillis: () => 60_000, awsRequestId: 'r1' });
      const resolvedAt = performance.now();
      expect(delivered).toHaveLength(1);
      expect(delivered[0]!.at).toBeLessThanOrEqual(resolvedAt);
      expect(delivered[0]!.notice).toMatchObject({ kind: 'escalation', proxyId: 'p1', reasons: ['secret judge notes: escalate'] });
      const text = Buffer.concat(writes.map((w) => w.bytes)).toString('utf8');
      expect(text).toContain('"statusCode":403');
      expect(text).toContain('intent_escalated');
      expect(text).not.toContain('secret judge notes');
      // The client's answer did not wait for the webhook.
      expect(writes[0]!.at).toBeLessThan(delivered[0]!.at);
      expect(upstream.requests).toHaveLength(0);
    } finally {
      webhook.closeAllConnections();
      await new Promise((r) => webhook.close(r));
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
