/**
 * The console's admin API and sign-in through the local runtime: every route refuses a
 * request without a credential (401), admin and gateway keys never cross over, sessions
 * are HttpOnly SameSite=Strict cookies, state changes need the CSRF header and the Origin,
 * the Host must be the local one, sign-in is rate-limited, and admin requests leave no trace.
 */
import { request as httpRequest } from 'node:http';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateAdminKey, type AdminRole } from '../../functions/console/admin-keys.js';
import { FileAdminStore } from '../../functions/console/admin-store.js';
import { API_ROUTES } from '../../functions/console/api.js';
import { issueNonce } from '../../functions/console/session-auth.js';
import { setPolicy } from '../../functions/governance/policy-admin.js';
import { MemoryRateLimiter, type RateLimiter } from '../../functions/spend/rate-limiter.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { pollFor } from '../support/traces.js';

let upstream: OpenAIUpstream;
let gw: TestGateway;
let admin: FileAdminStore;
let origin: string;
/** The sign-in counters (a fresh window per test that counts them). */
let counters = new MemoryRateLimiter();
const limiter: RateLimiter = { consume: (...a) => counters.consume(...a), refund: (...a) => counters.refund(...a) };
const keys: Partial<Record<AdminRole | 'scoped', { key: string; id: string }>> = {};

async function addAdminKey(role: AdminRole, orgId?: string) {
  const { key, id, hash } = generateAdminKey();
  await admin.putKey({ id, hash, role, createdAt: new Date().toISOString(), ...(orgId ? { orgId } : {}) });
  return { key, id };
}

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  gw = await startTestGateway({ upstreamUrl: upstream.url, deps: { console: { limiter } } });
  admin = new FileAdminStore(gw.dataDir);
  origin = gw.url;
  keys.viewer = await addAdminKey('viewer');
  keys.approver = await addAdminKey('approver');
  keys.admin = await addAdminKey('admin');
  keys.scoped = await addAdminKey('admin', 'some-other-org');
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

const bearer = (k: { key: string }) => ({ authorization: `Bearer ${k.key}` });

async function call(method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    redirect: 'manual',
  });
  const text = await res.text();
  let json: Record<string, any> = {};
  try {
    json = JSON.parse(text) as Record<string, any>;
  } catch {
    // a page, not JSON
  }
  return { status: res.status, json, text, headers: res.headers };
}

async function signInWith(body: unknown) {
  const r = await call('POST', '/admin/v1/session', { origin }, body);
  const cookie = r.headers.getSetCookie()[0] ?? '';
  return { ...r, cookie, cookieValue: cookie.split(';')[0]! };
}

/** A concrete path for each API route pattern. */
function examplePath(pattern: RegExp): string {
  return `/admin/v1/${pattern.source.replace(/^\^|\$$/g, '').replaceAll('\\/', '/').replace(/\([^)]*\|[^)]*\)/g, 'approve').replace(/\([^)]*\)/g, 'x-1')}`;
}

