/**
 * The auth matrix through the local runtime: missing, malformed, unknown, revoked,
 * expired keys; wrong and unknown proxies; BYOK; forged cache entries.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LruCache } from '../../functions/stores/lru-cache.js';
import { hashKey } from '../../functions/stores/keys.js';
import { signIdentity } from '../../functions/gateway/identity.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let upstream: OpenAIUpstream;
let gw: TestGateway;
let clock = Date.now();
const cache = new LruCache({ maxEntries: 1000, now: () => clock });
const AUTH_TTL = 60_000;

beforeAll(async () => {
  upstream = await startOpenAIUpstream({ apiKey: 'sk-provider-configured' });
  gw = await startTestGateway({
    upstreamUrl: upstream.url,
    proxy: { credentialRef: 'env:TEST_PROVIDER_KEY' },
    env: { TEST_PROVIDER_KEY: 'sk-provider-configured' },
    deps: { cache, authCacheTtlMs: AUTH_TTL, now: () => clock },
  });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
beforeEach(() => {
  upstream.reset();
  clock = Date.now();
});

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };

async function post(path: string, headers: Record<string, string>, body: unknown = chat) {
  const res = await fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const json = (await res.json()) as { error?: { type: string; code: string; message: string } };
  return { status: res.status, json, headers: res.headers };
}

describe('gateway keys', () => {
  it('a valid key reaches the upstream with the configured provider credential', async () => {
    const r = await post('/a/test/openai/v1/chat/completions', { authorization: `Bearer ${gw.key}` });
    expect(r.status).toBe(200);
    expect(upstream.requests[0]!.headers.authorization).toBe('Bearer sk-provider-configured');
  });

  it.each([
    ['no key at all', {}, 'missing_api_key'],
    ['a key without the sk-sluice- prefix', { authorization: 'Bearer sk-abc123' }, 'invalid_api_key'],
    ['an unknown sk-sluice- key', { authorization: 'Bearer sk-sluice-0000000000000000000000000000000000000000000' }, 'invalid_api_key'],
    ['a malformed Authorization header', { authorization: 'Basic Zm9vOmJhcg==' }, 'missing_api_key'],
  ])('%s → 401, upstream never called', async (_name, headers, code) => {
    const r = await post('/a/test/openai/v1/chat/completions', headers as Record<string, string>);
    expect(r.status).toBe(401);
    expect(r.json.error?.type).toBe('authentication_error');
    expect(r.json.error?.code).toBe(code);
    expect(r.headers.get('x-sluice-trace-id')).toBeTruthy();
    expect(upstream.requests).toHaveLength(0);
  });

  it('X-Sluice-Key works as well as Authorization', async () => {
    const r = await post('/v1/chat/completions', { 'x-sluice-key': gw.key });
    expect(r.status).toBe(200);
  });

  it('a key on another proxy path and on an unknown proxy both get the same 403', async () => {
    await gw.addProxy({ id: 'elsewhere' });
    const other = await post('/a/elsewhere/openai/v1/chat/completions', { authorization: `Bearer ${gw.key}` });
    const unknown = await post('/a/no-such-proxy/openai/v1/chat/completions', { authorization: `Bearer ${gw.key}` });
    expect(other.status).toBe(403);
    expect(unknown.status).toBe(403);
    expect(other.json.error?.message).toBe(unknown.json.error?.message);
    expect(upstream.requests).toHaveLength(0);
  });

  it('a revoked key stops working on the next request: the local store tells the auth cache it changed', async () => {
    const { key, record } = await gw.addKey();
    expect((await post('/v1/chat/completions', { authorization: `Bearer ${key}` })).status).toBe(200);
    await gw.store.revokeKey(record.id, new Date().toISOString());
    // The cached identity (one TTL) is not used: the store's change generation moved the cache keys.
    const after = await post('/v1/chat/completions', { authorization: `Bearer ${key}` });
    expect(after.status).toBe(401);
    expect(after.json.error?.code).toBe('key_revoked');
  });

  it('an expired key is refused at its expiry, cached or not', async () => {
    const { key } = await gw.addKey({ expiresAt: new Date(clock + 5_000).toISOString() });
    expect((await post('/v1/chat/completions', { authorization: `Bearer ${key}` })).status).toBe(200);
    clock += 6_000;
    const r = await post('/v1/chat/completions', { authorization: `Bearer ${key}` });
    expect(r.status).toBe(401);
    expect(r.json.error?.code).toBe('key_expired');
  });

  it('a forged cache entry (not signed with the identity key) is not trusted', async () => {
    const { key } = await gw.addKey();
    await gw.addProxy({ id: 'victim' });
    // An attacker with write access to the cache points the key at another proxy.
    const forged = signIdentity({ keyId: 'key_forged', proxyId: 'victim', orgId: 'org-test' }, Buffer.from('not-the-signing-key'));
    await cache.set(`auth:${hashKey(key)}`, forged, AUTH_TTL);
    const r = await post('/a/victim/openai/v1/chat/completions', { authorization: `Bearer ${key}` });
    expect(r.status).toBe(403);
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('bring your own key', () => {
  it('forwards the caller provider key for that request only, and requires it', async () => {
    await gw.addProxy({ id: 'byok', byok: true });
    const { key } = await gw.addKey({ proxyId: 'byok' });
    const client = new OpenAI({ baseURL: `${gw.url}/a/byok/openai/v1`, apiKey: 'sk-provider-configured', defaultHeaders: { 'X-Sluice-Key': key }, maxRetries: 0 });
    const r = await client.chat.completions.create(chat as OpenAI.ChatCompletionCreateParamsNonStreaming);
    expect(r.choices.length).toBe(1);
    expect(upstream.requests[0]!.headers.authorization).toBe('Bearer sk-provider-configured');

    // A wrong provider key is the provider's 401, passed through.
    const wrong = new OpenAI({ baseURL: `${gw.url}/a/byok/openai/v1`, apiKey: 'sk-provider-wrong', defaultHeaders: { 'X-Sluice-Key': key }, maxRetries: 0 });
    await expect(wrong.chat.completions.create(chat as OpenAI.ChatCompletionCreateParamsNonStreaming)).rejects.toBeInstanceOf(OpenAI.AuthenticationError);

    // The gateway key alone is not enough on a BYOK proxy.
    const missing = await post('/a/byok/openai/v1/chat/completions', { 'x-sluice-key': key });
    expect(missing.status).toBe(401);
    expect(missing.json.error?.code).toBe('missing_provider_key');
  });

  it('on a non-BYOK proxy a caller provider key is ignored: the configured credential is used', async () => {
    const r = await post('/a/test/openai/v1/chat/completions', { 'x-sluice-key': gw.key, authorization: 'Bearer sk-caller-own' });
    expect(r.status).toBe(200);
    expect(upstream.requests[0]!.headers.authorization).toBe('Bearer sk-provider-configured');
  });
});

describe('request shape errors', () => {
  it('bad JSON, wrong types and missing fields are 400s; unknown routes 404; wrong methods 405', async () => {
    const auth = { authorization: `Bearer ${gw.key}` };
    const badJson = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"model": "x",' });
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as { error: { code: string } }).error.code).toBe('invalid_json');
    expect((await post('/v1/chat/completions', auth, { model: 'x', messages: 'hello' })).status).toBe(400);
    expect((await post('/v1/chat/completions', auth, { model: 'x', messages: [], stream: 'yes' })).status).toBe(400);
    expect((await post('/v1/chat/completions', auth, { messages: [] })).status).toBe(400);
    expect((await post('/v1/embeddings', auth, { model: 'x' })).status).toBe(400);
    expect((await post('/v1/nope', auth)).status).toBe(404);
    const get = await fetch(`${gw.url}/v1/chat/completions`, { headers: auth });
    expect(get.status).toBe(405);
    expect(get.headers.get('x-sluice-trace-id')).toBeTruthy();
    expect(upstream.requests).toHaveLength(0);
  });

  it('property header limits are enforced with a 400', async () => {
    const auth = { authorization: `Bearer ${gw.key}` };
    const tooMany: Record<string, string> = { ...auth };
    for (let i = 0; i < 21; i++) tooMany[`x-sluice-property-p${i}`] = 'v';
    expect((await post('/v1/chat/completions', tooMany)).status).toBe(400);
    expect((await post('/v1/chat/completions', { ...auth, 'x-sluice-property-policy_x': 'v' })).status).toBe(400);
    expect((await post('/v1/chat/completions', { ...auth, 'x-sluice-property-team': 'x'.repeat(513) })).status).toBe(400);
    expect((await post('/v1/chat/completions', { ...auth, 'x-sluice-property-team': 'search' })).status).toBe(200);
  });

  it('a body over 6 MB is refused with 413 before parsing', async () => {
    const big = 'x'.repeat(6 * 1024 * 1024 + 10);
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json' }, body: big });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
  });

  it('healthz answers without auth and without calling the upstream', async () => {
    const res = await fetch(`${gw.url}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-sluice-trace-id')).toBeTruthy();
    expect(upstream.requests).toHaveLength(0);
  });
});
