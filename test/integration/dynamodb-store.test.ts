import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoControlStore } from '../../functions/stores/dynamodb-store.js';
import { generateGatewayKey } from '../../functions/stores/keys.js';
import { createSluiceTables, localDynamoClient, startDynalite, type RunningDynalite } from '../support/dynalite.js';
import { controlStoreContract } from '../unit/stores/control-store-contract.js';

let dynamo: RunningDynalite;
let client: DynamoDBClient;

beforeAll(async () => {
  dynamo = await startDynalite();
  client = localDynamoClient(dynamo.endpoint);
});
afterAll(async () => {
  client.destroy();
  await dynamo.close();
});

async function freshStore(): Promise<{ store: DynamoControlStore; table: string }> {
  const { controlTable } = await createSluiceTables(client);
  return { store: new DynamoControlStore({ client, tableName: controlTable }), table: controlTable };
}

controlStoreContract('DynamoControlStore on dynalite', async () => {
  const { store } = await freshStore();
  return { store, close: async () => {} };
});

controlStoreContract('DynamoControlStore on dynalite, consistent reads (as the CLI uses it)', async () => {
  const { controlTable } = await createSluiceTables(client);
  return { store: new DynamoControlStore({ client, tableName: controlTable, consistentReads: true }), close: async () => {} };
});

describe('DynamoControlStore item layout', () => {
  it('round-trips a proxy\'s response-cache settings (one JSON attribute)', async () => {
    const { store } = await freshStore();
    const base = { orgId: 'o', name: 'c', provider: 'openai' as const, baseUrl: 'https://api.openai.com/v1', byok: false, allowPrivateNetwork: false, createdAt: '2026-01-01T00:00:00.000Z' };
    await store.putProxy({ ...base, id: 'cached', cache: { ttlSeconds: 600, scope: 'key' } });
    await store.putProxy({ ...base, id: 'uncached' });
    expect((await store.getProxy('cached'))?.cache).toEqual({ ttlSeconds: 600, scope: 'key' });
    expect((await store.getProxy('uncached'))?.cache).toBeUndefined();
  });

  it('keeps a key at pk KEY#<hash> (one GetItem on the auth path) and never the raw key', async () => {
    const { store, table } = await freshStore();
    const generated = generateGatewayKey();
    await store.putKey({ id: generated.id, hash: generated.hash, proxyId: 'p1', orgId: 'o', createdAt: '2026-01-01T00:00:00.000Z' });
    const out = await client.send(
      new GetItemCommand({ TableName: table, Key: { pk: { S: `KEY#${generated.hash}` }, sk: { S: 'KEY' } } }),
    );
    expect(out.Item?.id?.S).toBe(generated.id);
    expect(out.Item?.gsi1pk?.S).toBe('KEYS');
    expect(JSON.stringify(out.Item)).not.toContain(generated.key);
    const reservation = await client.send(
      new GetItemCommand({ TableName: table, Key: { pk: { S: `KEYID#${generated.id}` }, sk: { S: 'KEY' } } }),
    );
    expect(reservation.Item?.hash?.S).toBe(generated.hash);
  });

  it('treats an orphaned id reservation (a crash between the two writes) as no key', async () => {
    const { store, table } = await freshStore();
    const { id, hash } = generateGatewayKey();
    await client.send(
      new PutItemCommand({
        TableName: table,
        Item: { pk: { S: `KEYID#${id}` }, sk: { S: 'KEY' }, type: { S: 'key-id' }, id: { S: id }, hash: { S: hash } },
      }),
    );
    expect(await store.revokeKey(id, '2026-01-01T00:00:00.000Z')).toBe(false);
    expect(await store.getKeyByHash(hash)).toBeUndefined();
    expect(await store.listKeys()).toEqual([]);
  });

  it('pages through long listings', async () => {
    const { store } = await freshStore();
    // ~1.3 KB per proxy × 900 exceeds the 1 MB page size of a Query.
    const longList = Array.from({ length: 60 }, (_, i) => `model-with-a-fairly-long-name-${i}`);
    const ids = Array.from({ length: 900 }, (_, i) => `p${String(i).padStart(4, '0')}`);
    for (let i = 0; i < ids.length; i += 50) {
      await Promise.all(
        ids.slice(i, i + 50).map((id) =>
          store.putProxy({
            id,
            orgId: 'o',
            name: id,
            provider: 'openai',
            baseUrl: 'https://api.openai.com/v1',
            allowedModels: longList,
            byok: false,
            allowPrivateNetwork: false,
            createdAt: '2026-01-01T00:00:00.000Z',
          }),
        ),
      );
    }
    const listed = await store.listProxies();
    expect(listed.map((p) => p.id)).toEqual(ids);
  }, 60_000);
});
