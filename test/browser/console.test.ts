/**
 * The console in a real browser: Debian's Chromium driven by playwright-core (no browser
 * download), headless, against the gateway as `npm start` runs it (runDev: its printed
 * sign-in link), with the test upstream behind a proxy. Screenshots of every page go to
 * docs/console/ (embedded in docs/console.md).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDev } from '../../functions/local/dev.js';
import type { LocalServer } from '../../functions/local/server.js';
import { generateAdminKey } from '../../functions/console/admin-keys.js';
import { FileAdminStore } from '../../functions/console/admin-store.js';
import { setPolicy } from '../../functions/governance/policy-admin.js';
import { FileControlStore } from '../../functions/stores/file-store.js';
import { FileSpendConfigStore } from '../../functions/spend/file-config-store.js';
import { generateGatewayKey } from '../../functions/stores/keys.js';
import { PROJECT_ROOT } from '../../lib/bundled-function.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';

// Every run takes the screenshots; they replace docs/console/*.png only with
// SLUICE_UPDATE_SCREENSHOTS=1, so a test run leaves the checkout as it was.
const SHOTS = process.env.SLUICE_UPDATE_SCREENSHOTS === '1' ? join(PROJECT_ROOT, 'docs', 'console') : join(tmpdir(), `sluice-console-shots-${process.pid}`);
const XSS = '<img src=x onerror=alert(1)>';

let upstream: OpenAIUpstream;
let server: LocalServer;
let dataDir: string;
let profileDir: string;
let link: string;
let context: BrowserContext;
let page: Page;
const dialogs: string[] = [];
const pageErrors: string[] = [];
let base: string;
let key: string;
let budgetKeyId: string;
let heldKey: string;
let scoredKey: string;
let orgBKey: string;
/** The intent scorer (docs/intent.md): allows, with a reason that carries HTML. */
let scorer: Server;
const SCORER_REASON = 'fits the intent <i id="pwn-reason">refunds</i>';
const savedGuardrail = process.env.GUARDRAIL_URL;

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  dataDir = await mkdtemp(join(tmpdir(), 'sluice-console-'));
  profileDir = await mkdtemp(join(tmpdir(), 'sluice-chromium-'));
  process.env.SLUICE_LOG_LEVEL = 'SILENT';
  scorer = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ action: 'allow', score: 0.87, reason: SCORER_REASON })));
  });
  await new Promise<void>((r) => scorer.listen(0, '127.0.0.1', r));
  // Read when runDev imports the handler.
  process.env.GUARDRAIL_URL = `http://127.0.0.1:${(scorer.address() as AddressInfo).port}`;
  let printed = '';
  server = await runDev({ port: 0, host: '127.0.0.1', dataDir, print: (t) => (printed += t) });
  link = /Console: (http:\/\/127\.0\.0\.1:\d+\/console\/#token=[A-Za-z0-9_-]+)/.exec(printed)?.[1] ?? '';
  base = `http://127.0.0.1:${server.port}`;
  const store = new FileControlStore({ dataDir });
  const now = new Date().toISOString();
  const proxy = { orgId: 'default', provider: 'openai-compatible' as const, baseUrl: upstream.url, byok: false, allowPrivateNetwork: true, createdAt: now };
  await store.putProxy({ ...proxy, id: 'app', name: 'app' });
  await store.putProxy({ ...proxy, id: 'held', name: 'held', governance: { enabled: true } });
  await setPolicy(store, 'held', 'request', 'package sluice.policy\n\nhold contains "wire transfers need a human" if {\n  some m in input.messages\n  contains(m.text, "transfer")\n}\n');
  await store.putProxy({ ...proxy, id: 'scored', name: 'scored', governance: { enabled: true, intent: { intent: 'Customer support: refunds', capabilities: ['refunds'] } } });
  await store.putProxy({ ...proxy, id: 'other', name: 'other', orgId: 'org-b' });
  const keyIds: string[] = [];
  const addKey = async (proxyId: string, orgId = 'default') => {
    const g = generateGatewayKey();
    await store.putKey({ id: g.id, hash: g.hash, proxyId, orgId, createdAt: now });
    keyIds.push(g.id);
    return g.key;
  };
  key = await addKey('app');
  heldKey = await addKey('held');
  scoredKey = await addKey('scored');
  orgBKey = await addKey('other', 'org-b');
  // A key budget of the default org (on a key no test calls with: a budget refuses unpriced models): an org-b admin must not see it.
  await addKey('app');
  budgetKeyId = keyIds[keyIds.length - 1]!;
  await new FileSpendConfigStore({ dataDir }).putBudget({ scope: 'key', scopeId: budgetKeyId, limitUsd: 1000, period: { kind: 'month' }, updatedAt: now });
  await mkdir(SHOTS, { recursive: true });
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 860 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
}, 60_000);