describe('every console and admin route needs a credential', () => {
  const routes = [
    ...API_ROUTES.map((r) => [r.method, examplePath(r.pattern)] as const),
    ['GET', '/admin/v1/session'],
    ['DELETE', '/admin/v1/session'],
    ['POST', '/admin/v1/session'],
    ['GET', '/admin/v1/unknown-route'],
    ['GET', '/admin'],
    ['GET', '/admin/v2/traces'],
  ] as const;

  it.each(routes)('%s %s without a credential → 401 in the API error shape', async (method, path) => {
    const r = await call(method, path, method === 'POST' ? { origin } : {}, method === 'POST' ? {} : undefined);
    expect(r.status).toBe(401);
    expect(r.json.error.type).toBe('authentication_error');
    expect(r.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });

  it.each(routes.filter(([m]) => m === 'GET'))('%s %s with a gateway key → 401', async (method, path) => {
    const r = await call(method, path, { authorization: `Bearer ${gw.key}` });
    expect(r.status).toBe(401);
    expect(r.text).not.toContain(gw.key);
  });

  it('a gateway key does not sign in to the console', async () => {
    const r = await signInWith({ admin_key: gw.key });
    expect(r.status).toBe(401);
    expect(r.json.error.code).toBe('gateway_key_not_admin');
    expect(r.cookie).toBe('');
  });

  it('an admin key never works for a model call', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/a/test/openai/v1`, apiKey: keys.admin!.key, maxRetries: 0 });
    const err = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect((err as { status?: number }).status).toBe(401);
    expect(upstream.requests).toHaveLength(0);
  });

  it('the static console shell is public code: it carries no data and the strict headers', async () => {
    const page = await call('GET', '/console/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.text).not.toMatch(/<script>|<script [^>]*>[^<]/); // no inline script
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const js = await call('GET', '/console/console.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.text).not.toContain('innerHTML');
    expect((await call('GET', '/console')).status).toBe(308);
    expect((await call('GET', '/console/nope.js')).status).toBe(404);
  });
});

describe('host and origin checks', () => {
  const rawGet = (host: string) =>
    new Promise<number>((resolve, reject) => {
      const u = new URL(gw.url);
      const req = httpRequest({ host: u.hostname, port: u.port, path: '/admin/v1/traces', headers: { host, ...bearer(keys.viewer!) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });

  it('answers Host 127.0.0.1:PORT and localhost:PORT, refuses any other host (DNS rebinding)', async () => {
    const port = new URL(gw.url).port;
    expect(await rawGet(`127.0.0.1:${port}`)).toBe(200);
    expect(await rawGet(`localhost:${port}`)).toBe(200);
    expect(await rawGet(`attacker.example:${port}`)).toBe(421);
    expect(await rawGet('attacker.example')).toBe(421);
  });

  it('sign-in needs the console origin', async () => {
    const r = await call('POST', '/admin/v1/session', { origin: 'http://127.0.0.1:1' }, { admin_key: keys.viewer!.key });
    expect(r.status).toBe(403);
    expect(r.json.error.code).toBe('origin_mismatch');
  });
});

describe('sessions', () => {
  it('an admin key signs in to an HttpOnly SameSite=Strict cookie with an expiry; sign-out needs CSRF and Origin', async () => {
    const r = await signInWith({ admin_key: keys.approver!.key });
    expect(r.status).toBe(200);
    expect(r.cookie).toMatch(/^sluice_console=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=28800$/);
    expect(r.text).not.toContain(keys.approver!.key);
    expect(r.json.role).toBe('approver');
    const csrf = r.json.csrf as string;
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{32}$/);

    const me = await call('GET', '/admin/v1/session', { cookie: r.cookieValue });
    expect(me.status).toBe(200);
    expect(me.json.admin_key_id).toBe(keys.approver!.id);

    expect((await call('DELETE', '/admin/v1/session', { cookie: r.cookieValue, origin })).json.error.code).toBe('csrf_failed');
    expect((await call('DELETE', '/admin/v1/session', { cookie: r.cookieValue, 'x-sluice-csrf': csrf })).json.error.code).toBe('origin_mismatch');
    expect((await call('DELETE', '/admin/v1/session', { cookie: r.cookieValue, 'x-sluice-csrf': csrf, origin: 'http://localhost:1' })).status).toBe(403);
    const out = await call('DELETE', '/admin/v1/session', { cookie: r.cookieValue, 'x-sluice-csrf': csrf, origin });
    expect(out.status).toBe(200);
    expect(out.headers.getSetCookie()[0]).toMatch(/^sluice_console=; .*Max-Age=0/);
    expect((await call('GET', '/admin/v1/session', { cookie: r.cookieValue })).status).toBe(401);
  });

  it('a sign-in link token works once, never twice', async () => {
    const token = await issueNonce(admin, keys.viewer!.id, Date.now());
    const first = await signInWith({ token });
    expect(first.status).toBe(200);
    expect(first.json.role).toBe('viewer');
    const again = await signInWith({ token });
    expect(again.status).toBe(401);
    expect(again.json.error.code).toBe('invalid_sign_in_token');
  });

  it('revoking an admin key ends its sessions', async () => {
    const k = await addAdminKey('viewer');
    const s = await signInWith({ admin_key: k.key });
    expect((await call('GET', '/admin/v1/traces', { cookie: s.cookieValue })).status).toBe(200);
    await admin.revokeKey(k.id, new Date().toISOString());
    expect((await call('GET', '/admin/v1/traces', { cookie: s.cookieValue })).status).toBe(401);
    expect((await call('GET', '/admin/v1/traces', bearer(k))).status).toBe(401);
  });
});

describe('the read API', () => {
  it('finds a model call in traces, shows its steps, its session and spend; admin requests add no trace', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/a/test/openai/v1`, apiKey: gw.key, maxRetries: 0 });
    const { response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'console check' }] }, { headers: { 'x-sluice-property-team': 'blue' } }).withResponse();
    const traceId = response.headers.get('x-sluice-trace-id')!;
    const listed = await pollFor(async () => {
      const r = await call('GET', '/admin/v1/traces?property=team%3Dblue', bearer(keys.viewer!));
      return (r.json.data as { traceId: string }[] | undefined)?.find((t) => t.traceId === traceId) ? r : undefined;
    }, { tries: 100, everyMs: 20 });
    expect(listed, 'the trace is listed').toBeDefined();
    const trace = await call('GET', `/admin/v1/traces/${traceId}`, bearer(keys.viewer!));
    expect(trace.status).toBe(200);
    expect(trace.json.steps.map((s: { name: string }) => s.name)).toEqual(expect.arrayContaining(['request_received', 'llm', 'request_finished']));
    expect(trace.json.request_body).toContain('console check');
    const session = await call('GET', `/admin/v1/sessions/${trace.json.session_id}`, bearer(keys.viewer!));
    expect(session.json.turns.map((t: { traceId: string }) => t.traceId)).toContain(traceId);
    const spend = await call('GET', '/admin/v1/spend?by=model', bearer(keys.viewer!));
    expect(spend.status).toBe(200);
    expect(spend.json.data.map((l: { group: string }) => l.group)).toContain('gpt-4o-mini');

    // An org-scoped key sees none of another org's traces.
    expect((await call('GET', `/admin/v1/traces/${traceId}`, bearer(keys.scoped!))).status).toBe(404);
    expect((await call('GET', '/admin/v1/traces', bearer(keys.scoped!))).json.data).toEqual([]);

    const files = async () => (await readdir(join(gw.dataDir, 'traces')).catch(() => [] as string[])).filter((f) => f.endsWith('.jsonl'));
    const before = (await call('GET', '/admin/v1/traces?limit=200', bearer(keys.viewer!))).json.data.length;
    for (let i = 0; i < 5; i++) await call('GET', '/admin/v1/traces', bearer(keys.viewer!));
    await call('GET', '/admin/v1/unknown', bearer(keys.viewer!));
    await call('GET', '/admin/v1/traces');
    await new Promise((r) => setTimeout(r, 100));
    expect((await call('GET', '/admin/v1/traces?limit=200', bearer(keys.viewer!))).json.data.length).toBe(before);
    expect((await files()).length).toBeGreaterThan(0);
  });

  it.each([
    ['limit=201', 'invalid_limit'],
    ['limit=0', 'invalid_limit'],
    ['status=teapot', 'invalid_status'],
    ['from=yesterday', 'invalid_time'],
    ['property=novalue', 'invalid_property'],
    ['after=bogus!', 'invalid_cursor'],
    [`from=${Date.now() - 100 * 86_400_000}`, 'invalid_time'],
  ])('traces?%s → 400 %s', async (query, code) => {
    const r = await call('GET', `/admin/v1/traces?${query}`, bearer(keys.viewer!));
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe(code);
  });

  it('approves a held request with the approver recorded and audited; a viewer may not; the re-sent request succeeds', async () => {
    await gw.addProxy({ id: 'held', governance: { enabled: true } });
    await setPolicy(gw.store, 'held', 'request', 'package sluice.policy\nhold contains "needs a human" if { some m in input.messages; contains(m.text, "transfer") }\n');
    const { key } = await gw.addKey({ proxyId: 'held' });
    const client = new OpenAI({ baseURL: `${gw.url}/a/held/openai/v1`, apiKey: key, maxRetries: 0 });
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'transfer 5 EUR' }] };
    const held = (await client.chat.completions.create(body).catch((e: unknown) => e)) as { status: number; headers: Headers };
    expect(held.status).toBe(409);
    const approvalId = held.headers.get('x-sluice-approval-id')!;
    const pending = await pollFor(async () => {
      const r = await call('GET', '/admin/v1/approvals', bearer(keys.viewer!));
      const a = (r.json.data as { id: string; request: { body: string } | null }[]).find((x) => x.id === approvalId);
      return a?.request ? a : undefined;
    }, { tries: 100, everyMs: 20 });
    expect(pending?.request?.body).toContain('transfer 5 EUR');

    const viewer = await call('POST', `/admin/v1/approvals/${approvalId}/approve`, bearer(keys.viewer!));
    expect(viewer.status).toBe(403);
    const s = await signInWith({ admin_key: keys.approver!.key });
    expect((await call('POST', `/admin/v1/approvals/${approvalId}/approve`, { cookie: s.cookieValue, origin })).json.error.code).toBe('csrf_failed');
    const ok = await call('POST', `/admin/v1/approvals/${approvalId}/approve`, { cookie: s.cookieValue, origin, 'x-sluice-csrf': s.json.csrf });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ status: 'approved', decided_by: `console:${keys.approver!.id}` });
    const audit = await call('GET', '/admin/v1/audit', bearer(keys.admin!));
    expect(audit.json.data[0]).toMatchObject({ actor: keys.approver!.id, action: 'approval.approve', target: approvalId, outcome: 'ok' });

    const resent = await client.chat.completions.create(body, { headers: { 'x-sluice-approval-id': approvalId } });
    expect(resent.choices[0]!.message.content).toContain('transfer 5 EUR');

    // The policy tested against the held request's kept input document.
    const tested = await call('POST', '/admin/v1/policies/test', bearer(keys.admin!), { proxy_id: 'held', trace_id: (await admin.listAudit(1))[0]!.details!.trace });
    expect(tested.status).toBe(200);
    expect(tested.json).toMatchObject({ decision: 'hold', hold_reasons: ['needs a human'] });
    expect((await call('POST', '/admin/v1/policies/test', bearer(keys.approver!), { proxy_id: 'held', trace_id: 'x' })).status).toBe(403);
    const policies = await call('GET', '/admin/v1/policies', bearer(keys.viewer!));
    expect(policies.json.data.find((p: { proxy_id: string }) => p.proxy_id === 'held').stages.request.source).toContain('needs a human');
  });
});

describe('sign-in rate limit', () => {
  it('refuses the 11th attempt in a minute from one address with a 429, and audits refusals', async () => {
    counters = new MemoryRateLimiter();
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await signInWith({ admin_key: 'sk-sluice-adm_' + 'x'.repeat(43) })).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual([429, 429]);
    const audit = await admin.listAudit(1);
    expect(audit[0]).toMatchObject({ action: 'session.sign_in', outcome: 'refused' });
  });
});
