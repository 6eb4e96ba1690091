/**
 * Key rotation (docs/providers.md "Key rotation"): a proxy with several provider keys
 * (`--credential` repeated) rotates over the live ones; a key the upstream answers 401 or
 * 429 is benched (401 for 10 minutes or until its value changes, 429 for its Retry-After
 * or a backoff) and the request is retried at once with the next key; with every key
 * benched the client gets 503 `upstream_keys_benched` in its API's shape. Keys never
 * appear in answers or traces: only their 8-char SHA-256 prefix.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { KeyBench } from '../../functions/routing/key-bench.js';
import type { TraceRecord } from '../../functions/traces/recorder.js';
import { refusedUrl } from '../support/faulty-upstream.js';
import { startKeyedUpstream, type KeyedUpstream } from '../support/keyed-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { traceIn } from '../support/traces.js';

const KEYS = { A: 'sk-rot-aaaaaaaaaaaa-revoked', B: 'sk-rot-bbbbbbbbbbbb-limited', C: 'sk-rot-cccccccccccc-good', D: 'sk-rot-dddddddddddd-good', E: 'sk-rot-eeeeeeeeeeee-revoked', F: 'sk-rot-ffffffffffff-limited', G: 'sk-rot-gggggggggggg-revoked', H: 'sk-rot-hhhhhhhhhhhh-limited', J: 'sk-rot-jjjjjjjjjjjj-revoked', K: 'sk-rot-kkkkkkkkkkkk-good' };
const id8 = (k: string) => createHash('sha256').update(k).digest('hex').slice(0, 8);
const traces: TraceRecord[] = [];
let clock = 1_000_000;
let upstream: KeyedUpstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startKeyedUpstream({ [KEYS.A]: 'revoked', [KEYS.B]: { rateLimited: true, retryAfterSeconds: 30 }, [KEYS.C]: 'ok', [KEYS.D]: 'ok', [KEYS.E]: 'revoked', [KEYS.F]: { rateLimited: true }, [KEYS.G]: 'revoked', [KEYS.H]: { rateLimited: true, retryAfterSeconds: 30 }, [KEYS.J]: 'revoked', [KEYS.K]: 'ok' });
  gw = await startTestGateway({
    upstreamUrl: upstream.url,
    env: Object.fromEntries(Object.entries(KEYS).map(([n, k]) => [`ROT_KEY_${n}`, k])),
    deps: { traceSink: { write: async ({ record }: { record: TraceRecord }) => void traces.push(record) }, keyBench: new KeyBench(() => clock) },
  });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

async function rotating(id: string, names: (keyof typeof KEYS)[], fallbacks?: string[]) {
  const refs = names.map((n) => `env:ROT_KEY_${n}`);
  await gw.addProxy({ id, provider: 'openai', baseUrl: upstream.url, allowPrivateNetwork: true, credentialRef: refs[0]!, routing: { credentials: refs, ...(fallbacks ? { fallbacks } : {}) } });
  return (await gw.addKey({ proxyId: id })).key;
}

async function chat(key: string, path = '/v1/chat/completions') {
  const anthropic = path === '/v1/messages';
  const res = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { ...(anthropic ? { 'x-api-key': key, 'anthropic-version': '2023-06-01' } : { authorization: `Bearer ${key}` }), 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: JSON.parse(text) as Record<string, any>, traceId: res.headers.get('x-sluice-trace-id')! };
}

const secretsIn = (text: string) => Object.values(KEYS).filter((k) => text.includes(k) || text.includes(k.slice(-12)));

describe('key rotation', () => {
  it('a 401 key and a 429 key are benched and the request is served by the next live key at once', async () => {
    const key = await rotating('rot1', ['A', 'B', 'C']);
    // Request 1 starts at A (401: benched), then the next live key's turn: C.
    const r = await chat(key);
    expect(r.status).toBe(200);
    expect(r.body.choices[0].message.content).toBe('served');
    expect(r.headers.get('x-sluice-attempts')).toBe('2');
    const keysOf = async (traceId: string) => ((await traceIn(traces, traceId))!.attributes.attempts as { key?: string; status?: number }[]).map((a) => [a.key, a.status]);
    expect(await keysOf(r.traceId)).toEqual([[id8(KEYS.A), 401], [id8(KEYS.C), 200]]);
    // Request 2: B's turn (429 with Retry-After 30 s: benched), served by C.
    const r2 = await chat(key);
    expect(r2.status).toBe(200);
    expect(await keysOf(r2.traceId)).toEqual([[id8(KEYS.B), 429], [id8(KEYS.C), 200]]);
    expect([upstream.hits[KEYS.A], upstream.hits[KEYS.B], upstream.hits[KEYS.C]]).toEqual([1, 1, 2]);
    for (const t of [r.traceId, r2.traceId]) expect(secretsIn(JSON.stringify((await traceIn(traces, t))!))).toEqual([]);

    // Benched keys are not sent again: the next requests all use C.
    for (let i = 0; i < 3; i++) expect((await chat(key)).status).toBe(200);
    expect([upstream.hits[KEYS.A], upstream.hits[KEYS.B], upstream.hits[KEYS.C]]).toEqual([1, 1, 5]);

    // B's Retry-After (30 s) passes: it is live again and takes its turn in the rotation.
    clock += 31_000;
    upstream.set(KEYS.B, 'ok');
    for (let i = 0; i < 4; i++) expect((await chat(key)).status).toBe(200);
    expect(upstream.hits[KEYS.B]).toBe(3);
    expect(upstream.hits[KEYS.A]).toBe(1);
  });

  it('requests rotate over the live keys', async () => {
    const key = await rotating('rot2', ['C', 'D']);
    const before = [upstream.hits[KEYS.C] ?? 0, upstream.hits[KEYS.D] ?? 0];
    for (let i = 0; i < 10; i++) expect((await chat(key)).status).toBe(200);
    expect([upstream.hits[KEYS.C]! - before[0]!, upstream.hits[KEYS.D]! - before[1]!]).toEqual([5, 5]);
  });

  it('every key benched: 503 upstream_keys_benched with Retry-After, in the OpenAI and the Anthropic shape, no key shown', async () => {
    const key = await rotating('rot3', ['E', 'F']);
    const first = await chat(key);
    expect(first.status).toBe(503);
    expect(first.body.error).toMatchObject({ type: 'api_error', code: 'upstream_keys_benched' });
    // F had no Retry-After: a 1 s backoff.
    expect(first.headers.get('retry-after')).toBe('1');
    expect(secretsIn(first.text)).toEqual([]);
    const hits = [upstream.hits[KEYS.E], upstream.hits[KEYS.F]];
    // Benched: answered without a call upstream.
    const again = await chat(key, '/v1/messages');
    expect(again.status).toBe(503);
    expect(again.body).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    expect([upstream.hits[KEYS.E], upstream.hits[KEYS.F]]).toEqual(hits);
    expect(secretsIn(again.text)).toEqual([]);
    // The 429 backoff passes and F now serves; E (401) stays benched.
    clock += 1_500;
    upstream.set(KEYS.F, 'ok');
    expect((await chat(key)).status).toBe(200);
    expect(upstream.hits[KEYS.E]).toBe(1);
  });

  it('every key of the own upstream benched, with a fallback: the fallback serves, and the benched keys are not called', async () => {
    await rotating('rot-ok', ['C']);
    const key = await rotating('rot4', ['G', 'H'], ['rot-ok']);
    // G answers 401, H 429 (Retry-After 30 s): both benched within the request, then the fallback.
    const first = await chat(key);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-sluice-served-by')).toBe('rot-ok');
    const hits = [upstream.hits[KEYS.G], upstream.hits[KEYS.H]];
    expect(hits).toEqual([1, 1]);
    // Later requests skip the own upstream at once (no call with a benched key) instead of answering 503.
    const again = await chat(key);
    expect(again.status).toBe(200);
    expect(again.headers.get('x-sluice-served-by')).toBe('rot-ok');
    expect(again.headers.get('x-sluice-attempts')).toBe('1');
    expect([upstream.hits[KEYS.G], upstream.hits[KEYS.H]]).toEqual(hits);
    const attempts = (await traceIn(traces, again.traceId))!.attributes.attempts as Record<string, unknown>[];
    expect(attempts[0]).toEqual({ target: 'rot4', skipped: 'upstream_keys_benched' });
    expect(attempts[1]).toMatchObject({ target: 'rot-ok', status: 200 });
  });

  it('a named --upstream with several keys rotates too, also as a fallback target', async () => {
    const refs = ['env:ROT_KEY_J', 'env:ROT_KEY_K'];
    await gw.addProxy({
      id: 'rot5',
      provider: 'openai',
      baseUrl: await refusedUrl(),
      credentialRef: 'env:ROT_KEY_C',
      upstreams: { pool: { provider: 'openai', baseUrl: upstream.url, allowPrivateNetwork: true, credentialRef: refs[0]!, credentialRefs: refs } },
      routing: { fallbacks: ['pool'], retries: 0 },
    });
    const key = (await gw.addKey({ proxyId: 'rot5' })).key;
    // The own upstream refuses the connection; the fallback 'pool' starts with J (401: benched), then K serves at once.
    const r = await chat(key);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-sluice-served-by')).toBe('pool');
    const attempts = (await traceIn(traces, r.traceId))!.attributes.attempts as { target: string; key?: string; status?: number }[];
    expect(attempts.map((a) => [a.target, a.key, a.status])).toEqual([['rot5', undefined, 502], ['pool', id8(KEYS.J), 401], ['pool', id8(KEYS.K), 200]]);
    // J stays benched: the next request goes to K directly.
    const r2 = await chat(key);
    expect(r2.status).toBe(200);
    expect([upstream.hits[KEYS.J], upstream.hits[KEYS.K]]).toEqual([1, 2]);
    expect(secretsIn(JSON.stringify((await traceIn(traces, r2.traceId))!))).toEqual([]);
  });
});
