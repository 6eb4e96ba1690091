/** sluice proxies create: gemini, vertex, azure-openai defaults and per-request upstream selection options. */
import { describe, expect, it } from 'vitest';
import { runProxiesCommand } from '../../../bin/commands/proxies.js';
import { storeCommandHarness } from './support.js';

const NOW = new Date('2026-04-01T12:00:00.000Z');
const cli = storeCommandHarness(runProxiesCommand, NOW);
const { run } = cli;

describe('provider defaults', () => {
  it('gemini: the Generative Language API v1beta', async () => {
    const r = await run('create', 'gem', '--provider', 'gemini', '--credential', 'env:GEMINI_API_KEY');
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(await cli.reader.getProxy('gem')).toMatchObject({ provider: 'gemini', baseUrl: 'https://generativelanguage.googleapis.com/v1beta', credentialRef: 'env:GEMINI_API_KEY' });
  });

  it('vertex: base URL from the location (global has no region prefix), project and location stored', async () => {
    expect((await run('create', 'vx', '--provider', 'vertex', '--gcp-project', 'acme-ml-prod', '--gcp-location', 'europe-west4', '--credential', 'secret:sluice/gcp-sa')).code).toBe(0);
    expect(await cli.reader.getProxy('vx')).toMatchObject({ provider: 'vertex', baseUrl: 'https://europe-west4-aiplatform.googleapis.com/v1', gcp: { project: 'acme-ml-prod', location: 'europe-west4' } });
    expect((await run('create', 'vg', '--provider', 'vertex', '--gcp-project', 'acme-ml-prod', '--gcp-location', 'global', '--byok')).code).toBe(0);
    expect((await cli.reader.getProxy('vg'))?.baseUrl).toBe('https://aiplatform.googleapis.com/v1');
  });

  it('vertex: --credential gcp-wif:<audience>[,service-account=…] (workload identity federation), refused elsewhere and when malformed', async () => {
    const audience = '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/aws-pool/providers/aws-prov';
    const ref = `gcp-wif:${audience},service-account=vertex-caller@acme-ml-prod.iam.gserviceaccount.com`;
    expect((await run('create', 'vw', '--provider', 'vertex', '--gcp-project', 'acme-ml-prod', '--gcp-location', 'us-east5', '--credential', ref)).code).toBe(0);
    expect((await cli.reader.getProxy('vw'))?.credentialRef).toBe(ref);
    const other = await run('create', 'ow', '--provider', 'openai', '--credential', `gcp-wif:${audience}`);
    expect(other.code).not.toBe(0);
    expect(other.err).toContain('is for --provider vertex');
    const bad = await run('create', 'bw', '--provider', 'vertex', '--gcp-project', 'acme-ml-prod', '--gcp-location', 'us-east5', '--credential', 'gcp-wif://evil.example/pool');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain('workloadIdentityPools');
  });

  it('azure-openai: base URL from the resource, api-version stored when given', async () => {
    const r = await run('create', 'az', '--provider', 'azure-openai', '--azure-resource', 'contoso-eu', '--azure-api-version', '2025-04-01-preview', '--credential', 'secret:sluice/azure');
    expect(r.code).toBe(0);
    expect(r.out).toContain('azure-openai → https://contoso-eu.openai.azure.com/openai');
    expect(await cli.reader.getProxy('az')).toMatchObject({ provider: 'azure-openai', baseUrl: 'https://contoso-eu.openai.azure.com/openai', azure: { apiVersion: '2025-04-01-preview' } });
    expect((await run('create', 'az2', '--provider', 'azure-openai', '--base-url', 'https://contoso.openai.azure.com/openai/')).code).toBe(0);
    expect(await cli.reader.getProxy('az2')).not.toHaveProperty('azure');
  });

  it('show lists the Azure, GCP and selection settings', async () => {
    await run('create', 'az', '--provider', 'azure-openai', '--azure-resource', 'contoso', '--azure-api-version', '2024-10-21', '--upstream-selection', '--upstream', 'or=openrouter,https://openrouter.ai/api/v1,secret:sluice/or');
    const r = await run('show', 'az');
    expect(r.out).toMatch(/azure api:\s+2024-10-21/);
    expect(r.out).toMatch(/selection:\s+X-Sluice-Upstream allowed \(or, azure, bedrock, openrouter, vertex, https URLs\)/);
    expect(r.out).toContain('openrouter → https://openrouter.ai/api/v1 (secret:sluice/or)');
    await run('create', 'plain', '--provider', 'openai');
    expect((await run('show', 'plain')).out).toMatch(/selection:\s+refused/);
  });
});

