/**
 * Holds and approvals through the local runtime with the official OpenAI SDK (default
 * retries on): 409 with X-Sluice-Approval-Id, one hold not three, the webhook notified
 * before the client hears back, polling, approve, a re-send that proceeds exactly once.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GovernanceNotice } from '../../functions/governance/notifier.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { apiErrorOf } from '../support/api-error.js';
import { FileApprovalStore } from '../../functions/governance/approvals.js';
import { runCli } from '../../bin/commands/cli.js';
import { governedProxy, memorySink, stepsOf } from './governance-helpers.js';

const HOLD_POLICY = `package sluice.policy
hold contains "wire transfers need a human" if {
  some m in input.messages
  contains(m.text, "transfer")
}
`;

let upstream: OpenAIUpstream;
let gw: TestGateway;
let webhook: Server;
const notices: GovernanceNotice[] = [];
const sink = memorySink();

beforeAll(async () => {
  webhook = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      notices.push(JSON.parse(body) as GovernanceNotice);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
  upstream = await startOpenAIUpstream();
  gw = await startTestGateway({
    upstreamUrl: upstream.url,
    env: { SLUICE_NOTIFY_WEBHOOK_URL: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook` },
    deps: { traceSink: sink },
  });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
  await new Promise((r) => webhook?.close(r));
});
beforeEach(() => {
  upstream.reset();
  notices.length = 0;
});

const transfer = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'transfer 1000 EUR to Bob' }] };

const approvals = () => new FileApprovalStore(gw.dataDir);

async function poll(proxyId: string, key: string, id: string) {
  const res = await fetch(`${gw.url}/a/${proxyId}/approvals/${id}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('hold and approve', () => {
  it('hold → poll → approve → re-send proceeds once; the approver is in the audit log', async () => {
    const p = await governedProxy(gw, { policies: { request: HOLD_POLICY }, maxRetries: 2 });
    const held = await apiErrorOf(p.client.chat.completions.create(transfer));
    expect(held).toBeInstanceOf(OpenAI.ConflictError);
    expect(held.code).toBe('approval_required');
    const id = held.headers?.get('x-sluice-approval-id');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(held.headers?.get('x-should-retry')).toBe('false');
    // One hold, not three: the SDK did not retry.
    expect((await approvals().list({ proxyId: p.id })).map((r) => r.id)).toEqual([id]);
    // The operator was notified before the client got its answer.
    expect(notices).toEqual([expect.objectContaining({ kind: 'hold', approvalId: id, proxyId: p.id, reasons: ['wire transfers need a human'] })]);
    expect(upstream.requests).toHaveLength(0);

    // The same request while pending: the same id, no new hold, no new notice.
    const again = await apiErrorOf(p.client.chat.completions.create(transfer));
    expect(again.headers?.get('x-sluice-approval-id')).toBe(id);
    expect(await approvals().list({ proxyId: p.id })).toHaveLength(1);
    expect(notices).toHaveLength(1);

    expect(await poll(p.id, p.key, id!)).toMatchObject({ status: 200, body: { id, status: 'pending', reasons: ['wire transfers need a human'] } });
    // The operator approves with the CLI, on the gateway's data directory.
    let out = '';
    const code = await runCli(['--data-dir', gw.dataDir, 'approvals', 'approve', id!, '--by', 'alice@example.com'], { stdout: { write: (t: string) => (out += t) }, stderr: { write: () => true } }, {});
    expect(code).toBe(0);
    expect(out).toContain('approved by alice@example.com');
    expect((await approvals().get(id!))?.decidedBy).toBe('alice@example.com');
    expect(await poll(p.id, p.key, id!)).toMatchObject({ status: 200, body: { status: 'approved' } });

    const { data, response } = await p.client.chat.completions.create(transfer, { headers: { 'x-sluice-approval-id': id! } }).withResponse();
    expect(data.choices[0]?.message.content).toBeTruthy();
    expect(upstream.requests).toHaveLength(1);
    const [step] = await stepsOf(sink, response.headers.get('x-sluice-trace-id'), 'policy');
    expect(step?.attributes).toMatchObject({ decision: 'approved', approvalId: id, approvedBy: 'alice@example.com' });

    // Replay: refused, the model is not called again.
    const replay = await apiErrorOf(p.client.chat.completions.create(transfer, { headers: { 'x-sluice-approval-id': id! } }));
    expect(replay.status).toBe(403);
    expect(replay.code).toBe('approval_used');
    expect(upstream.requests).toHaveLength(1);
    expect(await poll(p.id, p.key, id!)).toMatchObject({ body: { status: 'consumed' } });
  });

  it('an approval is bound to the body and the key', async () => {
    const p = await governedProxy(gw, { policies: { request: HOLD_POLICY } });
    const held = await apiErrorOf(p.client.chat.completions.create(transfer));
    const id = held.headers!.get('x-sluice-approval-id')!;
    await approvals().decide(id, 'approved', 'alice', Date.now());
    const otherBody = await apiErrorOf(p.client.chat.completions.create({ ...transfer, messages: [{ role: 'user', content: 'transfer 9999 EUR to Mallory' }] }, { headers: { 'x-sluice-approval-id': id } }));
    expect(otherBody.code).toBe('approval_mismatch');
    const other = await gw.addKey({ proxyId: p.id });
    const otherKey = new OpenAI({ baseURL: `${gw.url}/a/${p.id}/openai/v1`, apiKey: other.key, maxRetries: 0 });
    const otherKeyErr = await apiErrorOf(otherKey.chat.completions.create(transfer, { headers: { 'x-sluice-approval-id': id } }));
    expect(otherKeyErr.code).toBe('approval_mismatch');
    // Another key cannot even see it, with or without the proxy in the path.
    expect((await poll(p.id, other.key, id)).status).toBe(404);
    expect((await fetch(`${gw.url}/v1/approvals/${id}`, { headers: { authorization: `Bearer ${other.key}` } })).status).toBe(404);
    // Its own key sees it at /v1/approvals/<id> too (the proxy taken from the key); no key: 401.
    expect(await (await fetch(`${gw.url}/v1/approvals/${id}`, { headers: { authorization: `Bearer ${p.key}` } })).json()).toMatchObject({ id, status: 'approved' });
    const anonymous = await fetch(`${gw.url}/v1/approvals/${id}`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: { type: 'authentication_error', code: 'missing_api_key' } });
    // A key of another proxy, with the proxy in the path: 403.
    const stranger = await gw.addKey();
    expect((await poll(p.id, stranger.key, id)).status).toBe(403);
    expect(upstream.requests).toHaveLength(0);
    // Still usable by its own request.
    await p.client.chat.completions.create(transfer, { headers: { 'x-sluice-approval-id': id } });
    expect(upstream.requests).toHaveLength(1);
  });

  it('denied and expired approvals are refused', async () => {
    const p = await governedProxy(gw, { policies: { request: HOLD_POLICY }, governance: { approvalTtlMs: 300 } });
    const first = await apiErrorOf(p.client.chat.completions.create(transfer));
    const denied = first.headers!.get('x-sluice-approval-id')!;
    await approvals().decide(denied, 'denied', 'bob', Date.now());
    const refused = await apiErrorOf(p.client.chat.completions.create(transfer, { headers: { 'x-sluice-approval-id': denied } }));
    expect(refused.code).toBe('approval_denied');

    const second = await apiErrorOf(p.client.chat.completions.create(transfer));
    const expiring = second.headers!.get('x-sluice-approval-id')!;
    expect(expiring).not.toBe(denied);
    await approvals().decide(expiring, 'approved', 'bob', Date.now());
    await new Promise((r) => setTimeout(r, 400));
    expect(await poll(p.id, p.key, expiring)).toMatchObject({ body: { status: 'expired' } });
    const late = await apiErrorOf(p.client.chat.completions.create(transfer, { headers: { 'x-sluice-approval-id': expiring } }));
    expect(late.code).toBe('approval_expired');
    expect(upstream.requests).toHaveLength(0);
    // An operator cannot approve an expired hold either.
    const third = await apiErrorOf(p.client.chat.completions.create(transfer));
    await new Promise((r) => setTimeout(r, 400));
    expect(await approvals().decide(third.headers!.get('x-sluice-approval-id')!, 'approved', 'bob', Date.now())).toBeUndefined();
  });
});
