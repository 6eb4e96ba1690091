/**
 * Per-request upstream selection (`X-Sluice-Upstream` and the Azure/GCP headers) through
 * the gateway with the official `openai` SDK: refused where the proxy does not allow it,
 * named upstreams with their own credential, the built-in aliases and https URLs with the
 * caller's credential, the SSRF matrix for request-given URLs, and a trace that records the
 * choice but never the credential.
 *
 * Public hosts (openrouter.ai, <resource>.openai.azure.com, api.public-llm.test) are decided
 * by the production SSRF guard with a resolver answering public addresses; only after the
 * guard allowed them does test/support/stand-in-guard.ts send the call to a local upstream.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAzureUpstream, type AzureUpstream } from '../support/azure-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { apiErrorOf } from '../support/api-error.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { standInGuard, type StandInGuard } from '../support/stand-in-guard.js';
import { startVertexUpstream, VERTEX_TEST_LOCATION, VERTEX_TEST_PROJECT, type VertexUpstream } from '../support/vertex-upstream.js';
import { pollFor } from '../support/traces.js';

const AZURE_KEY = 'azure-caller-key-7f3e9a1b2c4d';
const CALLER_KEY = 'sk-or-caller-credential-5b8c1d2e3f4a';
const NAMED_KEY = 'sk-named-configured-9a8b7c6d5e4f';

let openai: OpenAIUpstream;
let azure: AzureUpstream;
let vertex: VertexUpstream;
const CALLER_OAUTH = 'ya29.caller-oauth-token-c0ffee12';
let guard: StandInGuard;
let gw: TestGateway;
const keys: Record<string, string> = {};

beforeAll(async () => {
  openai = await startOpenAIUpstream();
  vertex = await startVertexUpstream();
  vertex.acceptToken(CALLER_OAUTH);
  azure = await startAzureUpstream({ apiKey: AZURE_KEY, deployments: { 'gpt-4o-mini': 'gpt-4o-mini-2024-07-18', 'chat-deploy': 'gpt-4o-2024-11-20' } });
  const pub = (address: string) => [{ address, family: 4 as const }];
  guard = standInGuard(
    {
      'openrouter.ai': pub('104.18.3.115'),
      'contoso.openai.azure.com': pub('20.61.1.1'),
      'api.public-llm.test': pub('93.184.216.34'),
      [`${VERTEX_TEST_LOCATION}-aiplatform.googleapis.com`]: pub('142.250.1.95'),
      // What the OS answers for localhost, and names that resolve inside the network.
      localhost: pub('127.0.0.1'),
      'internal.corp.test': pub('10.0.0.5'),
      'metadata-alias.test': pub('169.254.169.254'),
      'v6-internal.test': [{ address: 'fd12:3456::1', family: 6 }],
      'half-private.test': [...pub('93.184.216.35'), ...pub('192.168.0.10')],
    },
    { 'openrouter.ai': openai.url, 'contoso.openai.azure.com': `${azure.url}/openai`, 'api.public-llm.test': openai.url, [`${VERTEX_TEST_LOCATION}-aiplatform.googleapis.com`]: vertex.url },
  );
  gw = await startTestGateway({ upstreamUrl: openai.url, env: { AZURE_KEY, NAMED_KEY }, deps: { upstreamGuard: guard } });
  keys.test = gw.key;
  await gw.addProxy({
    id: 'sel',
    upstreamSelection: true,
    upstreams: { 'azure-eu': { provider: 'azure-openai', baseUrl: `${azure.url}/openai`, credentialRef: 'env:AZURE_KEY', allowPrivateNetwork: true } },
  });
  keys.sel = (await gw.addKey({ proxyId: 'sel' })).key;
  await gw.addProxy({
    id: 'sel-named',
    upstreamSelection: true,
    // A named upstream that shadows the built-in `openrouter` alias, with its own credential.
    upstreams: { openrouter: { provider: 'openrouter', baseUrl: openai.url, credentialRef: 'env:NAMED_KEY', allowPrivateNetwork: true }, byo: { provider: 'openai-compatible', baseUrl: openai.url, allowPrivateNetwork: true } },
  });
  keys['sel-named'] = (await gw.addKey({ proxyId: 'sel-named' })).key;
});
afterAll(async () => {
  await gw?.close();
  await openai?.close();
  await azure?.close();
  await vertex?.close();
});
beforeEach(() => {
  openai.reset();
  azure.reset();
  vertex.reset();
  guard.checks.splice(0);
});

/** An SDK client on a proxy; with `providerKey`, BYOK style (gateway key in X-Sluice-Key). */
function sdk(proxy: string, headers: Record<string, string>, providerKey?: string): OpenAI {
  const gatewayKey = keys[proxy]!;
  return new OpenAI({
    baseURL: `${gw.url}/a/${proxy}/openai/v1`,
    apiKey: providerKey ?? gatewayKey,
    defaultHeaders: providerKey ? { 'X-Sluice-Key': gatewayKey, ...headers } : headers,
    maxRetries: 0,
  });
}