describe('upstream selection options', () => {
  it('--upstream-selection with named upstreams of every kind', async () => {
    const r = await run(
      'create', 'multi', '--provider', 'openai', '--credential', 'env:OPENAI_API_KEY', '--upstream-selection',
      '--upstream', 'azure-eu=azure-openai,https://contoso-eu.openai.azure.com/openai,secret:sluice/azure-eu,api-version=2024-10-21',
      '--upstream', 'vertex-us=vertex,https://us-central1-aiplatform.googleapis.com/v1,secret:sluice/gcp-sa,project=acme-ml-prod,location=us-central1',
      '--upstream', 'openrouter=openrouter,https://openrouter.ai/api/v1',
      '--upstream', 'lab=vllm,http://10.0.3.4:8000/v1,private-network',
    );
    expect(r).toMatchObject({ code: 0, err: '' });
    const proxy = await cli.reader.getProxy('multi');
    expect(proxy?.upstreamSelection).toBe(true);
    expect(proxy?.upstreams).toEqual({
      'azure-eu': { provider: 'azure-openai', baseUrl: 'https://contoso-eu.openai.azure.com/openai', credentialRef: 'secret:sluice/azure-eu', azure: { apiVersion: '2024-10-21' } },
      'vertex-us': { provider: 'vertex', baseUrl: 'https://us-central1-aiplatform.googleapis.com/v1', credentialRef: 'secret:sluice/gcp-sa', gcp: { project: 'acme-ml-prod', location: 'us-central1' } },
      openrouter: { provider: 'openrouter', baseUrl: 'https://openrouter.ai/api/v1' },
      lab: { provider: 'vllm', baseUrl: 'http://10.0.3.4:8000/v1', allowPrivateNetwork: true },
    });
  });

  it('selection alone (aliases and URLs only) is stored; without it there is no upstreamSelection field', async () => {
    expect((await run('create', 'sel', '--provider', 'openai', '--byok', '--upstream-selection')).code).toBe(0);
    expect((await cli.reader.getProxy('sel'))?.upstreamSelection).toBe(true);
    expect((await run('create', 'nosel', '--provider', 'openai', '--byok')).code).toBe(0);
    expect(await cli.reader.getProxy('nosel')).not.toHaveProperty('upstreamSelection');
  });

  const usageErrors: [string, string[], RegExp][] = [
    ['azure without resource or URL', ['create', 'p', '--provider', 'azure-openai'], /missing --base-url or --azure-resource/],
    ['azure resource and base URL', ['create', 'p', '--provider', 'azure-openai', '--azure-resource', 'abc', '--base-url', 'https://abc.openai.azure.com/openai'], /not both/],
    ['bad azure resource', ['create', 'p', '--provider', 'azure-openai', '--azure-resource', 'Contoso.evil'], /invalid --azure-resource/],
    ['bad api-version', ['create', 'p', '--provider', 'azure-openai', '--azure-resource', 'abc', '--azure-api-version', 'latest'], /invalid --azure-api-version/],
    ['azure option on openai', ['create', 'p', '--provider', 'openai', '--azure-api-version', '2024-10-21'], /for --provider azure-openai/],
    ['vertex without project', ['create', 'p', '--provider', 'vertex', '--gcp-location', 'us-central1'], /needs --gcp-project and --gcp-location/],
    ['bad gcp project', ['create', 'p', '--provider', 'vertex', '--gcp-project', 'Acme', '--gcp-location', 'us-central1'], /invalid --gcp-project/],
    ['bad gcp location', ['create', 'p', '--provider', 'vertex', '--gcp-project', 'acme-ml', '--gcp-location', 'us central1'], /invalid --gcp-location/],
    ['gcp option on gemini', ['create', 'p', '--provider', 'gemini', '--gcp-project', 'acme-ml'], /for --provider vertex/],
    ['upstream without selection', ['create', 'p', '--provider', 'openai', '--upstream', 'x=openai,https://api.openai.com/v1'], /needs --upstream-selection/],
    ['upstream without =', ['create', 'p', '--provider', 'openai', '--upstream-selection', '--upstream', 'openai,https://api.openai.com/v1'], /name=provider,baseUrl/],
    ['upstream without URL', ['create', 'p', '--provider', 'openai', '--upstream-selection', '--upstream', 'x=openai'], /name=provider,baseUrl/],
    ['upstream bad name', ['create', 'p', '--provider', 'openai', '--upstream-selection', '--upstream', 'X Y=openai,https://api.openai.com/v1'], /invalid --upstream name/],
    ['upstream twice', ['create', 'p', '--provider', 'openai', '--upstream-selection', '--upstream', 'x=openai,https://api.openai.com/v1', '--upstream', 'x=groq,https://api.groq.com/openai/v1'], /given twice/],
    ['upstream unknown provider', ['create', 'p', '--provider', 'openai', '--upstream-selection', '--upstream', 'x=azure,https://a.example/v1'], /unknown provider 'azure'/],
    ['upstream plain http', ['create', 'p', '--provider', 'openai', '--upstream-selection', '--upstream', 'x=vllm,http://10.0.0.1/v1'], /must use https/],
    ['upstream unknown part', ['create', 'p', '--provider', 'openai', '--upstream-selection', '--upstream', 'x=openai,https://a.example/v1,fast'], /unknown part/],
    ['upstream vertex without project', ['create', 'p', '--provider', 'openai', '--upstream-selection', '--upstream', 'v=vertex,https://aiplatform.googleapis.com/v1'], /needs project= and location=/],
    ['upstream api-version on openai', ['create', 'p', '--provider', 'openai', '--upstream-selection', '--upstream', 'x=openai,https://a.example/v1,api-version=2024-10-21'], /is for azure-openai/],
  ];
  for (const [name, argv, message] of usageErrors) {
    it(`exits 2 on ${name}`, async () => {
      const r = await run(...argv);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
      expect(await cli.reader.listProxies()).toEqual([]);
    });
  }

  it('never echoes a key pasted as an upstream credential or a URL password', async () => {
    const pasted = await run('create', 'p', '--provider', 'openai', '--upstream-selection', '--upstream', 'x=openai,https://a.example/v1,env:sk-SECRETSECRET!');
    expect(pasted.code).toBe(2);
    expect(pasted.err).not.toContain('SECRETSECRET');
    const inUrl = await run('create', 'p', '--provider', 'openai', '--upstream-selection', '--upstream', 'x=openai,https://u:hunter2pass@a.example/v1');
    expect(inUrl.code).toBe(2);
    expect(inUrl.err).not.toContain('hunter2pass');
  });
});
