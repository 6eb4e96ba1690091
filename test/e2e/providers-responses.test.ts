/**
 * The OpenAI SDK's Responses API on providers without one (Anthropic, Bedrock): the
 * request is translated through chat completions, the answer re-told as a `response`
 * object or as Responses stream events.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBedrockClients } from '../../functions/providers/bedrock/transport.js';
import { replyTo, startAnthropicUpstream, type AnthropicUpstream } from '../support/anthropic-upstream.js';
import { startBedrockUpstream, useTestAwsCredentials, type BedrockUpstream } from '../support/bedrock-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/** Traces are not under test here: dropped in memory, so nothing is still writing files when a gateway stops. */
const quietTraces = { traceSink: { write: async () => undefined } };

let anthropic: AnthropicUpstream;
let bedrock: BedrockUpstream;
let gwA: TestGateway;
let gwB: TestGateway;

beforeAll(async () => {
  useTestAwsCredentials();
  anthropic = await startAnthropicUpstream();
  bedrock = await startBedrockUpstream({ region: 'us-east-1' });
  gwA = await startTestGateway({ upstreamUrl: anthropic.url, proxy: { provider: 'anthropic' }, deps: quietTraces });
  gwB = await startTestGateway({ upstreamUrl: bedrock.url, proxy: { provider: 'bedrock' }, deps: { ...quietTraces, bedrock: createBedrockClients('us-east-1') } });
});
afterAll(async () => {
  await gwA?.close();
  await gwB?.close();
  await anthropic?.close();
  await bedrock?.close();
});

const tools: OpenAI.Responses.FunctionTool[] = [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false }];

for (const [name, model] of [
  ['anthropic', 'claude-sonnet-4-5'],
  ['bedrock', 'us.anthropic.claude-sonnet-4-20250514-v1:0'],
] as const) {
  describe(`Responses API on ${name}`, () => {
    const client = () => {
      const gw = name === 'anthropic' ? gwA : gwB;
      return new OpenAI({ baseURL: `${gw.url}/a/test/openai/v1`, apiKey: gw.key, maxRetries: 0 });
    };

    it('create: instructions and input become the conversation; output_text and usage come back', async () => {
      const res = await client().responses.create({ model, instructions: 'Be brief.', input: 'Say something about rivers', max_output_tokens: 100 });
      expect(res.object).toBe('response');
      expect(res.status).toBe('completed');
      expect(res.output_text).toBe(replyTo('Say something about rivers'));
      expect(res.usage?.input_tokens).toBeGreaterThan(0);
      expect(res.usage?.total_tokens).toBe((res.usage?.input_tokens ?? 0) + (res.usage?.output_tokens ?? 0));
    });

    it('stream: text deltas, then response.completed with usage', async () => {
      const stream = client().responses.stream({ model, input: 'Tell me about the sea' });
      let deltas = '';
      stream.on('response.output_text.delta', (e) => {
        deltas += e.delta;
      });
      const final = await stream.finalResponse();
      expect(deltas).toBe(replyTo('Tell me about the sea'));
      expect(final.output_text).toBe(replyTo('Tell me about the sea'));
      expect(final.usage?.output_tokens).toBeGreaterThan(0);
    });

    it('function calls, plain and streamed, and the follow-up with function_call_output', async () => {
      const m = `${model}+tools`;
      const plain = await client().responses.create({ model: m, input: 'weather in Paris', tools });
      const call = plain.output.find((o) => o.type === 'function_call');
      expect(call).toMatchObject({ type: 'function_call', name: 'get_weather', arguments: JSON.stringify({ city: 'weather in Paris' }) });
      const streamed = await client().responses.stream({ model: m, input: 'weather in Paris', tools }).finalResponse();
      expect(streamed.output.find((o) => o.type === 'function_call')).toMatchObject({ name: 'get_weather', arguments: JSON.stringify({ city: 'weather in Paris' }) });
      const followUp = await client().responses.create({
        model,
        tools,
        input: [
          { role: 'user', content: 'weather in Paris' },
          { type: 'function_call', call_id: (call as { call_id: string }).call_id, name: 'get_weather', arguments: '{"city":"Paris"}' },
          { type: 'function_call_output', call_id: (call as { call_id: string }).call_id, output: 'sunny' },
        ],
      });
      expect(followUp.output_text).toContain('sunny');
    });

    it('previous_response_id cannot be honoured: a clear 400', async () => {
      const err = (await client().responses.create({ model, input: 'x', previous_response_id: 'resp_123' }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
      expect(err.status).toBe(400);
      expect(err.param).toBe('previous_response_id');
    });
  });
}
