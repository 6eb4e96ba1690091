/**
 * Starts the gateway in-process for tests: the real handler (createGatewayHandler) on
 * the real local runtime, over a fresh file-backed store in a temp directory, with a
 * proxy pointing at a test upstream and a gateway key for it.
 */
import '../../functions/local/awslambda.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGatewayHandler } from '../../functions/gateway/handler.js';
import { depsFromEnv } from '../../functions/gateway/deps.js';
import type { GatewayDeps } from '../../functions/gateway/types.js';
import { startLocalServer } from '../../functions/local/server.js';
import { FileControlStore } from '../../functions/stores/file-store.js';
import { generateGatewayKey } from '../../functions/stores/keys.js';
import type { ApiKeyRecord, ProxyConfig } from '../../functions/stores/types.js';

export interface TestGateway {
  url: string;
  dataDir: string;
  store: FileControlStore;
  /** The default proxy's key. */
  key: string;
  proxy: ProxyConfig;
  /** Creates another key on a proxy (default: the test proxy). */
  addKey(opts?: Partial<ApiKeyRecord>): Promise<{ key: string; record: ApiKeyRecord }>;
  addProxy(proxy: Partial<ProxyConfig> & { id: string }): Promise<ProxyConfig>;
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  upstreamUrl: string;
  proxy?: Partial<ProxyConfig>;
  env?: Record<string, string>;
  deps?: Partial<GatewayDeps>;
  coalesceBytes?: number;
}

export async function startTestGateway(opts: TestGatewayOptions): Promise<TestGateway> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-test-'));
  const store = new FileControlStore({ dataDir });
  const env = { SLUICE_DATA_DIR: dataDir, SLUICE_IDENTITY_SIGNING_KEY: 'test-signing-key', SLUICE_LOG_LEVEL: 'SILENT', ...opts.env };
  const deps: GatewayDeps = { ...depsFromEnv(env), store, ...opts.deps };
  const makeProxy = (p: Partial<ProxyConfig> & { id: string }): ProxyConfig => ({
    orgId: 'org-test',
    name: p.id,
    provider: 'openai-compatible',
    baseUrl: opts.upstreamUrl,
    byok: false,
    allowPrivateNetwork: true,
    createdAt: new Date().toISOString(),
    ...p,
  });
  const addProxy = async (p: Partial<ProxyConfig> & { id: string }) => {
    const proxy = makeProxy(p);
    await store.putProxy(proxy);
    return proxy;
  };
  const proxy = await addProxy({ id: 'test', ...opts.proxy });
  const addKey = async (k: Partial<ApiKeyRecord> = {}) => {
    const { key, id, hash } = generateGatewayKey();
    const record: ApiKeyRecord = { id, hash, proxyId: proxy.id, orgId: proxy.orgId, createdAt: new Date().toISOString(), ...k };
    await store.putKey(record);
    return { key, record };
  };
  const { key } = await addKey();
  const server = await startLocalServer({ handler: createGatewayHandler(deps), ...(opts.coalesceBytes ? { coalesceBytes: opts.coalesceBytes } : {}) });
  return {
    url: server.url,
    dataDir,
    store,
    key,
    proxy,
    addKey,
    addProxy,
    async close() {
      await server.close();
      // Write-behind stores may still be flushing: retry the removal briefly.
      await rm(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    },
  };
}