const chat = (client: OpenAI, content = 'hello') => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }).withResponse();

/** Every JSONL trace line written under the gateway's data dir. */
async function traceLines(): Promise<string[]> {
  const dir = join(gw.dataDir, 'traces');
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.jsonl'));
  const lines: string[] = [];
  for (const f of files) lines.push(...(await readFile(join(dir, f), 'utf8')).split('\n').filter(Boolean));
  return lines;
}

async function traceOf(traceId: string): Promise<{ line: string; record: { attributes: Record<string, unknown> } }> {
  const line = await pollFor(async () => (await traceLines()).find((l) => l.includes(traceId)), { tries: 200, everyMs: 20 });
  if (line === undefined) throw new Error(`trace ${traceId} was not written`);
  return { line, record: JSON.parse(line) as { attributes: Record<string, unknown> } };
}

describe('a proxy without upstream selection', () => {
  const headers: [string, string][] = [
    ['X-Sluice-Upstream', 'openrouter'],
    ['X-Sluice-Upstream', 'https://api.public-llm.test/v1'],
    ['X-Sluice-Azure-Resource', 'contoso'],
    ['X-Sluice-Azure-Deployment', 'chat-deploy'],
    ['X-Sluice-Azure-Api-Version', '2024-10-21'],
    ['X-Sluice-GCP-Project', 'acme-ml-prod'],
    ['X-Sluice-GCP-Location', 'us-central1'],
  ];
  it.each(headers)('%s is refused with 403 and nothing reaches any upstream', async (name, value) => {
    for (const providerKey of [undefined, CALLER_KEY]) {
      const err = await apiErrorOf(chat(sdk('test', { [name]: value }, providerKey)));
      expect(err.status).toBe(403);
      expect(err.code).toBe('upstream_selection_forbidden');
      expect(err.message).not.toContain(value);
    }
    expect(openai.requests).toHaveLength(0);
    expect(azure.requests).toHaveLength(0);
    expect(guard.checks.filter((c) => !c.url.startsWith('http://127.0.0.1'))).toEqual([]);
  });

  it('without the headers it serves the proxy own upstream', async () => {
    const { data } = await chat(sdk('test', {}));
    expect(data.choices[0]!.message.content).toBeTruthy();
    expect(openai.requests).toHaveLength(1);
  });
});

