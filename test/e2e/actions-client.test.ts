/**
 * The `sluice/client` export end to end: built by tsc (client/tsconfig.json, what `npm pack`
 * runs), resolved through package.json's exports by Node itself, and used against the real
 * handler on the local runtime with the quickstart policy as the proxy's action policy:
 * allow, deny, hold → approve (CLI) → allow once, a denied approval, the fail modes, and
 * the answers that are not decisions (401, 403, 503) as SluiceError.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/commands/cli.js';
import type * as Client from '../../client/index.js';
import type { StoredPolicy } from '../../functions/stores/types.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { ACTION_POLICY, governedProxy } from './governance-helpers.js';

const run = promisify(execFile);
const repo = new URL('../..', import.meta.url).pathname;

let upstream: OpenAIUpstream;
let gw: TestGateway;
let client: typeof Client;

beforeAll(async () => {
  await run(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', 'client/tsconfig.json'], { cwd: repo });
  // Node's own resolution of the package's `./client` export, as an application importing `sluice/client` gets it.
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', "process.stdout.write(import.meta.resolve('sluice/client'))"], { cwd: repo });
  expect(stdout).toBe(pathToFileURL(join(repo, 'dist/client/index.js')).href);
  expect((await stat(join(repo, 'dist/client/index.d.ts'))).size).toBeGreaterThan(0);
  client = (await import(stdout)) as typeof Client;
  upstream = await startOpenAIUpstream();
  gw = await startTestGateway({ upstreamUrl: upstream.url });
}, 120_000);
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

async function cli(args: string[]): Promise<number> {
  const sink = { write: () => true };
  return runCli(['--data-dir', gw.dataDir, ...args], { stdout: sink, stderr: sink }, {});
}

async function rejection(p: Promise<unknown>): Promise<Client.SluiceError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(client.SluiceError);
  return err as Client.SluiceError;
}

describe('sluice/client with the quickstart policy as the action policy', () => {
  it('allow and deny; through /v1 (proxy from the key) and with proxyId in the path', async () => {
    const p = await governedProxy(gw, { policies: { action: ACTION_POLICY } });
    for (const actions of [new client.SluiceActions({ baseURL: gw.url, apiKey: p.key }), new client.SluiceActions({ baseURL: `${gw.url}/`, apiKey: p.key, proxyId: p.id })]) {
      const allowed = await actions.check('list_tables', { schema: 'public' });
      expect(allowed).toEqual({ decision: 'allow', traceId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
      const denied = await actions.check('delete_database', { name: 'prod' });
      expect(denied).toEqual({ decision: 'deny', traceId: expect.stringMatching(/^[0-9a-f-]{36}$/), reasons: ['denied by policy'], code: 'policy_violation', message: 'Denied by policy: denied by policy' });
    }
    expect(upstream.requests).toHaveLength(0);
  });

  it('hold → waitForApproval while an operator approves → allow, once; the re-check sends the same bytes', async () => {
    const p = await governedProxy(gw, { policies: { action: ACTION_POLICY } });
    const actions = new client.SluiceActions({ baseURL: gw.url, apiKey: p.key });
    const held = await actions.check('refund', { amount: 250, order: 'A-17' });
    if (held.decision !== 'hold') throw new Error(`expected a hold, got ${held.decision}`);
    expect(held).toMatchObject({ reasons: ['refunds over 100 need a human'], approvalId: expect.stringMatching(/^[0-9a-f-]{36}$/), body: JSON.stringify({ action: 'refund', arguments: { amount: 250, order: 'A-17' } }) });
    expect(await actions.approval(held.approvalId)).toMatchObject({ id: held.approvalId, status: 'pending', reasons: ['refunds over 100 need a human'] });
    // Still pending: a re-check is the same hold.
    expect(await actions.recheck(held)).toMatchObject({ decision: 'hold', approvalId: held.approvalId });

    const waiting = actions.waitForApproval(held, { intervalMs: 10 });
    expect(await cli(['approvals', 'approve', held.approvalId, '--by', 'alice@example.com'])).toBe(0);
    expect(await waiting).toEqual({ decision: 'allow', traceId: expect.any(String), approvalId: held.approvalId });
    expect((await actions.approval(held.approvalId)).status).toBe('consumed');
    expect(await actions.recheck(held)).toMatchObject({ decision: 'deny', code: 'approval_used' });
  });

  it('a denied approval: waitForApproval resolves with deny approval_denied; a wait that runs out rejects with approval_pending', async () => {
    const p = await governedProxy(gw, { policies: { action: ACTION_POLICY } });
    const actions = new client.SluiceActions({ baseURL: gw.url, apiKey: p.key });
    const held = await actions.check('refund', { amount: 900 });
    if (held.decision !== 'hold') throw new Error('expected a hold');
    const gaveUp = await rejection(actions.waitForApproval(held, { intervalMs: 10, timeoutMs: 0 }));
    expect(gaveUp).toMatchObject({ status: 0, code: 'approval_pending' });
    expect(await cli(['approvals', 'deny', held.approvalId, '--by', 'bob'])).toBe(0);
    expect(await actions.waitForApproval(held, { intervalMs: 10 })).toMatchObject({ decision: 'deny', code: 'approval_denied' });
  });

  it('no action policy: allow with policy none', async () => {
    const p = await governedProxy(gw, {});
    expect(await new client.SluiceActions({ baseURL: gw.url, apiKey: p.key }).check('delete_database')).toMatchObject({ decision: 'allow', policy: 'none' });
  });

  it('fail modes: closed (default) rejects with 503 policy_unavailable; open allows with policy error', async () => {
    const broken: StoredPolicy = { version: 1, format: 'bundle', body: Buffer.from('not a bundle').toString('base64'), sha256: createHash('sha256').update('broken').digest('hex'), updatedAt: new Date().toISOString() };
    const closed = await governedProxy(gw, { governance: { policies: { action: broken } } });
    const err = await rejection(new client.SluiceActions({ baseURL: gw.url, apiKey: closed.key }).check('list_tables'));
    expect(err).toMatchObject({ status: 503, type: 'service_unavailable', code: 'policy_unavailable', traceId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    const open = await governedProxy(gw, { governance: { policies: { action: broken }, failModes: { action: 'open' } } });
    expect(await new client.SluiceActions({ baseURL: gw.url, apiKey: open.key }).check('delete_database')).toMatchObject({ decision: 'allow', policy: 'error' });
  });

  it('answers that are not decisions reject: 401 bad key, 403 another proxy, 400 bad input, an unreachable gateway', async () => {
    const p = await governedProxy(gw, { policies: { action: ACTION_POLICY } });
    expect(await rejection(new client.SluiceActions({ baseURL: gw.url, apiKey: 'sk-sluice-not-a-key' }).check('list_tables'))).toMatchObject({ status: 401, type: 'authentication_error' });
    expect(await rejection(new client.SluiceActions({ baseURL: gw.url, apiKey: gw.key, proxyId: p.id }).check('list_tables'))).toMatchObject({ status: 403, code: 'proxy_forbidden' });
    expect(await rejection(new client.SluiceActions({ baseURL: gw.url, apiKey: p.key }).check(''))).toMatchObject({ status: 400, param: 'action' });
    expect(await rejection(new client.SluiceActions({ baseURL: gw.url, apiKey: p.key }).check('a', {}, { sessionId: 'not-a-uuid' }))).toMatchObject({ status: 400, param: 'session_id' });
    expect(await rejection(new client.SluiceActions({ baseURL: 'http://127.0.0.1:9', apiKey: p.key }).check('list_tables'))).toMatchObject({ status: 0, type: 'connection_error' });
  });
});
