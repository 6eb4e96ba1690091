/**
 * The response cache (#20) through the official OpenAI SDK against the local runtime:
 * a proxy with `cache.ttlSeconds` (written through the control store), a wire-faithful
 * upstream that counts calls.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { replyTo, startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let upstream: OpenAIUpstream;
let gw: TestGateway;
let client: OpenAI;
let uncached: OpenAI;

const chatCalls = () => upstream.requests.filter((r) => r.path === '/v1/chat/completions').length;
let n = 0;
/** A prompt no other test has sent: every test starts with an empty entry. */
const fresh = (text: string) => `${text} #${++n} ${Date.now()}`;

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  gw = await startTestGateway({ upstreamUrl: upstream.url, proxy: { cache: { ttlSeconds: 60 } } });
  client = new OpenAI({ baseURL: `${gw.url}/a/test/openai/v1`, apiKey: gw.key, maxRetries: 0 });
  const plain = await gw.addProxy({ id: 'plain' });
  const { key } = await gw.addKey({ proxyId: plain.id });
  uncached = new OpenAI({ baseURL: `${gw.url}/a/plain/openai/v1`, apiKey: key, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
beforeEach(() => upstream.reset());

describe('chat completions, plain', () => {
  it('a repeat is a hit: the same answer, no upstream call, X-Sluice-Cache miss then hit', async () => {
    const prompt = fresh('Say something about rivers');
    const request = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: prompt }], temperature: 0 };
    const first = await client.chat.completions.create(request).withResponse();
    expect(first.response.headers.get('x-sluice-cache')).toBe('miss');
    expect(first.data.choices[0]?.message.content).toBe(replyTo(prompt));
    const second = await client.chat.completions.create(request).withResponse();
    expect(second.response.headers.get('x-sluice-cache')).toBe('hit');
    expect(chatCalls()).toBe(1);
    expect(second.data).toEqual(first.data);
    // A hit never replays upstream headers.
    expect(first.response.headers.get('x-request-id')).not.toBeNull();
    for (const name of ['x-request-id', 'openai-version', 'openai-organization', 'openai-processing-ms']) expect(second.response.headers.get(name)).toBeNull();
    expect([...second.response.headers.keys()].filter((h) => h.startsWith('x-ratelimit-'))).toEqual([]);
    expect(second.response.headers.get('x-sluice-attempts')).toBeNull();
  });

  it('a different parameter is a different entry', async () => {
    const prompt = fresh('Tell me about lakes');
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }], temperature: 0 });
    const other = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }], temperature: 1 }).withResponse();
    expect(other.response.headers.get('x-sluice-cache')).toBe('miss');
    expect(chatCalls()).toBe(2);
  });

  it('a proxy without a cache says nothing and always calls the upstream', async () => {
    const prompt = fresh('hello');
    const a = await uncached.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] }).withResponse();
    await uncached.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] });
    expect(a.response.headers.get('x-sluice-cache')).toBeNull();
    expect(chatCalls()).toBe(2);
  });
});