describe('selection where the proxy allows it', () => {
  it('a named upstream uses its configured credential (Azure, deployment and api-version from the headers)', async () => {
    const { data } = await chat(sdk('sel', { 'X-Sluice-Upstream': 'azure-eu', 'X-Sluice-Azure-Deployment': 'chat-deploy', 'X-Sluice-Azure-Api-Version': '2025-01-01-preview' }), 'named azure');
    expect(data.choices[0]!.message.content).toBe('Azure says: named azure');
    expect(azure.requests).toHaveLength(1);
    expect(azure.requests[0]!.path).toBe('/openai/deployments/chat-deploy/chat/completions');
    expect(azure.requests[0]!.query).toBe('api-version=2025-01-01-preview');
    expect(azure.requests[0]!.headers['api-key']).toBe(AZURE_KEY);
    expect(openai.requests).toHaveLength(0);
  });

  it('a named upstream wins over the built-in alias of the same name and keeps its own credential over the caller one', async () => {
    await chat(sdk('sel-named', { 'X-Sluice-Upstream': 'openrouter' }, CALLER_KEY));
    expect(openai.requests).toHaveLength(1);
    expect(openai.requests[0]!.headers['authorization']).toBe(`Bearer ${NAMED_KEY}`);
    // Not the public openrouter.ai: the named upstream's address was checked.
    expect(guard.checks.map((c) => c.url)).toEqual([openai.url]);
  });

  it('a named upstream without a credential takes the caller one', async () => {
    await chat(sdk('sel-named', { 'X-Sluice-Upstream': 'byo' }, CALLER_KEY));
    expect(openai.requests[0]!.headers['authorization']).toBe(`Bearer ${CALLER_KEY}`);
  });

  it('azure alias: the resource host, deployment = the model, api-version from the header, the caller key as api-key', async () => {
    const { data } = await chat(sdk('sel', { 'X-Sluice-Upstream': 'azure', 'X-Sluice-Azure-Resource': 'contoso', 'X-Sluice-Azure-Api-Version': '2025-01-01-preview' }, AZURE_KEY), 'via alias');
    expect(data.choices[0]!.message.content).toBe('Azure says: via alias');
    expect(guard.checks).toEqual([{ url: 'https://contoso.openai.azure.com/openai', allowPrivateNetwork: false, verdict: 'allowed' }]);
    const req = azure.requests[0]!;
    expect(req.path).toBe('/openai/deployments/gpt-4o-mini/chat/completions');
    expect(req.query).toBe('api-version=2025-01-01-preview');
    expect(req.headers['api-key']).toBe(AZURE_KEY);
    expect(req.headers['authorization']).toBeUndefined();
    expect(openai.requests).toHaveLength(0);
  });

  it('azure alias streams, and an X-Sluice-Azure-Deployment overrides the model as deployment', async () => {
    const stream = await sdk('sel', { 'X-Sluice-Upstream': 'azure', 'X-Sluice-Azure-Resource': 'contoso', 'X-Sluice-Azure-Deployment': 'chat-deploy' }, AZURE_KEY).chat.completions.create({ model: 'anything', messages: [{ role: 'user', content: 'streamed' }], stream: true });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks[0]!.choices).toEqual([]);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Azure says: streamed');
    expect(azure.requests[0]!.path).toBe('/openai/deployments/chat-deploy/chat/completions');
    expect(azure.requests[0]!.query).toBe('api-version=2024-10-21');
  });

  it('azure alias without X-Sluice-Azure-Resource is a 400 naming the header', async () => {
    const err = await apiErrorOf(chat(sdk('sel', { 'X-Sluice-Upstream': 'azure' }, AZURE_KEY)));
    expect(err.status).toBe(400);
    expect(err.param).toBe('x-sluice-azure-resource');
    expect(azure.requests).toHaveLength(0);
  });

  it('openrouter alias: https://openrouter.ai/api/v1 with the caller credential as bearer', async () => {
    const { data } = await chat(sdk('sel', { 'X-Sluice-Upstream': 'openrouter' }, CALLER_KEY));
    expect(data.choices[0]!.message.content).toBeTruthy();
    expect(guard.checks).toEqual([{ url: 'https://openrouter.ai/api/v1', allowPrivateNetwork: false, verdict: 'allowed' }]);
    expect(openai.requests[0]!.path).toBe('/v1/chat/completions');
    expect(openai.requests[0]!.headers['authorization']).toBe(`Bearer ${CALLER_KEY}`);
  });

  it('vertex alias: the location endpoint, the project in the path, the caller OAuth token as bearer (Claude on Vertex)', async () => {
    const client = sdk('sel', { 'X-Sluice-Upstream': 'vertex', 'X-Sluice-GCP-Project': VERTEX_TEST_PROJECT, 'X-Sluice-GCP-Location': VERTEX_TEST_LOCATION }, CALLER_OAUTH);
    const res = await client.chat.completions.create({ model: 'claude-sonnet-4@20250514', messages: [{ role: 'user', content: 'to vertex' }] });
    expect(res.choices[0]!.message.content).toBeTruthy();
    expect(guard.checks).toEqual([{ url: `https://${VERTEX_TEST_LOCATION}-aiplatform.googleapis.com/v1`, allowPrivateNetwork: false, verdict: 'allowed' }]);
    const call = vertex.requests.find((r) => r.url.includes('/publishers/'))!;
    expect(call.url).toBe(`/v1/projects/${VERTEX_TEST_PROJECT}/locations/${VERTEX_TEST_LOCATION}/publishers/anthropic/models/claude-sonnet-4@20250514:rawPredict`);
    expect(call.headers['authorization']).toBe(`Bearer ${CALLER_OAUTH}`);
    // The caller's token is used as is: no token exchange happened.
    expect(vertex.exchanges).toBe(0);
    expect(openai.requests).toHaveLength(0);
  });

  it('vertex alias without the GCP headers is a 400, without the caller token a 401', async () => {
    const noLocation = await apiErrorOf(chat(sdk('sel', { 'X-Sluice-Upstream': 'vertex', 'X-Sluice-GCP-Project': VERTEX_TEST_PROJECT }, CALLER_OAUTH)));
    expect([noLocation.status, noLocation.param]).toEqual([400, 'x-sluice-gcp-location']);
    const noToken = await apiErrorOf(chat(sdk('sel', { 'X-Sluice-Upstream': 'vertex', 'X-Sluice-GCP-Project': VERTEX_TEST_PROJECT, 'X-Sluice-GCP-Location': VERTEX_TEST_LOCATION })));
    expect([noToken.status, noToken.code]).toEqual([401, 'missing_provider_key']);
    expect(vertex.requests).toHaveLength(0);
  });

  it('an https base URL: checked with private networks refused, called with the caller credential', async () => {
    const { data } = await chat(sdk('sel', { 'X-Sluice-Upstream': 'https://api.public-llm.test/v1' }, CALLER_KEY));
    expect(data.choices[0]!.message.content).toBeTruthy();
    expect(guard.checks[0]).toEqual({ url: 'https://api.public-llm.test/v1', allowPrivateNetwork: false, verdict: 'allowed' });
    expect(openai.requests[0]!.headers['authorization']).toBe(`Bearer ${CALLER_KEY}`);
  });

  it.each([['openrouter'], ['azure'], ['https://api.public-llm.test/v1']])('%s without the caller credential is a 401 missing_provider_key', async (upstream) => {
    const err = await apiErrorOf(chat(sdk('sel', { 'X-Sluice-Upstream': upstream, ...(upstream === 'azure' ? { 'X-Sluice-Azure-Resource': 'contoso' } : {}) })));
    expect(err.status).toBe(401);
    expect(err.code).toBe('missing_provider_key');
    expect(openai.requests).toHaveLength(0);
    expect(azure.requests).toHaveLength(0);
  });

  it('an unknown name is a 400 that does not echo it', async () => {
    const err = await apiErrorOf(chat(sdk('sel', { 'X-Sluice-Upstream': 'mystery-upstream' }, CALLER_KEY)));
    expect(err.status).toBe(400);
    expect(err.code).toBe('unknown_upstream');
    expect(err.message).not.toContain('mystery-upstream');
  });

  it.each([
    ['X-Sluice-Azure-Resource', 'Contoso_Bad!'],
    ['X-Sluice-Azure-Deployment', 'bad deployment'],
    ['X-Sluice-Azure-Api-Version', '2024-13'],
    ['X-Sluice-GCP-Project', 'X'],
    ['X-Sluice-GCP-Location', 'us central'],
  ])('a malformed %s is a 400 invalid_header that does not echo the value', async (name, value) => {
    const err = await apiErrorOf(chat(sdk('sel', { 'X-Sluice-Upstream': 'azure', [name]: value }, CALLER_KEY)));
    expect(err.status).toBe(400);
    expect(err.code).toBe('invalid_header');
    expect(err.param).toBe(name.toLowerCase());
    expect(err.message).not.toContain(value);
  });

  it('headers that do not apply to the chosen upstream are a 400', async () => {
    const gcpOnAzure = await apiErrorOf(chat(sdk('sel', { 'X-Sluice-Upstream': 'azure', 'X-Sluice-Azure-Resource': 'contoso', 'X-Sluice-GCP-Project': 'acme-ml-prod' }, AZURE_KEY)));
    expect(gcpOnAzure.status).toBe(400);
    expect(gcpOnAzure.param).toBe('x-sluice-gcp-project');
    const deploymentOnOpenRouter = await apiErrorOf(chat(sdk('sel', { 'X-Sluice-Upstream': 'openrouter', 'X-Sluice-Azure-Deployment': 'chat-deploy' }, CALLER_KEY)));
    expect(deploymentOnOpenRouter.status).toBe(400);
    expect(deploymentOnOpenRouter.param).toBe('x-sluice-azure-deployment');
    expect(openai.requests).toHaveLength(0);
  });

  it('the trace records the choice (via, name, provider, host) and a fingerprint, never the credential', async () => {
    const { response } = await chat(sdk('sel', { 'X-Sluice-Upstream': 'azure', 'X-Sluice-Azure-Resource': 'contoso' }, AZURE_KEY), 'trace me');
    const { line, record } = await traceOf(response.headers.get('x-sluice-trace-id')!);
    expect(record.attributes.upstream).toEqual({ via: 'alias', name: 'azure', provider: 'azure-openai', host: 'contoso.openai.azure.com', credential: 'caller' });
    expect(record.attributes.providerKeyFingerprint).toMatch(/^[0-9a-f]{8}$/);
    expect(line).not.toContain(AZURE_KEY);
    const { response: r2 } = await chat(sdk('sel', { 'X-Sluice-Upstream': 'https://api.public-llm.test/v1' }, CALLER_KEY));
    const second = await traceOf(r2.headers.get('x-sluice-trace-id')!);
    expect(second.record.attributes.upstream).toEqual({ via: 'url', provider: 'openai-compatible', host: 'api.public-llm.test', credential: 'caller' });
    // No trace line anywhere carries a provider credential.
    const all = (await traceLines()).join('\n');
    for (const secret of [AZURE_KEY, CALLER_KEY, NAMED_KEY, CALLER_OAUTH]) expect(all).not.toContain(secret);
  });
});

