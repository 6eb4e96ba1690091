/** selectUpstream: the target each X-Sluice-Upstream choice produces (pure, with the real SSRF guard). */
import { describe, expect, it } from 'vitest';
import { selectUpstream, describeTarget } from '../../functions/gateway/upstream-selection.js';
import { parseSluiceHeaders } from '../../functions/gateway/request-headers.js';
import { GatewayError } from '../../functions/upstream/errors.js';
import { createUpstreamGuard } from '../../functions/net/index.js';
import type { ProxyConfig } from '../../functions/stores/types.js';

const guard = createUpstreamGuard({ resolve: async (h) => (h === 'llm.example.com' ? [{ address: '93.184.216.34', family: 4 }] : [{ address: '10.0.0.1', family: 4 }]) });
const deps = { upstreamGuard: guard };
const proxy: ProxyConfig = {
  id: 'p',
  orgId: 'o',
  name: 'p',
  provider: 'azure-openai',
  baseUrl: 'https://home.openai.azure.com/openai',
  credentialRef: 'env:HOME',
  byok: false,
  allowPrivateNetwork: false,
  createdAt: '2026-01-01T00:00:00Z',
  azure: { apiVersion: '2024-06-01' },
  upstreamSelection: true,
  upstreams: {
    'vertex-eu': { provider: 'vertex', baseUrl: 'https://europe-west4-aiplatform.googleapis.com/v1', credentialRef: 'secret:sa', gcp: { project: 'acme-eu', location: 'europe-west4' } },
    vertex: { provider: 'openai-compatible', baseUrl: 'https://shadow.example.com/v1' },
  },
};
const select = (headers: Record<string, string>, credential?: string, p: ProxyConfig = proxy) => selectUpstream(deps, p, parseSluiceHeaders(headers), credential);

async function refusal(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('expected a GatewayError');
}

describe('selectUpstream', () => {
  it('no selection headers: the proxy own upstream, even where selection is not allowed', async () => {
    expect(await select({}, undefined, { ...proxy, upstreamSelection: false })).toEqual({ provider: 'azure-openai', baseUrl: 'https://home.openai.azure.com/openai', credentialRef: 'env:HOME', allowPrivateNetwork: false, azure: { apiVersion: '2024-06-01' }, via: 'proxy' });
  });

  it('deployment and api-version headers adjust the proxy own Azure upstream', async () => {
    const t = await select({ 'x-sluice-azure-deployment': 'prod-4o', 'x-sluice-azure-api-version': '2025-04-01-preview' });
    expect(t.via).toBe('proxy');
    expect(t.azure).toEqual({ apiVersion: '2025-04-01-preview', deployment: 'prod-4o' });
  });

  it('vertex alias: a Vertex target for the location, the project, and the caller OAuth token', async () => {
    const p = { ...proxy, upstreams: {} };
    const t = await select({ 'x-sluice-upstream': 'vertex', 'x-sluice-gcp-project': 'acme-ml-prod', 'x-sluice-gcp-location': 'us-east5' }, 'ya29.token', p);
    expect(t).toEqual({ provider: 'vertex', baseUrl: 'https://us-east5-aiplatform.googleapis.com/v1', callerCredential: 'ya29.token', allowPrivateNetwork: false, gcp: { project: 'acme-ml-prod', location: 'us-east5' }, via: 'alias', name: 'vertex' });
    const global = await select({ 'x-sluice-upstream': 'vertex', 'x-sluice-gcp-project': 'acme-ml-prod', 'x-sluice-gcp-location': 'global' }, 'ya29.token', p);
    expect(global.baseUrl).toBe('https://aiplatform.googleapis.com/v1');
  });

  it('vertex alias needs project and location', async () => {
    const p = { ...proxy, upstreams: {} };
    const e = await refusal(select({ 'x-sluice-upstream': 'vertex', 'x-sluice-gcp-project': 'acme-ml-prod' }, 'ya29.token', p));
    expect([e.status, e.param]).toEqual([400, 'x-sluice-gcp-location']);
  });

  it('a named upstream shadows the alias of the same name; a named Vertex upstream keeps its own settings and credential', async () => {
    const shadow = await select({ 'x-sluice-upstream': 'vertex' }, 'caller');
    expect([shadow.provider, shadow.baseUrl, shadow.via, shadow.callerCredential]).toEqual(['openai-compatible', 'https://shadow.example.com/v1', 'named', 'caller']);
    const named = await select({ 'x-sluice-upstream': 'vertex-eu' }, 'caller');
    expect(named).toEqual({ provider: 'vertex', baseUrl: 'https://europe-west4-aiplatform.googleapis.com/v1', credentialRef: 'secret:sa', allowPrivateNetwork: false, gcp: { project: 'acme-eu', location: 'europe-west4' }, via: 'named', name: 'vertex-eu' });
  });

  it('inherited object keys are not named upstreams', async () => {
    const e = await refusal(select({ 'x-sluice-upstream': 'constructor' }, 'caller'));
    expect([e.status, e.code]).toEqual([400, 'unknown_upstream']);
  });

  it('the GCP headers apply only to the vertex alias, the resource only to the azure alias', async () => {
    expect((await refusal(select({ 'x-sluice-upstream': 'vertex-eu', 'x-sluice-gcp-location': 'us-east5' }, 'c'))).param).toBe('x-sluice-gcp-location');
    expect((await refusal(select({ 'x-sluice-azure-resource': 'other' }, 'c'))).param).toBe('x-sluice-azure-resource');
  });

  it('URLs: public https allowed as openai-compatible; private refused with 403', async () => {
    const t = await select({ 'x-sluice-upstream': 'https://llm.example.com/v1' }, 'c');
    expect(t).toEqual({ provider: 'openai-compatible', baseUrl: 'https://llm.example.com/v1', callerCredential: 'c', allowPrivateNetwork: false, via: 'url' });
    const e = await refusal(select({ 'x-sluice-upstream': 'https://intranet.example.com/v1' }, 'c'));
    expect([e.status, e.code]).toEqual([403, 'upstream_blocked']);
    expect(e.message).not.toContain('10.0.0.1');
  });

  it('describeTarget never carries the credential', () => {
    const d = describeTarget({ provider: 'openrouter', baseUrl: 'https://openrouter.ai/api/v1', callerCredential: 'sk-secret', allowPrivateNetwork: false, via: 'alias', name: 'openrouter' });
    expect(d).toEqual({ via: 'alias', name: 'openrouter', provider: 'openrouter', host: 'openrouter.ai', credential: 'caller' });
    expect(JSON.stringify(d)).not.toContain('sk-secret');
  });
});

