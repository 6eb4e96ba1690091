/**
 * The response stage through the local runtime with the official OpenAI SDK: redaction
 * and deny on plain and streamed chat, incremental stream rules (first token before the
 * upstream finishes; a secret split across chunks still masked), buffered mode.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BLOCKED_NOTICE } from '../../functions/governance/response-output.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { FULL_RULES, governedProxy, masked, memorySink, stepsOf, STREAM_RULES } from './governance-helpers.js';

let upstream: OpenAIUpstream;
let gw: TestGateway;
const sink = memorySink();

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  gw = await startTestGateway({ upstreamUrl: upstream.url, deps: { traceSink: sink } });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
beforeEach(() => upstream.reset());


describe('plain responses', () => {
  it('redact: the flagged span masked, every other field preserved', async () => {
    const { client } = await governedProxy(gw, { policies: { response: FULL_RULES } });
    const { data, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'my account is ACCT 1234 5678 thanks' }] }).withResponse();
    expect(data.choices[0]?.message.content).toBe(`You said: my account is ${masked('ACCT 1234 5678')} thanks`);
    expect(data.choices[0]?.finish_reason).toBe('stop');
    expect(data.usage?.total_tokens).toBeGreaterThan(0);
    expect(data.id).toMatch(/^chatcmpl-/);
    expect(data.model).toBeTruthy();
    const steps = await stepsOf(sink, response.headers.get('x-sluice-trace-id'), 'policy');
    expect(steps.find((s) => s.attributes.stage === 'response')?.attributes).toMatchObject({ mode: 'buffered', decision: 'redact', masked: 1, policyVersion: 1 });
  });

  it('deny: a blocked notice and finish_reason content_filter', async () => {
    const { client } = await governedProxy(gw, { policies: { response: FULL_RULES } });
    const { data, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'the launch code is 0000' }] }).withResponse();
    expect(data.choices[0]?.message.content).toBe(BLOCKED_NOTICE);
    expect(data.choices[0]?.finish_reason).toBe('content_filter');
    const steps = await stepsOf(sink, response.headers.get('x-sluice-trace-id'), 'policy');
    expect(steps.find((s) => s.attributes.stage === 'response')?.attributes).toMatchObject({ decision: 'deny', reasons: ['no launch codes'] });
  });

  it('the Responses API: output_text masked', async () => {
    const { client } = await governedProxy(gw, { policies: { response: FULL_RULES } });
    const res = await client.responses.create({ model: 'gpt-4o-mini', input: 'my account is ACCT 1234 5678' });
    expect(res.output_text).toBe(`You said: my account is ${masked('ACCT 1234 5678')}`);
  });

  it('Anthropic messages (native ingress): text blocks masked; deny → the notice with stop_reason refusal', async () => {
    const { id, key } = await governedProxy(gw, { policies: { response: FULL_RULES } });
    const anthropic = new Anthropic({ baseURL: `${gw.url}/a/${id}/anthropic`, apiKey: key, maxRetries: 0 });
    const msg = await anthropic.messages.create({ model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'my account is ACCT 1234 5678' }] });
    expect(msg.content).toEqual([expect.objectContaining({ type: 'text', text: `You said: my account is ${masked('ACCT 1234 5678')}` })]);
    expect(msg.stop_reason).toBe('end_turn');
    const blocked = await anthropic.messages.create({ model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'the launch code is 0000' }] });
    expect(blocked.content).toEqual([{ type: 'text', text: BLOCKED_NOTICE }]);
    expect(blocked.stop_reason).toBe('refusal');
  });

  it('no response policy: the trace says nothing was checked (no step claims a pass)', async () => {
    const { client } = await governedProxy(gw, {});
    const { response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    const steps = await stepsOf(sink, response.headers.get('x-sluice-trace-id'), 'policy');
    expect(steps.filter((s) => s.attributes.stage === 'response')).toEqual([]);
  });
});

describe('streamed responses', () => {
  it('incremental stream_redact: masked across three chunks, and the first token arrives before the upstream finishes', async () => {
    const { client } = await governedProxy(gw, { policies: { response: STREAM_RULES } });
    const prompt = 'my account is ACCT 1234 5678 and this sentence keeps going for a good while longer';
    const t0 = performance.now();
    const stream = await client.chat.completions.create({ model: 'test-slow@first=50,gap=40', messages: [{ role: 'user', content: prompt }], stream: true });
    let text = '';
    let firstAt = 0;
    let finish: string | null = null;
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta?.content ?? '';
      if (piece && !firstAt) firstAt = performance.now() - t0;
      text += piece;
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    const total = performance.now() - t0;
    expect(text).toBe(`You said: my account is ${masked('ACCT 1234 5678')} and this sentence keeps going for a good while longer`);
    expect(finish).toBe('stop');
    // ~20 words at 40 ms each: the first text came well before the end.
    expect(firstAt).toBeLessThan(total - 300);
  });

  it('stream_deny: the stream stops with a notice, content_filter and [DONE]; what was sent stays sent; the trace says where it was cut', async () => {
    const { client } = await governedProxy(gw, { policies: { response: STREAM_RULES } });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'please run rm -rf / now and then more words' }], stream: true }).withResponse();
    let text = '';
    let finish: string | null = null;
    for await (const chunk of stream.data) {
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe('content_filter');
    expect(text).not.toContain('rm -rf');
    expect(text.endsWith(BLOCKED_NOTICE)).toBe(true);
    // The last window - 1 (13) characters were held back when the match completed, the rest had been sent.
    expect(text).toBe(`You said: plea${BLOCKED_NOTICE}`);
    const steps = await stepsOf(sink, stream.response.headers.get('x-sluice-trace-id'), 'policy');
    const step = steps.find((s) => s.attributes.stage === 'response');
    expect(step?.attributes).toMatchObject({ mode: 'incremental', decision: 'deny', cutBy: 'rm -rf /' });
    expect(step?.attributes.cutAt).toBe('You said: please run '.length);
  });

  it('buffered: a policy without stream rules holds the stream, decides on the whole output, then re-emits it', async () => {
    const { client } = await governedProxy(gw, { policies: { response: FULL_RULES } });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'account ACCT 1234 5678 ok' }], stream: true }).withResponse();
    let text = '';
    let contentChunks = 0;
    for await (const chunk of stream.data) {
      const piece = chunk.choices[0]?.delta?.content ?? '';
      if (piece) contentChunks++;
      text += piece;
    }
    expect(text).toBe(`You said: account ${masked('ACCT 1234 5678')} ok`);
    expect(contentChunks).toBe(1);
    const steps = await stepsOf(sink, stream.response.headers.get('x-sluice-trace-id'), 'policy');
    expect(steps.find((s) => s.attributes.stage === 'response')?.attributes).toMatchObject({ mode: 'buffered', decision: 'redact' });

    const denied = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'the launch code is 0000' }], stream: true });
    let deniedText = '';
    let finish: string | null = null;
    for await (const chunk of denied) {
      deniedText += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(deniedText).toBe(BLOCKED_NOTICE);
    expect(finish).toBe('content_filter');
  });

  it('the Responses API stream: typed delta events masked incrementally, done events and response.completed carry the masked text', async () => {
    const { client } = await governedProxy(gw, { policies: { response: STREAM_RULES } });
    const stream = await client.responses.create({ model: 'gpt-4o-mini', input: 'my account ACCT 1234 5678 is blocked', stream: true }).withResponse();
    let text = '';
    let doneText = '';
    let completed = '';
    for await (const event of stream.data) {
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.output_text.done') doneText = event.text;
      if (event.type === 'response.completed') {
        const item = event.response.output[0];
        completed = item?.type === 'message' && item.content[0]?.type === 'output_text' ? item.content[0].text : '';
      }
    }
    const expected = `You said: my account ${masked('ACCT 1234 5678')} is blocked`;
    expect(text).toBe(expected);
    expect(doneText).toBe(expected);
    expect(completed).toBe(expected);
    const steps = await stepsOf(sink, stream.response.headers.get('x-sluice-trace-id'), 'policy');
    expect(steps.find((s) => s.attributes.stage === 'response')?.attributes).toMatchObject({ mode: 'incremental', decision: 'redact', masked: 1 });
  });

  it('the Responses API stream: stream_deny ends it with the notice and response.incomplete (content_filter)', async () => {
    const { client } = await governedProxy(gw, { policies: { response: STREAM_RULES } });
    const stream = await client.responses.create({ model: 'gpt-4o-mini', input: 'please run rm -rf / now and more', stream: true });
    let text = '';
    let reason: string | undefined;
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.incomplete') reason = event.response.incomplete_details?.reason;
    }
    expect(text).toBe(`You said: plea${BLOCKED_NOTICE}`);
    expect(reason).toBe('content_filter');
  });
});

describe('response-stage fail modes', () => {
  const slow = `package sluice.policy
redact contains "x" if {
  some i in numbers.range(1, 2000)
  some j in numbers.range(1, 2000)
  i * j == -1
}
`;
  it('open (default): an evaluation past its budget lets the answer through unchanged, traced as an error', async () => {
    const { client } = await governedProxy(gw, { policies: { response: slow }, governance: { evalBudgetMs: 20 } });
    const { data, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }] }).withResponse();
    expect(data.choices[0]?.message.content).toBe('You said: hello there');
    const steps = await stepsOf(sink, response.headers.get('x-sluice-trace-id'), 'policy');
    expect(steps.filter((s) => s.attributes.stage === 'response').map((s) => s.attributes)).toEqual([expect.objectContaining({ mode: 'error', failMode: 'open', error: 'eval_cancel_error' })]);
  });

  it('closed: a plain answer is withheld (the status was already sent), and a policy that cannot be used answers 503 before the model is called', async () => {
    const p = await governedProxy(gw, { policies: { response: slow }, governance: { evalBudgetMs: 20, failModes: { response: 'closed' } } });
    const { data } = await p.client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }] }).withResponse();
    expect(data.choices[0]?.message.content).toBe(BLOCKED_NOTICE);
    expect(data.choices[0]?.finish_reason).toBe('content_filter');

    const broken = await governedProxy(gw, { governance: { failModes: { response: 'closed' } } });
    const proxy = (await gw.store.getProxy(broken.id))!;
    await gw.store.putProxy({ ...proxy, governance: { ...proxy.governance!, policies: { response: { version: 1, format: 'rego', body: 'package x\ndeny if {', sha256: 'f'.repeat(64), updatedAt: new Date().toISOString() } } } });
    upstream.reset();
    const err = await broken.client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('policy_unavailable');
    expect(upstream.requests).toHaveLength(0);
  });
});