describe('SSRF matrix for X-Sluice-Upstream URLs (private networks never allowed for request-given URLs)', () => {
  const blocked: [string, string][] = [
    ['https://127.0.0.1/v1', 'loopback'],
    ['https://127.1.2.3:8443/v1', 'loopback'],
    ['https://10.1.2.3/v1', 'private'],
    ['https://172.16.0.1/v1', 'private'],
    ['https://192.168.1.1/v1', 'private'],
    ['https://100.64.0.1/v1', 'shared-address'],
    ['https://[::1]/v1', 'loopback'],
    ['https://[fd00::1]/v1', 'unique-local'],
    ['https://[fe80::1]/v1', 'link-local'],
    ['https://169.254.169.254/latest/meta-data', 'metadata'],
    ['https://169.254.10.10/v1', 'link-local'],
    ['https://[fd00:ec2::254]/v1', 'metadata'],
    ['https://metadata.google.internal/computeMetadata/v1', 'metadata'],
    ['https://[::ffff:127.0.0.1]/v1', 'loopback'],
    ['https://[::ffff:a9fe:a9fe]/v1', 'metadata'],
    ['https://[::ffff:10.0.0.1]/v1', 'private'],
    ['https://2130706433/v1', 'loopback'],
    ['https://0177.0.0.1/v1', 'loopback'],
    ['https://0x7f.0.0.1/v1', 'loopback'],
    ['https://0x7f000001/v1', 'loopback'],
    ['https://0xa9fea9fe/v1', 'metadata'],
    ['https://0251.0376.0251.0376/v1', 'metadata'],
    ['https://0.0.0.0/v1', 'unspecified'],
    ['https://localhost/v1', 'loopback'],
    ['https://internal.corp.test/v1', 'private'],
    ['https://metadata-alias.test/v1', 'metadata'],
    ['https://v6-internal.test/v1', 'unique-local'],
    ['https://half-private.test/v1', 'private'],
    ['http://api.public-llm.test/v1', 'scheme'],
    ['ftp://api.public-llm.test/v1', 'scheme'],
    ['https://user:hunter2@api.public-llm.test/v1', 'userinfo'],
  ];
  it.each(blocked)('%s → 403 upstream_blocked (%s), nothing sent', async (url, reason) => {
    const err = await apiErrorOf(chat(sdk('sel', { 'X-Sluice-Upstream': url }, CALLER_KEY)));
    expect(err.status).toBe(403);
    expect(err.code).toBe('upstream_blocked');
    expect(err.message).not.toContain('hunter2');
    expect(guard.checks).toEqual([{ url, allowPrivateNetwork: false, verdict: reason }]);
    expect(openai.requests).toHaveLength(0);
    expect(azure.requests).toHaveLength(0);
  });

  it.each([['https://exa mple.test/v1'], ['https://'], ['https://[::1/v1'], ['https://api.public-llm.test/v1?x=1'], ['https://api.public-llm.test/v1#f']])('%s → 400 invalid_header, never checked or sent', async (url) => {
    const err = await apiErrorOf(chat(sdk('sel', { 'X-Sluice-Upstream': url }, CALLER_KEY)));
    expect(err.status).toBe(400);
    expect(err.code).toBe('invalid_header');
    expect(openai.requests).toHaveLength(0);
  });

  it('a name DNS does not know → 502 upstream_unresolvable, nothing sent', async () => {
    const err = await apiErrorOf(chat(sdk('sel', { 'X-Sluice-Upstream': 'https://nowhere.public-llm.test/v1' }, CALLER_KEY)));
    expect(err.status).toBe(502);
    expect(err.code).toBe('upstream_unresolvable');
    expect(openai.requests).toHaveLength(0);
  });

  it('a public name is allowed and the call goes through', async () => {
    const { data } = await chat(sdk('sel', { 'X-Sluice-Upstream': 'https://api.public-llm.test/v1' }, CALLER_KEY), 'public');
    expect(data.choices[0]!.message.content).toBeTruthy();
    expect(guard.checks[0]!.verdict).toBe('allowed');
    expect(openai.requests).toHaveLength(1);
  });
});
