// The behaviour every ControlStore implementation must have; run against each one.
import { describe, expect, it } from 'vitest';
import { DuplicateKeyError } from '../../../functions/stores/errors.js';
import { generateGatewayKey } from '../../../functions/stores/keys.js';
import type { ApiKeyRecord, ControlStore, ProxyConfig } from '../../../functions/stores/types.js';

export interface StoreUnderTest {
  store: ControlStore;
  close(): Promise<void>;
}

const fullProxy: ProxyConfig = {
  id: 'openai-prod',
  orgId: 'acme',
  name: 'OpenAI production',
  provider: 'openai',
  baseUrl: 'https://api.openai.com/v1',
  credentialRef: 'env:OPENAI_API_KEY',
  allowedModels: ['gpt-4o-mini', 'gpt-4o'],
  modelAliases: { fast: 'gpt-4o-mini', 'smart.v2': 'gpt-4o' },
  byok: false,
  allowPrivateNetwork: false,
  createdAt: '2026-03-01T10:00:00.000Z',
};

const minimalProxy: ProxyConfig = {
  id: 'vllm_1',
  orgId: 'default',
  name: 'vllm_1',
  provider: 'vllm',
  baseUrl: 'http://10.0.0.5:8000/v1',
  byok: true,
  allowPrivateNetwork: true,
  createdAt: '2026-03-02T10:00:00.000Z',
};

function newKey(proxyId: string, extra: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  const { id, hash } = generateGatewayKey();
  return { id, hash, proxyId, orgId: 'acme', createdAt: new Date().toISOString(), ...extra };
}