describe('selection header formats', () => {
  it.each([
    ['x-sluice-azure-resource', 'contoso-eu-01', 'azureResource'],
    ['x-sluice-azure-deployment', 'gpt-4o.prod_2', 'azureDeployment'],
    ['x-sluice-azure-api-version', '2025-04-01-preview', 'azureApiVersion'],
    ['x-sluice-gcp-project', 'acme-ml-prod', 'gcpProject'],
    ['x-sluice-gcp-location', 'northamerica-northeast1', 'gcpLocation'],
    ['x-sluice-gcp-location', 'global', 'gcpLocation'],
  ])('%s: %s accepted', (name, value, field) => {
    expect(parseSluiceHeaders({ [name]: ` ${value} ` })).toEqual({ properties: {}, [field]: value });
  });

  it.each([
    ['x-sluice-azure-resource', 'Contoso'],
    ['x-sluice-azure-resource', 'q'],
    ['x-sluice-azure-resource', 'x'.repeat(65)],
    ['x-sluice-azure-resource', 'evil.com/'],
    ['x-sluice-azure-deployment', '-lead'],
    ['x-sluice-azure-deployment', 'a/b'],
    ['x-sluice-azure-deployment', 'd'.repeat(65)],
    ['x-sluice-azure-api-version', '2024-10-21-beta'],
    ['x-sluice-azure-api-version', 'latest'],
    ['x-sluice-azure-api-version', '2024-10-21, 2024-06-01'],
    ['x-sluice-gcp-project', 'Acme'],
    ['x-sluice-gcp-project', '1acme-ml'],
    ['x-sluice-gcp-project', 'acme-'],
    ['x-sluice-gcp-location', 'US-CENTRAL1'],
    ['x-sluice-gcp-location', 'us-central1/../x'],
  ])('%s: %s refused without echoing it', (name, value) => {
    let err: unknown;
    try {
      parseSluiceHeaders({ [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GatewayError);
    const e = err as GatewayError;
    expect([e.status, e.code, e.param]).toEqual([400, 'invalid_header', name]);
    expect(e.message).not.toContain(value);
  });
});

describe('X-Sluice-Upstream: bedrock (the caller\'s own AWS credentials)', () => {
  const aws = { 'x-sluice-aws-access-key-id': 'AKIAEXAMPLEKEY000001', 'x-sluice-aws-secret-access-key': 'exampleSecretKeyForUnitTests00000000000A', 'x-sluice-aws-region': 'eu-north-1' };
  const selectAws = (headers: Record<string, string>) => {
    const parsed = parseSluiceHeaders(headers);
    return selectUpstream(deps, proxy, parsed, undefined, parsed.callerAws);
  };

  it("goes to the Bedrock host of the caller's Region, signed with the caller's keys", async () => {
    const target = await selectAws({ 'x-sluice-upstream': 'bedrock', ...aws });
    expect(target).toMatchObject({ provider: 'bedrock', baseUrl: 'https://bedrock-runtime.eu-north-1.amazonaws.com', via: 'alias', name: 'bedrock', allowPrivateNetwork: false });
    expect(target.callerAws?.accessKeyId).toBe('AKIAEXAMPLEKEY000001');
    expect(target.credentialRef).toBeUndefined();
    expect(describeTarget(target)).toMatchObject({ credential: 'caller', host: 'bedrock-runtime.eu-north-1.amazonaws.com' });
    expect(JSON.stringify(describeTarget(target))).not.toContain('AKIA');
  });

  it('without the credentials: 401 missing_provider_credentials', async () => {
    const err = await refusal(selectAws({ 'x-sluice-upstream': 'bedrock' }));
    expect([err.status, err.code]).toEqual([401, 'missing_provider_credentials']);
  });

  it('caller AWS credentials with a non-Bedrock choice: 400, they are not forwarded anywhere else', async () => {
    const err = await refusal(selectAws({ 'x-sluice-upstream': 'vertex-eu', ...aws }));
    expect([err.status, err.code]).toEqual([400, 'invalid_header']);
  });
});
