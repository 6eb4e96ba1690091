/**
 * `POST /v1/actions/check` and `/a/<proxy>/actions/check` over raw HTTP, through the local
 * runtime and the real handler: the seeds' quickstart policy (deny `delete_database`) set
 * as the proxy's action policy; allow, deny, hold → approve (CLI) → allow once, the fail
 * modes, 401 without a key, and the `tool` step in the session's trace.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/commands/cli.js';
import type { StoredPolicy } from '../../functions/stores/types.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { ACTION_POLICY, governedProxy, memorySink, QUICKSTART_POLICY, stepsOf } from './governance-helpers.js';


let upstream: OpenAIUpstream;
let gw: TestGateway;
const sink = memorySink();

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  gw = await startTestGateway({ upstreamUrl: upstream.url, deps: { traceSink: sink } });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
beforeEach(() => upstream.reset());

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function check(key: string | undefined, body: string | Record<string, unknown>, opts: { path?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const res = await fetch(`${gw.url}${opts.path ?? '/v1/actions/check'}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...opts.headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await runCli(['--data-dir', gw.dataDir, ...args], { stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (out += t) } }, {});
  return { code, out };
}

describe('authentication', () => {
  it('401 without a gateway key or with a bad one, on both routes; another proxy’s path is 403; nothing reaches an upstream', async () => {
    const p = await governedProxy(gw, { policies: { action: ACTION_POLICY } });
    for (const path of ['/v1/actions/check', `/a/${p.id}/actions/check`]) {
      const none = await check(undefined, { action: 'list_tables' }, { path });
      expect(none.status, path).toBe(401);
      expect(none.body).toMatchObject({ error: { type: 'authentication_error', code: 'missing_api_key' } });
      expect(none.headers.get('x-sluice-trace-id')).toMatch(/^[0-9a-f-]{36}$/);
      const bad = await check('sk-sluice-not-a-real-key', { action: 'list_tables' }, { path });
      expect(bad.status, path).toBe(401);
      expect(bad.body).toMatchObject({ error: { type: 'authentication_error' } });
    }
    const other = await check(gw.key, { action: 'list_tables' }, { path: `/a/${p.id}/actions/check` });
    expect(other.status).toBe(403);
    expect(other.body).toMatchObject({ error: { code: 'proxy_forbidden' } });
    const wrongMethod = await fetch(`${gw.url}/v1/actions/check`, { headers: { authorization: `Bearer ${p.key}` } });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('decisions with the quickstart policy as the action policy', () => {
  it('allow → 200 {decision: allow, trace_id}; delete_database → 403 policy_violation with its reasons', async () => {
    const p = await governedProxy(gw, { policies: { action: ACTION_POLICY } });
    const allowed = await check(p.key, { action: 'list_tables', arguments: { schema: 'public' } });
    expect(allowed.status).toBe(200);
    expect(allowed.body).toEqual({ decision: 'allow', trace_id: allowed.headers.get('x-sluice-trace-id') });

    const denied = await check(p.key, { action: 'delete_database', arguments: { name: 'prod' } }, { path: `/a/${p.id}/actions/check` });
    expect(denied.status).toBe(403);
    expect(denied.body).toEqual({
      error: { message: 'Denied by policy: denied by policy', type: 'policy_violation', code: 'policy_violation', param: null },
      decision: 'deny',
      reasons: ['denied by policy'],
      trace_id: denied.headers.get('x-sluice-trace-id'),
    });
    expect(upstream.requests).toHaveLength(0);
  });

  it('with no action policy: 200 {decision: allow, policy: none}; the request-stage policy is never used for actions', async () => {
    const p = await governedProxy(gw, { policies: { request: QUICKSTART_POLICY } });
    const res = await check(p.key, { action: 'delete_database' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ decision: 'allow', policy: 'none' });
    // Governance off: no policy applies either.
    const off = await governedProxy(gw, { policies: { action: ACTION_POLICY }, governance: { enabled: false } });
    await cli(['policies', 'config', off.id, '--off']);
    expect((await check(off.key, { action: 'delete_database' })).body).toMatchObject({ decision: 'allow', policy: 'none' });
  });

  it('hold → 409 + X-Sluice-Approval-Id → poll → CLI approve → the byte-identical body with the id → allow, once', async () => {
    const p = await governedProxy(gw, { policies: { action: ACTION_POLICY } });
    const body = JSON.stringify({ action: 'refund', arguments: { amount: 250, order: 'A-17' } });
    const held = await check(p.key, body);
    expect(held.status).toBe(409);
    const id = held.headers.get('x-sluice-approval-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(held.body).toMatchObject({ error: { type: 'policy_violation', code: 'approval_required' }, decision: 'hold', approval_id: id, reasons: ['refunds over 100 need a human'] });
    // The same body again is the same hold.
    expect((await check(p.key, body)).headers.get('x-sluice-approval-id')).toBe(id);

    const poll = async () => (await (await fetch(`${gw.url}/v1/approvals/${id}`, { headers: { authorization: `Bearer ${p.key}` } })).json()) as { status: string };
    expect((await poll()).status).toBe('pending');
    const listed = await cli(['approvals', 'list', '--proxy', p.id, '--status', 'pending']);
    expect(listed.out).toContain(id!);
    // Still pending with the id: 409 again.
    expect((await check(p.key, body, { headers: { 'x-sluice-approval-id': id! } })).status).toBe(409);

    expect(await cli(['approvals', 'approve', id!, '--by', 'alice@example.com'])).toMatchObject({ code: 0 });
    expect((await poll()).status).toBe('approved');
    // Other bytes (the same JSON, re-spaced) do not match the hold.
    const respaced = await check(p.key, JSON.stringify(JSON.parse(body), null, 1), { headers: { 'x-sluice-approval-id': id! } });
    expect(respaced.status).toBe(403);
    expect(respaced.body).toMatchObject({ error: { code: 'approval_mismatch' }, decision: 'deny' });

    const approved = await check(p.key, body, { headers: { 'x-sluice-approval-id': id! } });
    expect(approved.status).toBe(200);
    expect(approved.body).toEqual({ decision: 'allow', approval_id: id, trace_id: approved.headers.get('x-sluice-trace-id') });
    const steps = await stepsOf(sink, approved.headers.get('x-sluice-trace-id'), 'policy');
    expect(steps[0]!.attributes).toMatchObject({ stage: 'action', decision: 'approved', approvedBy: 'alice@example.com' });

    const again = await check(p.key, body, { headers: { 'x-sluice-approval-id': id! } });
    expect(again.status).toBe(403);
    expect(again.body).toMatchObject({ error: { code: 'approval_used' }, decision: 'deny' });
    expect((await poll()).status).toBe('consumed');
  });
});

describe('the action input document', () => {
  it('carries the request stage’s identity, session (X-Sluice-Session-Id), properties and headers, the arguments and proxy data', async () => {
    const echo = `package sluice.policy

deny contains msg if {
  input.action == "echo"
  msg := sprintf("%s|%s|%s|%s|%s|%s|%v|%s|%v|%v", [input.stage, input.proxy.id, input.key.id, input.session.id, input.session.strategy, input.properties.team, input.arguments.n, input.headers["user-agent"], input.tool_names, input.data.limit])
}
`;
    const p = await governedProxy(gw, { policies: { action: echo }, governance: { data: { limit: 7 } } });
    const session = '3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c';
    const res = await check(p.key, { action: 'echo', arguments: { n: 3 } }, { headers: { 'x-sluice-session-id': session, 'x-sluice-property-team': 'ops', 'user-agent': 'agent/1.0' } });
    expect(res.status).toBe(403);
    expect(res.headers.get('x-sluice-session-id')).toBe(session);
    expect(res.body.reasons).toEqual([`action|${p.id}|${p.keyId}|${session}|header|ops|3|agent/1.0|["echo"]|7`]);
  });
});

describe('fail modes', () => {
  const broken: StoredPolicy = { version: 1, format: 'bundle', body: Buffer.from('not a bundle').toString('base64'), sha256: createHash('sha256').update('broken').digest('hex'), updatedAt: new Date().toISOString() };

  it('an engine failure fails closed by default: 503 policy_unavailable, traced as an error', async () => {
    const p = await governedProxy(gw, { governance: { policies: { action: broken } } });
    const res = await check(p.key, { action: 'list_tables' });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ error: { type: 'service_unavailable', code: 'policy_unavailable' } });
    const [policy] = await stepsOf(sink, res.headers.get('x-sluice-trace-id'), 'policy');
    expect(policy!.attributes).toMatchObject({ stage: 'action', mode: 'error', failMode: 'closed', policyVersion: 1 });
  });

  it('failModes.action open lets the action through and says it was not checked', async () => {
    const p = await governedProxy(gw, { governance: { policies: { action: broken }, failModes: { action: 'open' } } });
    const res = await check(p.key, { action: 'delete_database' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ decision: 'allow', policy: 'error', fail_mode: 'open' });
  });

  it('the request stage’s fail mode does not apply to actions', async () => {
    const p = await governedProxy(gw, { governance: { policies: { action: broken }, failModes: { request: 'open' } } });
    expect((await check(p.key, { action: 'list_tables' })).status).toBe(503);
  });
});

describe('trace', () => {
  it('each check is a tool step in the session’s trace: arguments masked by the policy’s redact and bounded; no request body, no spend', async () => {
    const p = await governedProxy(gw, { policies: { action: ACTION_POLICY } });
    const session = '0b9c5a4e-8f1d-4a57-9d0e-2f7a6c1b3e55';
    const parent = '6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b';
    const res = await check(p.key, { action: 'charge_card', arguments: { card: 'tok_abcdef123456', amount: 12 }, session_id: session, parent_trace_id: parent });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-sluice-session-id')).toBe(session);
    const traceId = res.headers.get('x-sluice-trace-id');
    const steps = await stepsOf(sink, traceId);
    const tool = steps.find((s) => s.name === 'tool')!;
    expect(tool.attributes).toEqual({ direction: 'action', name: 'charge_card', content: JSON.stringify({ card: '█'.repeat(16), amount: 12 }), masked: 1, decision: 'allow' });
    expect(steps.find((s) => s.name === 'request_received')!.attributes).not.toHaveProperty('requestBody');
    // The policy step keeps its input document (console: test a policy against it), masked the same way.
    const input = JSON.parse(steps.find((s) => s.name === 'policy')!.attributes.input as string) as Record<string, unknown>;
    expect(input).toMatchObject({ action: 'charge_card', arguments: { card: '█'.repeat(16), amount: 12 } });
    expect(JSON.stringify(sink.batches.filter((b) => b.record.traceId === traceId))).not.toContain('tok_abcdef123456');
    const record = sink.batches.find((b) => b.record.traceId === traceId)!.record;
    expect(record).toMatchObject({ sessionId: session, parentTraceId: parent });
    expect(record.attributes).toMatchObject({ status: 200, endpoint: 'actions.check', action: 'charge_card', proxyId: p.id, keyId: p.keyId });
    expect(record.attributes).not.toHaveProperty('cost');
    expect(record.attributes).not.toHaveProperty('usage');
    expect(steps.some((s) => s.name === 'llm')).toBe(false);
  });

  it('a bad body is a 400 in OpenAI’s error shape, traced', async () => {
    const p = await governedProxy(gw, { policies: { action: ACTION_POLICY } });
    const res = await check(p.key, '{"action": ');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { type: 'invalid_request_error', code: 'invalid_json' } });
    const missing = await check(p.key, { arguments: {} });
    expect(missing.body).toMatchObject({ error: { param: 'action' } });
  });
});
