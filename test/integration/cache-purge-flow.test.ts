/**
 * `sluice cache purge --key` on an entry the gateway stored: the local gateway keeps its
 * response cache on a real redis-server (REDIS_URL), a trace's `cache` step names the
 * entry's digest, the CLI (a child process, as a user runs it) purges that digest, and the
 * next identical call is a miss that reaches the upstream again. Other entries stay.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TraceRecord } from '../../functions/traces/recorder.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { startRedis, type RunningRedis } from '../support/redis.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { traceIn } from '../support/traces.js';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let redis: RunningRedis;
let upstream: OpenAIUpstream;
let gw: TestGateway;
const traces: TraceRecord[] = [];

beforeAll(async () => {
  [redis, upstream] = await Promise.all([startRedis(), startOpenAIUpstream()]);
  gw = await startTestGateway({
    upstreamUrl: upstream.url,
    proxy: { cache: { ttlSeconds: 600 } },
    env: { REDIS_URL: redis.url },
    deps: { traceSink: { write: async ({ record }: { record: TraceRecord }) => void traces.push(record) } },
  });
}, 60_000);
afterAll(async () => {
  await gw?.close();
  await Promise.all([upstream?.close(), redis?.stop()]);
});

const chatCalls = () => upstream.requests.filter((r) => r.path === '/v1/chat/completions').length;

async function ask(content: string): Promise<{ cache: string | null; traceId: string }> {
  const res = await fetch(`${gw.url}/a/test/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }),
  });
  expect(res.status).toBe(200);
  await res.json();
  return { cache: res.headers.get('x-sluice-cache'), traceId: res.headers.get('x-sluice-trace-id')! };
}

async function cacheStep(traceId: string): Promise<Record<string, unknown>> {
  const record = await traceIn(traces, traceId);
  const step = record?.steps.find((s) => s.name === 'cache');
  if (!step) throw new Error(`trace ${traceId} has no cache step`);
  return step.attributes;
}

describe('purging an entry the gateway stored in Redis', () => {
  it('the digest of the trace\'s cache step purges that entry only', async () => {
    const first = await ask('What is a river?');
    expect(first.cache).toBe('miss');
    const other = await ask('What is a lake?');
    const digest = (await cacheStep(first.traceId)).key as string;
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    // The write is behind the response: wait until the repeat is a hit.
    let repeat = await ask('What is a river?');
    for (let i = 0; i < 20 && repeat.cache !== 'hit'; i++) repeat = await ask('What is a river?');
    expect(repeat.cache).toBe('hit');
    expect((await cacheStep(repeat.traceId)).key).toBe(digest);
    expect((await cacheStep(other.traceId)).key).not.toBe(digest);
    let lake = await ask('What is a lake?');
    for (let i = 0; i < 20 && lake.cache !== 'hit'; i++) lake = await ask('What is a lake?');
    expect(lake.cache).toBe('hit');

    const { stdout } = await exec(process.execPath, ['--import', 'tsx', 'bin/sluice.ts', '--data-dir', gw.dataDir, 'cache', 'purge', '--proxy', 'test', '--key', digest], {
      cwd: ROOT,
      env: { ...process.env, REDIS_URL: redis.url, SLUICE_RESPONSE_CACHE_STORE: '' },
    });
    expect(stdout).toContain(`Purged 1 response-cache entry of proxy test (key ${digest.slice(0, 8)}…).`);

    const calls = chatCalls();
    expect((await ask('What is a river?')).cache).toBe('miss');
    expect(chatCalls()).toBe(calls + 1);
    expect((await ask('What is a lake?')).cache).toBe('hit');
    expect(chatCalls()).toBe(calls + 1);
  }, 60_000);
});
