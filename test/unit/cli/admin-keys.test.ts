import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../../bin/commands/cli.js';
import { redactSecrets } from '../../../bin/commands/args.js';
import { looksLikeAdminKey } from '../../../functions/console/admin-keys.js';
import { FileAdminStore } from '../../../functions/console/admin-store.js';
import { FileControlStore } from '../../../functions/stores/file-store.js';
import { hashKey, looksLikeGatewayKey } from '../../../functions/stores/keys.js';
import { recordingIo, tempDataDir } from './support.js';

let data: { dir: string; remove(): Promise<void> };
beforeEach(async () => {
  data = await tempDataDir();
});
afterEach(() => data.remove());

const run = async (...args: string[]) => {
  const io = recordingIo();
  const code = await runCli(['--data-dir', data.dir, 'admin-keys', ...args], io, {});
  return { code, out: io.out(), err: io.err() };
};

describe('sluice admin-keys', () => {
  it('create prints an sk-sluice-adm_ key once and stores only its hash, apart from gateway keys', async () => {
    const r = await run('create', '--role', 'approver', '--org', 'acme', '--name', 'ops');
    expect(r.code).toBe(0);
    const keys = r.out.match(/sk-sluice-adm_[0-9A-Za-z]+/g) ?? [];
    expect(keys).toHaveLength(1);
    const key = keys[0]!;
    expect(looksLikeAdminKey(key)).toBe(true);
    expect(looksLikeGatewayKey(key)).toBe(false);
    expect(r.err).toContain('only time it is shown');
    const record = await new FileAdminStore(data.dir).getKeyByHash(hashKey(key));
    expect(record).toMatchObject({ role: 'approver', orgId: 'acme', name: 'ops' });
    expect(await fs.readFile(join(data.dir, 'admin.json'), 'utf8')).not.toContain(key);
    // Never in the gateway-key table.
    expect(await new FileControlStore({ dataDir: data.dir }).listKeys()).toEqual([]);
    expect(await new FileControlStore({ dataDir: data.dir }).getKeyByHash(hashKey(key))).toBeUndefined();
    // Masked like any sk- secret.
    expect(redactSecrets(`oops ${key}`)).not.toContain(key);
  });

  it('list shows ids and fingerprints, never keys; revoke takes an id, never echoes a key', async () => {
    const created = await run('create', '--role', 'viewer', '--json');
    const { id, key } = JSON.parse(created.out) as { id: string; key: string };
    const list = await run('list', '--json');
    expect(list.out).not.toContain(key);
    expect(JSON.parse(list.out)).toEqual([expect.objectContaining({ id, role: 'viewer', status: 'active', fingerprint: hashKey(key).slice(0, 8) })]);
    const wrong = await run('revoke', key);
    expect(wrong.code).toBe(2);
    expect(wrong.err).not.toContain(key);
    expect((await run('revoke', id)).code).toBe(0);
    expect(JSON.parse((await run('list', '--json')).out)[0].status).toBe('revoked');
    expect((await run('revoke', 'adm_0000000000000000')).code).toBe(1);
    const audit = await new FileAdminStore(data.dir).listAudit(10);
    expect(audit.map((a) => a.action)).toEqual(['admin_key.revoke', 'admin_key.create']);
  });

  it.each([[['create']], [['create', '--role', 'root']], [['create', '--role', 'admin', '--org', 'a b']], [['frobnicate']]])('%j is a usage error', async (args) => {
    expect((await run(...args)).code).toBe(2);
  });
});
