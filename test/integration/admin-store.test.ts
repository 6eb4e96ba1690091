/** The admin store contract on both stores: admin.json locally and DynamoDB (dynalite) on the control table. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateAdminKey } from '../../functions/console/admin-keys.js';
import { FileAdminStore, type AdminStore } from '../../functions/console/admin-store.js';
import { DynamoAdminStore } from '../../functions/console/admin-store-dynamodb.js';
import { DynamoControlStore } from '../../functions/stores/dynamodb-store.js';
import { createSluiceTables, localDynamoClient, startDynalite, type RunningDynalite } from '../support/dynalite.js';

let dir: string;
let dynalite: RunningDynalite;
let client: DynamoDBClient;
let table: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-admin-'));
  dynalite = await startDynalite();
  client = localDynamoClient(dynalite.endpoint);
  table = (await createSluiceTables(client)).controlTable;
});
afterAll(async () => {
  client?.destroy();
  await dynalite?.close();
  await rm(dir, { recursive: true, force: true });
});

const stores: [string, () => AdminStore][] = [
  ['file', () => new FileAdminStore(dir)],
  ['dynamodb', () => new DynamoAdminStore(client, table)],
];

describe.each(stores)('the admin store on %s', (name, make) => {
  it('keeps admin keys by hash and id, lists and revokes them, refuses a duplicate', async () => {
    const store = make();
    const { id, hash } = generateAdminKey();
    const record = { id, hash, role: 'viewer' as const, orgId: 'acme', createdAt: new Date().toISOString() };
    await store.putKey(record);
    await expect(store.putKey(record)).rejects.toThrow(/exists/);
    expect(await store.getKeyByHash(hash)).toEqual(record);
    expect(await store.getKey(id)).toEqual(record);
    expect((await store.listKeys()).map((k) => k.id)).toContain(id);
    expect(await store.revokeKey(id, '2026-12-07T00:00:00.000Z')).toBe(true);
    expect((await store.getKey(id))?.revokedAt).toBe('2026-12-07T00:00:00.000Z');
    expect(await store.revokeKey('adm_0000000000000000', 'x')).toBe(false);
    if (name === 'dynamodb') {
      // Its own key space: the gateway-key store never sees an admin key.
      const control = new DynamoControlStore({ client, tableName: table });
      expect(await control.getKeyByHash(hash)).toBeUndefined();
      expect(await control.listKeys()).toEqual([]);
    }
  });

  it('sessions end at their expiry; nonces are taken once', async () => {
    const store = make();
    const now = Date.now();
    const session = { hash: `s-${name}`, adminKeyId: 'adm_x', role: 'admin' as const, csrf: 'c', createdAt: new Date(now).toISOString(), expiresAt: new Date(now + 60_000).toISOString() };
    await store.putSession(session);
    expect(await store.getSession(session.hash, now)).toEqual(session);
    expect(await store.getSession(session.hash, now + 61_000)).toBeUndefined();
    await store.deleteSession(session.hash);
    expect(await store.getSession(session.hash, now)).toBeUndefined();

    await store.putNonce({ hash: `n-${name}`, adminKeyId: 'adm_x', expiresAt: new Date(now + 60_000).toISOString() });
    const taken = await Promise.all([store.takeNonce(`n-${name}`, now), store.takeNonce(`n-${name}`, now)]);
    expect(taken.filter(Boolean)).toHaveLength(1);
    await store.putNonce({ hash: `old-${name}`, adminKeyId: 'adm_x', expiresAt: new Date(now - 1).toISOString() });
    expect(await store.takeNonce(`old-${name}`, now)).toBeUndefined();
  });

  it('the audit log reads newest first', async () => {
    const store = make();
    const t = Date.now();
    await store.audit({ at: new Date(t).toISOString(), actor: 'a', action: 'one', outcome: 'ok' });
    await store.audit({ at: new Date(t + 1).toISOString(), actor: 'a', action: 'two', outcome: 'refused' });
    expect((await store.listAudit(2)).map((e) => e.action)).toEqual(['two', 'one']);
  });
});