afterAll(async () => {
  await context?.close();
  await server?.close();
  await upstream?.close();
  await new Promise((r) => scorer?.close(r));
  if (savedGuardrail === undefined) delete process.env.GUARDRAIL_URL;
  else process.env.GUARDRAIL_URL = savedGuardrail;
  await rm(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  await rm(profileDir, { recursive: true, force: true });
  if (!SHOTS.startsWith(PROJECT_ROOT)) await rm(SHOTS, { recursive: true, force: true });
});

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
const client = (k: string) => new OpenAI({ baseURL: `${base}/a/${k === key ? 'app' : k === heldKey ? 'held' : k === scoredKey ? 'scored' : 'other'}/openai/v1`, apiKey: k, maxRetries: 0 });
/** Nothing the page was given as text became markup or ran. */
async function expectNoInjectedMarkup(): Promise<void> {
  expect(await page.locator('#main img, #main script, #main i, #main b, #pwn, #pwn-reason').count()).toBe(0);
  expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: unknown }).__pwned)).toBeUndefined();
  expect(dialogs).toEqual([]);
  expect(pageErrors).toEqual([]);
}

describe('the console in Chromium', () => {
  const sessionId = randomUUID();
  const traceIds: string[] = [];

  it('shows the sign-in form without a session, then signs in with the link npm start printed (once)', async () => {
    expect(link).not.toBe('');
    await page.goto(`${base}/console/`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await shot('sign-in');
    await page.goto(link);
    await page.locator('#nav').waitFor({ state: 'visible' });
    expect(page.url()).not.toContain('token='); // the nonce leaves the address bar and history
    await expect.poll(() => page.locator('#who').textContent()).toContain('(admin)');
    // The same link again is refused.
    const again = await page.request.post(`${base}/admin/v1/session`, { data: { token: new URL(link).hash.slice('#token='.length) }, headers: { origin: base } });
    expect(again.status()).toBe(401);
  });

  it('three requests of one session made with the openai SDK are found in Traces', async () => {
    for (const text of ['first question', 'second question', XSS]) {
      const { response } = await client(key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }] }, { headers: { 'x-sluice-session-id': sessionId } }).withResponse();
      traceIds.push(response.headers.get('x-sluice-trace-id')!);
    }
    await page.goto(`${base}/console/#/traces`);
    await page.locator('input[name=session]').fill(sessionId);
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(async () => (await page.locator('#trace-results tbody tr').allTextContents()).join('\n'), { timeout: 10_000 }).toContain(traceIds[0]!);
    const rows = await page.locator('#trace-results tbody tr').allTextContents();
    for (const id of traceIds) expect(rows.join('\n')).toContain(id);
    await page.locator('input[name=session]').fill('');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.locator('input[name=tail]').check();
    await expect.poll(() => page.locator('.filters .note').textContent()).toContain('Live tail');
    await shot('traces');
    await page.locator('input[name=tail]').uncheck();
  });

  it('a trace shows its steps; its session shows the three turns in order', async () => {
    await page.goto(`${base}/console/#/trace/${traceIds[0]}`);
    await page.locator('#waterfall').waitFor();
    const steps = await page.locator('#waterfall .wf-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-step')));
    expect(steps).toEqual(expect.arrayContaining(['request_received', 'llm', 'request_finished']));
    expect(await page.locator('#request-body').textContent()).toContain('first question');
    expect(await page.locator('#response-body').textContent()).toContain('first question');
    expect(await page.locator('.facts').textContent()).toMatch(/Tokens\d+ in, \d+ out/);
    expect(await page.locator('#attempts tbody tr').allTextContents()).toEqual([expect.stringMatching(/^openai-compatiblegpt-4o-mini200/)]);
    await shot('trace');
    await page.getByRole('link', { name: new RegExp(sessionId) }).click();
    await page.getByRole('heading', { name: `Session ${sessionId}` }).waitFor();
    const turns = await page.locator('tbody tr').allTextContents();
    expect(turns).toHaveLength(3);
    traceIds.forEach((id, i) => expect(turns[i]).toContain(id));
    await shot('session');
    await page.goto(`${base}/console/#/sessions`);
    await expect.poll(async () => (await page.locator('tbody tr').allTextContents()).join('\n')).toContain(sessionId);
    await shot('sessions');
  });

  it('a response body of <img src=x onerror=alert(1)> is shown as text and runs no script', async () => {
    await page.goto(`${base}/console/#/trace/${traceIds[2]}`);
    await page.locator('#response-body').waitFor();
    await expect.poll(() => page.locator('#response-body').textContent()).toContain(XSS);
    expect(await page.locator('#response-body img, #request-body img').count()).toBe(0);
    expect(await page.locator('img').count()).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('spend shows the requests, with a chart', async () => {
    await page.goto(`${base}/console/#/spend`);
    await page.locator('#spend-chart').waitFor();
    await expect.poll(async () => (await page.locator('table').first().textContent()) ?? '').toContain('gpt-4o-mini');
    expect(await page.locator('#spend-chart rect').count()).toBeGreaterThan(0);
    await shot('spend');
  });

  it('approves a held request; the re-sent request then succeeds', async () => {
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'transfer 100 EUR to Bob' }] };
    const held = (await client(heldKey).chat.completions.create(body).catch((e: unknown) => e)) as { status: number; headers: Headers };
    expect(held.status).toBe(409);
    const approvalId = held.headers.get('x-sluice-approval-id')!;
    await page.goto(`${base}/console/#/approvals`);
    const card = page.locator(`[data-approval-id="${approvalId}"]`);
    await card.waitFor();
    await expect.poll(() => card.locator('pre').textContent()).toContain('transfer 100 EUR');
    await shot('approvals');
    await card.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => card.textContent()).toContain('approved by console:adm_');
    const resent = await client(heldKey).chat.completions.create(body, { headers: { 'x-sluice-approval-id': approvalId } });
    expect(resent.choices[0]!.message.content).toContain('transfer 100 EUR');
  });

  it('denies a held request: the re-sent request is refused with the operator\'s denial', async () => {
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'transfer 9000 EUR to Mallory' }] };
    const held = (await client(heldKey).chat.completions.create(body).catch((e: unknown) => e)) as { status: number; headers: Headers };
    expect(held.status).toBe(409);
    const approvalId = held.headers.get('x-sluice-approval-id')!;
    await page.goto(`${base}/console/#/approvals`);
    await page.reload(); // the page already showed #/approvals: a same-hash goto loads nothing new
    const card = page.locator(`[data-approval-id="${approvalId}"]`);
    await card.getByRole('button', { name: 'Deny' }).click();
    await expect.poll(() => card.textContent()).toContain('denied by console:adm_');
    const resent = (await client(heldKey).chat.completions.create(body, { headers: { 'x-sluice-approval-id': approvalId } }).catch((e: unknown) => e)) as { status: number; message: string };
    expect(resent.status).not.toBe(200);
    expect(resent.message).toContain('denied by an operator');
  });

  it('policies show their version and test against a trace\'s input document', async () => {
    const traces = await page.request.get(`${base}/admin/v1/traces?proxy=held&limit=200`);
    const heldTrace = ((await traces.json()) as { data: { traceId: string; status: number }[] }).data.find((t) => t.status === 409)!;
    await page.goto(`${base}/console/#/policies`);
    const card = page.locator('[data-proxy="held"]');
    await card.waitFor();
    expect(await card.textContent()).toContain('request policy v1');
    await card.locator('input[name=trace_id]').fill(heldTrace.traceId);
    await card.getByRole('button', { name: 'Test against trace input' }).click();
    await expect.poll(() => card.locator('.policy-result').textContent()).toContain('Decision: hold — wire transfers need a human');
    await shot('policies');
  });

  it('a trace shows the input document its policy step kept, as text', async () => {
    const traces = await page.request.get(`${base}/admin/v1/traces?proxy=held&limit=200`);
    const heldTrace = ((await traces.json()) as { data: { traceId: string; status: number }[] }).data.find((t) => t.status === 409)!;
    await page.goto(`${base}/console/#/trace/${heldTrace.traceId}`);
    const input = page.locator('details:has(summary:text("input document")) pre');
    await input.first().waitFor({ state: 'attached' });
    const doc = JSON.parse((await input.first().textContent())!) as { stage?: string; messages?: { text?: string }[] };
    expect(JSON.stringify(doc.messages)).toContain('transfer');
  });

  it('trace detail shows the tool calls (made and answered) and the intent score; hostile prompt, tool output and reason stay text', async () => {
    const hostile = 'refund please <script>window.__pwned=1</script><b id="pwn">bold</b>';
    const toolOutput = '<img src=x onerror="window.__pwned=2;alert(3)">';
    const { response } = await client(scoredKey)
      .chat.completions.create({
        model: 'test-tools',
        messages: [
          { role: 'user', content: hostile },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_prev1', type: 'function', function: { name: 'lookup_account', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'call_prev1', content: toolOutput },
        ],
        tools: [{ type: 'function', function: { name: 'lookup_account', description: 'Looks an account up', parameters: { type: 'object', properties: {} } } }],
      })
      .withResponse();
    const traceId = response.headers.get('x-sluice-trace-id')!;
    await page.goto(`${base}/console/#/trace/${traceId}`);
    const tools = page.locator('#tool-calls tbody tr');
    await tools.first().waitFor();
    const [result, call, ...more] = await tools.evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    expect(more.every((row) => row[0] === 'call')).toBe(true);
    // The client's tool result (request) first, then the call the model made (response).
    expect(result).toEqual(['result', '', 'call_prev1', toolOutput, '']);
    expect(call!.slice(0, 2)).toEqual(['call', 'lookup_account']);
    expect(call![2]).toMatch(/^call_/);
    expect(JSON.parse(call![3]!)).toMatchObject({ query: hostile });
    const intent = await page.locator('#intent tbody tr td').allTextContents();
    expect(intent).toEqual(['scored', 'allow', '0.87', SCORER_REASON]);
    expect(await page.locator('#request-body').textContent()).toContain(JSON.stringify(hostile).slice(1, -1));
    await expectNoInjectedMarkup();
    await shot('trace-tools');
  });

  it('signs out: the API then answers 401', async () => {
    await page.locator('#sign-out').click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect((await page.request.get(`${base}/admin/v1/traces`)).status()).toBe(401);
  });
  it('a viewer signs in with an admin key in the form and gets no Approve or Deny buttons', async () => {
    const viewer = generateAdminKey();
    await new FileAdminStore(dataDir).putKey({ id: viewer.id, hash: viewer.hash, role: 'viewer', createdAt: new Date().toISOString() });
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'transfer 1 EUR to Carol' }] };
    const held = (await client(heldKey).chat.completions.create(body).catch((e: unknown) => e)) as { headers: Headers };
    await page.goto(`${base}/console/`);
    await page.locator('#admin-key').fill(viewer.key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#who').textContent()).toContain('(viewer)');
    await page.goto(`${base}/console/#/approvals`);
    const card = page.locator(`[data-approval-id="${held.headers.get('x-sluice-approval-id')}"]`);
    await card.waitFor();
    expect(await card.getByRole('button').count()).toBe(0);
    expect(await page.content()).not.toContain(viewer.key); // the key is never shown
    // The API refuses a viewer's decision too (with its CSRF token and the right Origin).
    const csrf = await page.evaluate(async () => ((await (await fetch('/admin/v1/session')).json()) as { csrf: string }).csrf);
    const r = await page.request.post(`${base}/admin/v1/approvals/${held.headers.get('x-sluice-approval-id')}/approve`, { headers: { origin: base, 'x-sluice-csrf': csrf } });
    expect(r.status()).toBe(403);
  });
  it('an org-scoped admin sees only its org: traces, sessions, spend, budgets, approvals, policies — also by direct URL', async () => {
    const orgSession = randomUUID();
    const { response } = await client(orgBKey).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'org b question' }] }, { headers: { 'x-sluice-session-id': orgSession } }).withResponse();
    const orgTrace = response.headers.get('x-sluice-trace-id')!;
    const pending = (await client(heldKey).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'transfer 5 EUR to Dave' }] }).catch((e: unknown) => e)) as { headers: Headers };
    const approvalId = pending.headers.get('x-sluice-approval-id')!;
    expect(approvalId).toBeTruthy();
    const orgAdmin = generateAdminKey();
    await new FileAdminStore(dataDir).putKey({ id: orgAdmin.id, hash: orgAdmin.hash, role: 'admin', orgId: 'org-b', createdAt: new Date().toISOString() });
    await context.clearCookies();
    await page.goto(`${base}/console/`);
    await page.locator('#admin-key').fill(orgAdmin.key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#who').textContent()).toContain('(admin');

    // Traces: its own trace, no other org's, whatever the range.
    await page.goto(`${base}/console/#/traces`);
    await page.locator('select[name=range]').selectOption('604800000');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(async () => (await page.locator('#trace-results').textContent()) ?? '', { timeout: 10_000 }).toContain(orgTrace);
    const listed = (await page.locator('#trace-results').textContent()) ?? '';
    for (const id of traceIds) expect(listed).not.toContain(id);
    const proxiesShown = await page.locator('#trace-results tbody tr td:nth-child(2)').allTextContents();
    expect(new Set(proxiesShown)).toEqual(new Set(['other']));

    // Another org's trace and session by direct URL: not found, nothing of it shown.
    await page.goto(`${base}/console/#/trace/${traceIds[0]}`);
    await expect.poll(() => page.locator('#main [role=alert]').textContent()).toContain(`No trace ${traceIds[0]}`);
    expect(await page.locator('#main').textContent()).not.toContain('first question');
    expect((await page.request.get(`${base}/admin/v1/traces/${traceIds[0]}`)).status()).toBe(404);
    await page.goto(`${base}/console/#/session/${sessionId}`);
    await page.getByRole('heading', { name: `Session ${sessionId}` }).waitFor();
    expect(await page.locator('#main tbody tr').count()).toBe(0);
    await page.goto(`${base}/console/#/sessions`);
    await expect.poll(async () => (await page.locator('#main').textContent()) ?? '').toContain(orgSession);
    expect(await page.locator('#main').textContent()).not.toContain(sessionId);

    // Spend and budgets: its proxy only; the default org's key budget is not there.
    const byProxy = (await (await page.request.get(`${base}/admin/v1/spend?by=proxy`)).json()) as { data: { group: string }[] };
    expect(byProxy.data.map((l) => l.group)).toEqual(['other']);
    const budgets = (await (await page.request.get(`${base}/admin/v1/budgets`)).json()) as { data: { scope_id: string }[] };
    expect(budgets.data.map((b) => b.scope_id)).not.toContain(budgetKeyId);
    await page.goto(`${base}/console/#/spend`);
    await page.locator('#spend-chart').waitFor();
    expect(await page.locator('#main').textContent()).not.toContain(budgetKeyId);

    // Approvals: the other org's hold is neither listed nor decidable.
    await page.goto(`${base}/console/#/approvals`);
    await page.getByRole('heading', { name: 'Approvals' }).waitFor();
    expect(await page.locator(`[data-approval-id="${approvalId}"]`).count()).toBe(0);
    const csrf = await page.evaluate(async () => ((await (await fetch('/admin/v1/session')).json()) as { csrf: string }).csrf);
    const decided = await page.request.post(`${base}/admin/v1/approvals/${approvalId}/approve`, { headers: { origin: base, 'x-sluice-csrf': csrf } });
    expect(decided.status()).toBe(404);

    // Policies: only its proxies; another org's proxy cannot be tested against.
    await page.goto(`${base}/console/#/policies`);
    await page.locator('[data-proxy="other"]').waitFor();
    for (const p of ['app', 'held', 'scored']) expect(await page.locator(`[data-proxy="${p}"]`).count()).toBe(0);
    const tested = await page.request.post(`${base}/admin/v1/policies/test`, { headers: { origin: base, 'x-sluice-csrf': csrf }, data: { proxy_id: 'held', trace_id: traceIds[0] } });
    expect(tested.status()).toBe(404);
    await shot('org-scope');
    expect(pageErrors).toEqual([]);
  });
});