export function controlStoreContract(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`${name} (ControlStore contract)`, () => {
    const withStore = (fn: (store: ControlStore) => Promise<void>) => async () => {
      const subject = await open();
      try {
        await fn(subject.store);
      } finally {
        await subject.close();
      }
    };

    it(
      'creates, reads, replaces, lists and deletes proxies, keeping optional fields exactly',
      withStore(async (store) => {
        expect(await store.getProxy('openai-prod')).toBeUndefined();
        expect(await store.listProxies()).toEqual([]);
        await store.putProxy(fullProxy);
        await store.putProxy(minimalProxy);
        expect(await store.getProxy('openai-prod')).toEqual(fullProxy);
        const minimal = await store.getProxy('vllm_1');
        expect(minimal).toEqual(minimalProxy);
        expect(Object.keys(minimal ?? {}).sort()).toEqual(Object.keys(minimalProxy).sort());
        expect((await store.listProxies()).map((p) => p.id).sort()).toEqual(['openai-prod', 'vllm_1']);

        await store.putProxy({ ...fullProxy, name: 'renamed', allowedModels: ['gpt-4o'] });
        expect(await store.getProxy('openai-prod')).toMatchObject({ name: 'renamed', allowedModels: ['gpt-4o'] });
        expect(await store.listProxies()).toHaveLength(2);

        expect(await store.deleteProxy('openai-prod')).toBe(true);
        expect(await store.deleteProxy('openai-prod')).toBe(false);
        expect(await store.getProxy('openai-prod')).toBeUndefined();
        expect((await store.listProxies()).map((p) => p.id)).toEqual(['vllm_1']);
      }),
    );

    it(
      'keeps provider settings and per-request upstreams (Azure, Vertex, named upstreams) exactly',
      withStore(async (store) => {
        const azure: ProxyConfig = {
          ...minimalProxy,
          id: 'azure-eu',
          provider: 'azure-openai',
          baseUrl: 'https://acme-eu.openai.azure.com/openai',
          byok: false,
          allowPrivateNetwork: false,
          azure: { apiVersion: '2024-10-21' },
          upstreamSelection: true,
          upstreams: {
            vertex: { provider: 'vertex', baseUrl: 'https://europe-west4-aiplatform.googleapis.com/v1', credentialRef: 'secret:gcp-sa', gcp: { project: 'acme-ml', location: 'europe-west4' } },
            lab: { provider: 'vllm', baseUrl: 'http://10.1.2.3:8000/v1', allowPrivateNetwork: true },
          },
        };
        const vertex: ProxyConfig = { ...minimalProxy, id: 'vertex-us', provider: 'vertex', baseUrl: 'https://us-central1-aiplatform.googleapis.com/v1', gcp: { project: 'acme-ml', location: 'us-central1' }, upstreamSelection: false };
        await store.putProxy(azure);
        await store.putProxy(vertex);
        expect(await store.getProxy('azure-eu')).toEqual(azure);
        expect(await store.getProxy('vertex-us')).toEqual(vertex);
      }),
    );

    it(
      'returns copies: mutating a result does not change the store',
      withStore(async (store) => {
        await store.putProxy(fullProxy);
        const got = await store.getProxy('openai-prod');
        got?.allowedModels?.push('evil');
        expect((await store.getProxy('openai-prod'))?.allowedModels).toEqual(['gpt-4o-mini', 'gpt-4o']);
      }),
    );

    it(
      'stores keys by hash and finds them in one lookup',
      withStore(async (store) => {
        const k = newKey('openai-prod', { name: 'ci', expiresAt: '2030-01-01T00:00:00.000Z' });
        expect(await store.getKeyByHash(k.hash)).toBeUndefined();
        await store.putKey(k);
        expect(await store.getKeyByHash(k.hash)).toEqual(k);
        const bare = newKey('openai-prod');
        await store.putKey(bare);
        const got = await store.getKeyByHash(bare.hash);
        expect(got).toEqual(bare);
        expect(Object.keys(got ?? {}).sort()).toEqual(Object.keys(bare).sort());
        expect(await store.getKeyByHash(generateGatewayKey().hash)).toBeUndefined();
      }),
    );

    it(
      'refuses a key whose id or hash already exists, and keeps the original',
      withStore(async (store) => {
        const k = newKey('p1', { name: 'original' });
        await store.putKey(k);
        const sameId = { ...newKey('p1'), id: k.id };
        const sameHash = { ...newKey('p2'), hash: k.hash };
        await expect(store.putKey(sameId)).rejects.toMatchObject({ name: 'DuplicateKeyError', field: 'id' });
        await expect(store.putKey(sameHash)).rejects.toBeInstanceOf(DuplicateKeyError);
        await expect(store.putKey(sameHash)).rejects.toMatchObject({ field: 'hash' });
        expect(await store.getKeyByHash(k.hash)).toEqual(k);
        expect(await store.getKeyByHash(sameId.hash)).toBeUndefined();
        expect(await store.listKeys()).toEqual([k]);
        // A failed attempt leaves nothing behind that would block its id later.
        const retry = { ...newKey('p2'), id: sameHash.id };
        await store.putKey(retry);
        expect(await store.getKeyByHash(retry.hash)).toEqual(retry);
      }),
    );

    it(
      'lists keys, all or by proxy',
      withStore(async (store) => {
        const a1 = newKey('a', { createdAt: '2026-01-01T00:00:00.000Z' });
        const a2 = newKey('a', { createdAt: '2026-01-02T00:00:00.000Z' });
        const ab = newKey('a-b', { createdAt: '2026-01-03T00:00:00.000Z' });
        const b = newKey('b', { createdAt: '2026-01-04T00:00:00.000Z' });
        for (const k of [b, a2, ab, a1]) await store.putKey(k);
        expect((await store.listKeys('a')).map((k) => k.id).sort()).toEqual([a1.id, a2.id].sort());
        expect((await store.listKeys('a-b')).map((k) => k.id)).toEqual([ab.id]);
        expect(await store.listKeys('none')).toEqual([]);
        expect((await store.listKeys()).map((k) => k.id).sort()).toEqual([a1.id, a2.id, ab.id, b.id].sort());
      }),
    );

    it(
      'revokes by key id, keeping the first revocation time',
      withStore(async (store) => {
        const k = newKey('p1');
        await store.putKey(k);
        expect(await store.revokeKey(k.id, '2026-05-01T00:00:00.000Z')).toBe(true);
        expect((await store.getKeyByHash(k.hash))?.revokedAt).toBe('2026-05-01T00:00:00.000Z');
        expect(await store.revokeKey(k.id, '2026-06-01T00:00:00.000Z')).toBe(true);
        expect((await store.getKeyByHash(k.hash))?.revokedAt).toBe('2026-05-01T00:00:00.000Z');
        expect((await store.listKeys('p1'))[0]?.revokedAt).toBe('2026-05-01T00:00:00.000Z');
        expect(await store.revokeKey('key_doesnotexist00', '2026-05-01T00:00:00.000Z')).toBe(false);
      }),
    );
  });
}
