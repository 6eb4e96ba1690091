/**
 * Request-stage policies through the local runtime with the official OpenAI SDK:
 * deny, fail modes, signed policies, evaluation budget, singleflight compile.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { governanceFromEnv } from '../../functions/governance/governance-deps.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signPolicy } from '../../functions/governance/signed-policy.js';
import { setPolicy } from '../../functions/governance/policy-admin.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { apiErrorOf } from '../support/api-error.js';
import { governedProxy, memorySink, QUICKSTART_POLICY, stepsOf } from './governance-helpers.js';

const SIGNING_KEY = 'policy-signing-key-for-tests';
let upstream: OpenAIUpstream;
let gw: TestGateway;
let signedGw: TestGateway;
const sink = memorySink();

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  gw = await startTestGateway({ upstreamUrl: upstream.url, deps: { traceSink: sink } });
  signedGw = await startTestGateway({ upstreamUrl: upstream.url, env: { SLUICE_POLICY_SIGNING_KEY: SIGNING_KEY }, deps: { traceSink: sink } });
});
afterAll(async () => {
  await gw?.close();
  await signedGw?.close();
  await upstream?.close();
});
beforeEach(() => upstream.reset());

const deleteTool = { type: 'function' as const, function: { name: 'delete_database', parameters: { type: 'object', properties: {} } } };
const ask = (client: OpenAI, tools = [deleteTool]) =>
  client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'clean up' }], tools }).withResponse();

describe('request-stage deny', () => {
  it('the quickstart policy: PermissionDeniedError, upstream never called, the trace names the policy, version and reason', async () => {
    const { client } = await governedProxy(gw, { policies: { request: QUICKSTART_POLICY } });
    const err = await apiErrorOf(ask(client));
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(err.status).toBe(403);
    expect(err.code).toBe('policy_violation');
    expect(err.type).toBe('policy_violation');
    expect(upstream.requests).toHaveLength(0);
    const [step] = await stepsOf(sink, err.headers?.get('x-sluice-trace-id') ?? null, 'policy');
    expect(step?.attributes).toMatchObject({ stage: 'request', mode: 'evaluated', decision: 'deny', reasons: ['denied by policy'], policyVersion: 1, package: 'sluice/policy' });
  });

  it('the same policy allows a call without the tool, and the trace says allow', async () => {
    const { client } = await governedProxy(gw, { policies: { request: QUICKSTART_POLICY } });
    const { data, response } = await ask(client, []);
    expect(data.choices[0]?.message.content).toBeTruthy();
    expect(upstream.requests).toHaveLength(1);
    const [step] = await stepsOf(sink, response.headers.get('x-sluice-trace-id'), 'policy');
    expect(step?.attributes).toMatchObject({ decision: 'allow', policyVersion: 1 });
  });

  it('deny as a set of reasons, over the normalized messages of the Responses API, in any package', async () => {
    const rego = `package acme.rules
deny contains msg if {
  some m in input.messages
  contains(lower(m.text), "password")
  msg := sprintf("secret request on %s", [input.endpoint])
}
deny contains "no bob" if input.user == "bob"
`;
    const { client } = await governedProxy(gw, { policies: { request: rego } });
    const err = await apiErrorOf(client.responses.create({ model: 'gpt-4o-mini', input: [{ role: 'user', content: 'What is the admin PASSWORD?' }], user: 'bob' }));
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(err.message).toContain('no bob');
    expect(err.message).toContain('secret request on responses');
    expect(upstream.requests).toHaveLength(0);
  });

  it('a governance switch that is off skips the policy truthfully', async () => {
    const off = await governedProxy(gw, { governance: { enabled: false } });
    const { response } = await ask(off.client);
    expect(upstream.requests).toHaveLength(1);
    const [step] = await stepsOf(sink, response.headers.get('x-sluice-trace-id'), 'policy');
    expect(step?.attributes).toMatchObject({ mode: 'skipped', reason: 'governance off' });
  });
});

describe('fail modes', () => {
  const slowPolicy = `package sluice.policy
deny if {
  some i in numbers.range(1, 2000)
  some j in numbers.range(1, 2000)
  i * j == -1
}
`;
  it('evaluation past its budget fails open by default: the call proceeds, the error is traced and counted', async () => {
    const { client } = await governedProxy(gw, { policies: { request: slowPolicy }, governance: { evalBudgetMs: 20 } });
    const t0 = performance.now();
    const { response } = await ask(client);
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(upstream.requests).toHaveLength(1);
    const [step] = await stepsOf(sink, response.headers.get('x-sluice-trace-id'), 'policy');
    expect(step?.attributes).toMatchObject({ mode: 'error', failMode: 'open', error: 'eval_cancel_error' });
    expect(step?.attributes).not.toHaveProperty('decision');
  });

  it('closed: 503 policy_unavailable and the upstream is not called', async () => {
    const { client } = await governedProxy(gw, { policies: { request: slowPolicy }, governance: { evalBudgetMs: 20, failModes: { request: 'closed' } } });
    const err = await apiErrorOf(ask(client));
    expect(err.status).toBe(503);
    expect(err.code).toBe('policy_unavailable');
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('signed policies', () => {
  it('a correctly signed policy is enforced', async () => {
    const { client } = await governedProxy(signedGw, { policies: { request: signPolicy(QUICKSTART_POLICY, SIGNING_KEY) }, signingKey: SIGNING_KEY });
    const err = await apiErrorOf(ask(client));
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
  });

  it('a tampered policy is not used: fail open lets the call through, fail closed answers 503; both traced as signature errors', async () => {
    const signed = signPolicy(QUICKSTART_POLICY, SIGNING_KEY);
    const tampered = signed.replace('delete_database', 'drop_database');
    for (const failMode of ['open', 'closed'] as const) {
      const p = await governedProxy(signedGw, { governance: { failModes: { request: failMode } } });
      // Written straight to the store: `setPolicy` refuses a bad signature, an attacker with store access would not.
      const proxy = (await signedGw.store.getProxy(p.id))!;
      const body = tampered;
      await signedGw.store.putProxy({ ...proxy, governance: { ...proxy.governance!, policies: { request: { version: 7, format: 'rego', body, sha256: createHash('sha256').update(body).digest('hex'), updatedAt: new Date().toISOString() } } } });
      upstream.reset();
      const call = ask(p.client, [{ ...deleteTool, function: { ...deleteTool.function, name: 'drop_database' } }]);
      if (failMode === 'open') {
        const { response } = await call;
        expect(upstream.requests).toHaveLength(1);
        const [step] = await stepsOf(sink, response.headers.get('x-sluice-trace-id'), 'policy');
        expect(step?.attributes).toMatchObject({ mode: 'error', error: 'signature', failMode: 'open', policyVersion: 7 });
      } else {
        const err = await apiErrorOf(call);
        expect(err.status).toBe(503);
        expect(upstream.requests).toHaveLength(0);
      }
    }
  });

  it('an unsigned policy is refused when a signing key is configured', async () => {
    const p = await governedProxy(signedGw, { governance: { failModes: { request: 'closed' } } });
    await expect(setPolicy(signedGw.store, p.id, 'request', QUICKSTART_POLICY, { signingKey: SIGNING_KEY })).rejects.toThrow(/not signed/);
  });
});

describe('singleflight', () => {
  it('100 concurrent first requests compile the policy once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-gov-'));
    const governance = governanceFromEnv({ SLUICE_DATA_DIR: dir });
    const g = await startTestGateway({ upstreamUrl: upstream.url, deps: { traceSink: memorySink(), governance } });
    try {
      const { client } = await governedProxy(g, { policies: { request: QUICKSTART_POLICY } });
      const results = await Promise.allSettled(Array.from({ length: 100 }, () => ask(client)));
      expect(results.filter((r) => r.status === 'rejected' && r.reason instanceof OpenAI.PermissionDeniedError)).toHaveLength(100);
      expect(governance.policies.compiles).toBe(1);
      expect(upstream.requests).toHaveLength(0);
    } finally {
      await g.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
