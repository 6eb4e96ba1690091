/** `sluice policies set|get|delete|config` and `sluice approvals list|approve|deny` on a local data dir. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../../bin/commands/cli.js';
import { FileApprovalStore } from '../../../functions/governance/approvals.js';
import { signPolicy } from '../../../functions/governance/signed-policy.js';
import { FileControlStore } from '../../../functions/stores/file-store.js';
import { recordingIo, tempDataDir } from '../cli/support.js';

let data: { dir: string; remove(): Promise<void> };
let store: FileControlStore;

beforeEach(async () => {
  data = await tempDataDir();
  store = new FileControlStore({ dataDir: data.dir });
  await store.putProxy({ id: 'p1', orgId: 'o', name: 'p1', provider: 'openai', baseUrl: 'https://api.openai.com/v1', byok: false, allowPrivateNetwork: false, createdAt: new Date().toISOString() });
});
afterEach(() => data.remove());

const POLICY = 'package sluice.policy\n\ndeny if input.user == "eve"\n';

async function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const io = recordingIo();
  const code = await runCli(['--data-dir', data.dir, ...args], io, env);
  return { code, out: io.out(), err: io.err() };
}

describe('sluice policies set|get|delete|config', () => {
  it('stores checked, versioned policies and turns governance on', async () => {
    const file = join(data.dir, 'p.rego');
    await writeFile(file, POLICY);
    expect(await run(['policies', 'set', 'p1', '--stage', 'request', file, '--by', 'ops'])).toMatchObject({ code: 0, out: expect.stringContaining('version 1') });
    expect(await run(['policies', 'set', 'p1', '--stage', 'request', file])).toMatchObject({ code: 0, out: expect.stringContaining('version 2') });
    const proxy = await store.getProxy('p1');
    expect(proxy?.governance?.enabled).toBe(true);
    expect(proxy?.governance?.policies?.request).toMatchObject({ version: 2, format: 'rego', body: POLICY });
    expect((await run(['policies', 'get', 'p1', '--stage', 'request'])).out).toBe(POLICY);
    expect(JSON.parse((await run(['policies', 'get', 'p1', '--stage', 'request', '--json'])).out)).toMatchObject({ version: 2, enabled: true });
    expect(await run(['policies', 'delete', 'p1', '--stage', 'request'])).toMatchObject({ code: 0 });
    expect((await store.getProxy('p1'))?.governance?.policies?.request).toBeUndefined();
    expect((await run(['policies', 'get', 'p1', '--stage', 'request'])).code).toBe(1);
  });

  it('refuses a policy that does not compile, and a bad or missing signature when a key is set', async () => {
    const broken = join(data.dir, 'broken.rego');
    await writeFile(broken, 'package x\n\ndeny if {');
    const res = await run(['policies', 'set', 'p1', '--stage', 'request', broken]);
    expect(res.code).toBe(1);
    expect(res.err).toContain('does not compile');
    const file = join(data.dir, 'p.rego');
    await writeFile(file, POLICY);
    const env = { SLUICE_POLICY_SIGNING_KEY: 'k1' };
    expect((await run(['policies', 'set', 'p1', '--stage', 'request', file], env)).err).toContain('not signed');
    const tampered = join(data.dir, 't.rego');
    await writeFile(tampered, signPolicy(POLICY, 'k1').replace('eve', 'bob'));
    expect((await run(['policies', 'set', 'p1', '--stage', 'request', tampered], env)).err).toContain('signature');
    expect(await run(['policies', 'set', 'p1', '--stage', 'request', file, '--sign'], env)).toMatchObject({ code: 0 });
    expect((await store.getProxy('p1'))?.governance?.policies?.request?.body).toBe(signPolicy(POLICY, 'k1'));
    expect((await store.getProxy('p1'))?.governance?.policies).not.toHaveProperty('response');
  });

  it('config: switch, fail modes, intent', async () => {
    const intent = join(data.dir, 'intent.json');
    await writeFile(intent, JSON.stringify({ intent: 'customer support for a bank', turnScope: 'first_only' }));
    expect(await run(['policies', 'config', 'p1', '--on', '--request-fail-mode', 'closed', '--intent-file', intent])).toMatchObject({ code: 0 });
    expect((await store.getProxy('p1'))?.governance).toMatchObject({ enabled: true, failModes: { request: 'closed' }, intent: { intent: 'customer support for a bank' } });
    expect(await run(['policies', 'config', 'p1', '--off', '--no-intent'])).toMatchObject({ code: 0 });
    const g = (await store.getProxy('p1'))?.governance;
    expect(g?.enabled).toBe(false);
    expect(g).not.toHaveProperty('intent');
    expect((await run(['policies', 'config', 'p1', '--request-fail-mode', 'maybe'])).code).toBe(2);
  });

  it('the action stage: set/get/delete with --stage action, --action-fail-mode open|closed', async () => {
    const file = join(data.dir, 'actions.rego');
    await writeFile(file, 'package sluice.policy\n\ndeny if input.action == "delete_database"\n');
    expect(await run(['policies', 'set', 'p1', '--stage', 'action', file])).toMatchObject({ code: 0, out: expect.stringContaining('p1 action policy version 1') });
    expect((await store.getProxy('p1'))?.governance).toMatchObject({ enabled: true, policies: { action: { version: 1 } } });
    expect((await store.getProxy('p1'))?.governance?.policies).not.toHaveProperty('request');
    expect(await run(['policies', 'config', 'p1', '--action-fail-mode', 'open'])).toMatchObject({ code: 0 });
    expect((await store.getProxy('p1'))?.governance?.failModes).toEqual({ action: 'open' });
    expect((await run(['policies', 'config', 'p1', '--action-fail-mode', 'maybe'])).code).toBe(2);
    expect(await run(['policies', 'delete', 'p1', '--stage', 'action'])).toMatchObject({ code: 0 });
    expect((await run(['policies', 'set', 'p1', '--stage', 'tools', file])).err).toContain('--stage must be request, response or action');
  });

  it('config: static policy data from a JSON object file, removed with --no-data', async () => {
    const dataFile = join(data.dir, 'data.json');
    await writeFile(dataFile, JSON.stringify({ vip_users: ['alice'], limits: { max_tokens: 4000 } }));
    expect(await run(['policies', 'config', 'p1', '--data-file', dataFile])).toMatchObject({ code: 0 });
    expect((await store.getProxy('p1'))?.governance?.data).toEqual({ vip_users: ['alice'], limits: { max_tokens: 4000 } });
    const notObject = join(data.dir, 'list.json');
    await writeFile(notObject, '[1,2]');
    const refused = await run(['policies', 'config', 'p1', '--data-file', notObject]);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('must hold a JSON object');
    expect((await store.getProxy('p1'))?.governance?.data).toEqual({ vip_users: ['alice'], limits: { max_tokens: 4000 } });
    expect(await run(['policies', 'config', 'p1', '--no-data'])).toMatchObject({ code: 0 });
    expect((await store.getProxy('p1'))?.governance).not.toHaveProperty('data');
  });
});

describe('sluice approvals', () => {
  it('lists pending holds, approves with the approver recorded, refuses a second decision', async () => {
    const approvals = new FileApprovalStore(data.dir);
    const { record } = await approvals.hold({ proxyId: 'p1', keyId: 'key_1', bodyHash: 'h', reasons: ['big transfer'], traceId: 't', ttlMs: 60_000 }, Date.now());
    const list = await run(['approvals', 'list', '--status', 'pending']);
    expect(list.out).toContain(record.id);
    expect(list.out).toContain('big transfer');
    expect(await run(['approvals', 'approve', record.id, '--by', 'alice'])).toMatchObject({ code: 0, out: expect.stringContaining('approved by alice') });
    expect(await approvals.get(record.id)).toMatchObject({ status: 'approved', decidedBy: 'alice' });
    const again = await run(['approvals', 'deny', record.id, '--by', 'bob']);
    expect(again.code).toBe(1);
    expect(again.err).toContain('is approved, not pending');
    expect(JSON.parse((await run(['approvals', 'list', '--json'])).out)).toEqual([expect.objectContaining({ id: record.id, status: 'approved' })]);
  });

  it('takes the approver from SLUICE_OPERATOR', async () => {
    const approvals = new FileApprovalStore(data.dir);
    const { record } = await approvals.hold({ proxyId: 'p1', keyId: 'key_1', bodyHash: 'h', reasons: ['r'], traceId: 't', ttlMs: 60_000 }, Date.now());
    expect(await run(['approvals', 'deny', record.id], { SLUICE_OPERATOR: 'arn:aws:iam::123456789012:user/carol' })).toMatchObject({ code: 0 });
    expect((await approvals.get(record.id))?.decidedBy).toBe('arn:aws:iam::123456789012:user/carol');
  });
});
