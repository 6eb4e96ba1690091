/**
 * What a trace holds for requests that call no model or never reach the upstream
 * (issue #15): a model listing is not traced (it costs nothing, so it must not count as
 * unpriced spend), a refusal for a missing provider credential keeps the model it was
 * for, and a proxy without a credential sends no key (the upstream decides).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/commands/cli.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let open: OpenAIUpstream;
let keyed: OpenAIUpstream;
let gw: TestGateway;
const MISSING = 'SLUICE_TEST_NEVER_SET_CREDENTIAL';

beforeAll(async () => {
  open = await startOpenAIUpstream();
  keyed = await startOpenAIUpstream({ apiKey: 'sk-upstream-real' });
  delete process.env[MISSING];
  gw = await startTestGateway({ upstreamUrl: open.url });
});
afterAll(async () => {
  await gw?.close();
  await open?.close();
  await keyed?.close();
});

async function call(proxyId: string, key: string, path: string, body?: unknown) {
  const res = await fetch(`${gw.url}/a/${proxyId}/openai/v1/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, traceId: res.headers.get('x-sluice-trace-id')!, json: (await res.json()) as Record<string, unknown> };
}

/** Every trace record the gateway wrote, by trace id (the JSONL store; writes are queued, so wait for `expected`). */
async function traces(expected: string[]): Promise<Map<string, { attributes: Record<string, unknown> }>> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const dir = join(gw.dataDir, 'traces');
    const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.jsonl'));
    const records = new Map<string, { attributes: Record<string, unknown> }>();
    for (const f of files) {
      for (const line of (await readFile(join(dir, f), 'utf8')).split('\n').filter(Boolean)) {
        const r = JSON.parse(line) as { traceId: string; attributes: Record<string, unknown> };
        records.set(r.traceId, { attributes: { ...records.get(r.traceId)?.attributes, ...r.attributes } });
      }
    }
    if (expected.every((id) => records.has(id)) || Date.now() > deadline) return records;
    await new Promise((r) => setTimeout(r, 25));
  }
}

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };

describe('traces', () => {
  it('GET /models is not traced and not counted as spend; a chat call is', async () => {
    const models = await call('test', gw.key, 'models');
    expect(models.status).toBe(200);
    const done = await call('test', gw.key, 'chat/completions', chat);
    expect(done.status).toBe(200);
    const written = await traces([done.traceId]);
    expect(written.has(done.traceId)).toBe(true);
    expect(written.has(models.traceId)).toBe(false);
    expect([...written.values()].some((t) => t.attributes.endpoint === 'models')).toBe(false);

    let out = '';
    const code = await runCli(['spend', '--by', 'model', '--data-dir', gw.dataDir, '--json'], { stdout: { write: (t: string) => (out += t) }, stderr: { write: () => true } }, {});
    expect(code).toBe(0);
    const lines = (JSON.parse(out) as { lines: { group: string; requests: number; unpriced: number }[] }).lines;
    expect(lines.find((l) => l.group === '')).toBeUndefined();
    expect(lines.reduce((n, l) => n + l.requests, 0)).toBe(1);
  });

  it('a 502 for a missing provider credential keeps the model, provider and endpoint', async () => {
    await gw.addProxy({ id: 'nocred', credentialRef: `env:${MISSING}` });
    const { key } = await gw.addKey({ proxyId: 'nocred' });
    const r = await call('nocred', key, 'chat/completions', { ...chat, model: 'gpt-4o' });
    expect(r.status).toBe(502);
    expect(r.json).toMatchObject({ error: { code: 'upstream_credential_missing' } });
    const t = (await traces([r.traceId])).get(r.traceId)!;
    expect(t.attributes).toMatchObject({ status: 502, provider: 'openai-compatible', endpoint: 'chat.completions', modelRequested: 'gpt-4o', modelResolved: 'gpt-4o', error: { code: 'upstream_credential_missing' } });
  });

  it('an unsupported endpoint keeps the provider and endpoint', async () => {
    await gw.addProxy({ id: 'claude', provider: 'anthropic', credentialRef: 'env:PATH' });
    const { key } = await gw.addKey({ proxyId: 'claude' });
    const r = await call('claude', key, 'completions', { model: 'claude-x', prompt: 'hi' });
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ error: { code: 'unsupported_endpoint' } });
    const t = (await traces([r.traceId])).get(r.traceId)!;
    expect(t.attributes).toMatchObject({ provider: 'anthropic', endpoint: 'completions' });
  });
});

describe('a proxy without a credential (what `proxies create` says about it)', () => {
  it('sends no provider key: an upstream that needs one answers 401 to the caller, one that needs none answers', async () => {
    await gw.addProxy({ id: 'keyless-keyed', baseUrl: keyed.url });
    await gw.addProxy({ id: 'keyless-open', baseUrl: open.url });
    const a = await gw.addKey({ proxyId: 'keyless-keyed' });
    const b = await gw.addKey({ proxyId: 'keyless-open' });
    const refused = await call('keyless-keyed', a.key, 'chat/completions', chat);
    expect(refused.status).toBe(401);
    expect(keyed.requests.at(-1)!.headers.authorization).toBeUndefined();
    open.reset();
    const answered = await call('keyless-open', b.key, 'chat/completions', chat);
    expect(answered.status).toBe(200);
    expect(open.requests.at(-1)!.headers.authorization).toBeUndefined();
  });
});
