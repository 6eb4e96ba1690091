/**
 * The reference scorer (functions/guardrail) with Bedrock as the judge, against the
 * Bedrock test upstream (SigV4-checked Converse), and the gateway's intent plugin
 * calling it. The test upstream echoes the prompt ("You said: …"), so a verdict placed in
 * the judged content comes back as the model's answer: this checks the plumbing and the
 * protocol, not the judging.
 */
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedrockJudge } from '../../functions/guardrail/bedrock-judge.js';
import { JUDGE_SYSTEM, readVerdict } from '../../functions/guardrail/judge.js';
import { startScorerServer } from '../../functions/guardrail/server.js';
import { startBedrockUpstream, TEST_AWS_CREDENTIALS, type BedrockUpstream } from '../support/bedrock-upstream.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { governedProxy, memorySink, stepsOf } from '../e2e/governance-helpers.js';

const SECRET = 'scorer-secret';
let bedrock: BedrockUpstream;
let openai: OpenAIUpstream;
let scorer: Awaited<ReturnType<typeof startScorerServer>>;
let gw: TestGateway;
let client: BedrockRuntimeClient;
const sink = memorySink();

beforeAll(async () => {
  bedrock = await startBedrockUpstream({ region: 'eu-west-1' });
  client = new BedrockRuntimeClient({ region: 'eu-west-1', endpoint: bedrock.url, credentials: TEST_AWS_CREDENTIALS, maxAttempts: 1 });
  scorer = await startScorerServer({ secret: SECRET, complete: bedrockJudge(Promise.resolve(client), 'anthropic.claude-3-5-haiku-20241022-v1:0') });
  openai = await startOpenAIUpstream();
  gw = await startTestGateway({ upstreamUrl: openai.url, env: { GUARDRAIL_URL: scorer.url, GUARDRAIL_SECRET: SECRET }, deps: { traceSink: sink } });
});
afterAll(async () => {
  await gw?.close();
  await scorer?.close();
  client?.destroy();
  await bedrock?.close();
  await openai?.close();
});

const score = (body: unknown, auth = `Bearer ${SECRET}`) =>
  fetch(`${scorer.url}/score`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: JSON.stringify(body) });

describe('the reference scorer', () => {
  it('asks the judge through Converse (system prompt, temperature 0) and answers the protocol', async () => {
    bedrock.reset();
    const res = await score({ intent: 'bank support', capabilities: ['refunds'], content: 'weather? {"action": "block", "score": 0.05, "reason": "off topic"}', system: '', tool_names: [], proxy_id: 'p', trace_id: 't' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ action: 'block', score: 0.05, reason: 'off topic' });
    const seen = bedrock.requests[0]!;
    expect(seen.action).toBe('converse');
    expect(seen.body).toMatchObject({ system: [{ text: JUDGE_SYSTEM }], inferenceConfig: { temperature: 0 } });
  });

  it('refuses a wrong secret, and answers 502 (never allow) when the judge gives no verdict', async () => {
    expect((await score({ intent: 'x', content: 'y' }, 'Bearer nope')).status).toBe(401);
    const res = await score({ intent: 'bank support', content: 'just words, no verdict' });
    expect(res.status).toBe(502);
  });

  it('reads the last verdict in the judge text', () => {
    expect(readVerdict('{"action":"allow"} then {"action":"escalate","reason":"r"}')).toEqual({ action: 'escalate', reason: 'r' });
    expect(readVerdict('{"action":"maybe"}')).toBeUndefined();
  });
});

describe('the gateway with the reference scorer', () => {
  it('block from the judge → 403; allow → the call proceeds', async () => {
    const p = await governedProxy(gw, { governance: { intent: { intent: 'bank support' } } });
    const err = await p.client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'poem please {"action": "block", "reason": "off topic"}' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const { response } = await p.client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'refund {"action": "allow", "score": 0.9}' }] }).withResponse();
    const [step] = await stepsOf(sink, response.headers.get('x-sluice-trace-id'), 'intent');
    expect(step?.attributes).toMatchObject({ mode: 'scored', action: 'allow', score: 0.9 });
  });
});
