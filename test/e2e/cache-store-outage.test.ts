/**
 * Response cache (#20) on its real remote stores through the gateway: a hit served from
 * redis-server and from dynalite (the DynamoDB wire), and an outage — a SIGSTOPped
 * redis-server, a stopped dynalite — giving soft misses: the request is answered by the
 * upstream, never an error. The stores come from responseCacheFromEnv as the gateway
 * builds them; the rest of the gateway stays on its embedded stores.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { responseCacheFromEnv } from '../../functions/cache/store-from-env.js';
import { createLogger } from '../../functions/observability/logger.js';
import { createSluiceTables, localDynamoClient, startDynalite, type RunningDynalite } from '../support/dynalite.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { startRedis, type RunningRedis } from '../support/redis.js';

const silent = createLogger('test', 'SILENT');
let upstream: OpenAIUpstream;
let redis: RunningRedis;
let dynalite: RunningDynalite;
const gateways: TestGateway[] = [];

beforeAll(async () => {
  [upstream, redis, dynalite] = await Promise.all([startOpenAIUpstream(), startRedis(), startDynalite()]);
});
afterAll(async () => {
  redis?.resume();
  await Promise.all(gateways.map((g) => g.close()));
  await Promise.all([upstream?.close(), redis?.stop(), dynalite?.close().catch(() => undefined)]);
});

let n = 0;
const fresh = () => `outage question ${++n} ${Math.random().toString(36).slice(2, 8)}`;
const calls = (prompt: string) => upstream.requests.filter((r) => JSON.stringify(r.body).includes(prompt)).length;

async function gatewayOn(env: Record<string, string>, dynamo?: ReturnType<typeof localDynamoClient>) {
  const gw = await startTestGateway({
    upstreamUrl: upstream.url,
    proxy: { cache: { ttlSeconds: 60 } },
    deps: { responseCache: responseCacheFromEnv({ SLUICE_RESPONSE_CACHE_TIMEOUT_MS: '200', ...env }, silent, dynamo), traceSink: { write: async () => undefined } },
  });
  gateways.push(gw);
  const client = new OpenAI({ baseURL: `${gw.url}/a/test/openai/v1`, apiKey: gw.key, maxRetries: 0 });
  return async (prompt: string) => {
    const { data, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] }).withResponse();
    return { content: data.choices[0]!.message.content, cache: response.headers.get('x-sluice-cache') };
  };
}

describe('remote stores', () => {
  it('redis-server: miss then hit; SIGSTOPped, a soft miss answered by the upstream; resumed, hits again', async () => {
    const ask = await gatewayOn({ SLUICE_RESPONSE_CACHE_STORE: 'redis', REDIS_URL: redis.url });
    const q = fresh();
    const first = await ask(q);
    expect(first.cache).toBe('miss');
    // The write happens after the answer: wait until redis has it.
    await expect.poll(async () => (await ask(q)).cache, { timeout: 5_000, interval: 50 }).toBe('hit');
    const before = calls(q);
    redis.pause();
    try {
      const during = await ask(q);
      expect(during.cache).toBe('miss');
      expect(during.content).toBe(first.content);
      expect(calls(q)).toBe(before + 1);
      const other = fresh();
      expect((await ask(other)).cache).toBe('miss');
    } finally {
      redis.resume();
    }
    // The breaker may skip the store for a few seconds after failures: it comes back by itself.
    await expect.poll(async () => (await ask(q)).cache, { timeout: 10_000, interval: 200 }).toBe('hit');
  });

  it('dynalite: miss then hit; stopped, a soft miss answered by the upstream', async () => {
    const dynamo = localDynamoClient(dynalite.endpoint);
    const { stateTable } = await createSluiceTables(dynamo);
    const ask = await gatewayOn({ SLUICE_RESPONSE_CACHE_STORE: 'dynamodb', SLUICE_STATE_TABLE: stateTable }, dynamo);
    const q = fresh();
    const first = await ask(q);
    expect(first.cache).toBe('miss');
    await expect.poll(async () => (await ask(q)).cache, { timeout: 5_000, interval: 50 }).toBe('hit');
    const before = calls(q);
    await dynalite.close();
    const during = await ask(q);
    expect(during.cache).toBe('miss');
    expect(during.content).toBe(first.content);
    expect(calls(q)).toBe(before + 1);
  });
});
