/**
 * Vertex AI through workload identity federation: no GCP key anywhere. The proxy's
 * credential is an `external_account` file (what `gcloud iam workload-identity-pools
 * create-cred-config --aws` writes); the gateway signs GetCallerIdentity with its own AWS
 * credentials, exchanges it at GCP's STS and impersonates a service account through IAM
 * Credentials — both the wire-faithful stand-in of test/support/gcp-wif-upstream.ts, which
 * verifies the SigV4 signature — and calls Vertex with the token that comes back.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createUpstreamGuard } from '../../functions/net/index.js';
import { createGoogleTokenSource } from '../../functions/providers/vertex/auth.js';
import { wifConfigFromRef } from '../../functions/providers/vertex/workload-identity.js';
import { TEST_AWS_CREDENTIALS } from '../support/bedrock-upstream.js';
import { handleGeminiModelCall } from '../support/gemini-upstream.js';
import { startWifUpstream, WIF_TEST_AUDIENCE, WIF_TEST_SERVICE_ACCOUNT, type WifUpstream } from '../support/gcp-wif-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { replyTo } from '../support/upstream/content.js';
import { startVertexUpstream, VERTEX_TEST_LOCATION, VERTEX_TEST_PROJECT, type VertexUpstream } from '../support/vertex-upstream.js';

const REGION = 'eu-west-1';
const ROLE = { ...TEST_AWS_CREDENTIALS, sessionToken: 'FwoGZXIvYXdzEFunctionRoleSessionToken000000000000000' };
const traces: string[] = [];

let vertex: VertexUpstream;
let wif: WifUpstream;
let gw: TestGateway;
let direct: string;
let denied: string;

const externalAccount = (opts: { impersonate?: string; audience?: string } = {}) =>
  JSON.stringify({
    type: 'external_account',
    audience: opts.audience ?? WIF_TEST_AUDIENCE,
    subject_token_type: 'urn:ietf:params:aws:token-type:aws4_request',
    token_url: wif.tokenUrl,
    ...(opts.impersonate ? { service_account_impersonation_url: wif.impersonationUrl(opts.impersonate) } : {}),
    credential_source: {
      environment_id: 'aws1',
      region_url: 'http://169.254.169.254/latest/meta-data/placement/availability-zone',
      url: 'http://169.254.169.254/latest/meta-data/iam/security-credentials',
      regional_cred_verification_url: 'https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15',
    },
  });

beforeAll(async () => {
  vertex = await startVertexUpstream({ gemini: handleGeminiModelCall });
  // Only tokens GCP issued through federation are accepted by Vertex.
  wif = await startWifUpstream({ trusted: [ROLE], region: REGION, onToken: (t) => vertex.acceptToken(t) });
  const gcp = { project: VERTEX_TEST_PROJECT, location: VERTEX_TEST_LOCATION };
  gw = await startTestGateway({
    upstreamUrl: vertex.url,
    proxy: { provider: 'vertex', credentialRef: 'env:GCP_WIF_CONFIG', gcp },
    env: { GCP_WIF_CONFIG: externalAccount({ impersonate: WIF_TEST_SERVICE_ACCOUNT }), GCP_WIF_DIRECT: externalAccount(), GCP_WIF_DENIED: externalAccount({ impersonate: 'someone-else@sluice-test-project.iam.gserviceaccount.com' }) },
    deps: {
      traceSink: { write: async (batch: unknown) => void traces.push(JSON.stringify(batch)) },
      // The function's role, as the default credential chain would give it in Lambda.
      googleTokens: createGoogleTokenSource({ guard: createUpstreamGuard(), aws: { credentials: async () => ROLE, region: REGION } }),
    },
  });
  await gw.addProxy({ id: 'direct', provider: 'vertex', credentialRef: 'env:GCP_WIF_DIRECT', gcp });
  direct = (await gw.addKey({ proxyId: 'direct' })).key;
  await gw.addProxy({ id: 'denied', provider: 'vertex', credentialRef: 'env:GCP_WIF_DENIED', gcp });
  denied = (await gw.addKey({ proxyId: 'denied' })).key;
});
afterAll(async () => {
  await gw?.close();
  await wif?.close();
  await vertex?.close();
});
beforeEach(() => wif.reset());

describe('workload identity federation to Vertex AI', () => {
  it('Gemini through the openai SDK: GetCallerIdentity signed by the role → STS → impersonated service account → Vertex', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: gw.key, maxRetries: 0 });
    const out = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Where do rivers start?' }] });
    expect(out.choices[0]!.message.content).toBe(replyTo('Where do rivers start?'));
    expect(wif.requests.map((r) => r.path)).toEqual(['/v1/token', `/v1/projects/-/serviceAccounts/${WIF_TEST_SERVICE_ACCOUNT}:generateAccessToken`]);
    const subject = JSON.parse(decodeURIComponent(new URLSearchParams(wif.requests[0]!.body).get('subject_token')!)) as { headers: { key: string; value: string }[] };
    const headers = Object.fromEntries(subject.headers.map((h) => [h.key.toLowerCase(), h.value]));
    // Only a signature travels: the session token is part of the signed request, the secret never.
    expect(headers['x-amz-security-token']).toBe(ROLE.sessionToken);
    expect(JSON.stringify(wif.requests)).not.toContain(ROLE.secretAccessKey);
    expect(vertex.requests.at(-1)!.headers['authorization']).toMatch(/^Bearer ya29\.impersonated-/);
  });

  it('the token is cached: a second call (Claude through the Anthropic SDK) exchanges nothing', async () => {
    const client = new Anthropic({ baseURL: gw.url, apiKey: gw.key, maxRetries: 0 });
    const msg = await client.messages.create({ model: 'claude-sonnet-4@20250514', max_tokens: 50, messages: [{ role: 'user', content: 'Hello rivers' }] });
    expect(msg.content[0]).toMatchObject({ type: 'text' });
    expect(wif.requests).toHaveLength(0);
  });

  it('without impersonation the federated token is used directly', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: direct, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'gemini-2.5-flash', stream: true, messages: [{ role: 'user', content: 'Name a delta' }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(replyTo('Name a delta'));
    expect(wif.requests.map((r) => r.path)).toEqual(['/v1/token']);
    expect(vertex.requests.at(-1)!.headers['authorization']).toMatch(/^Bearer ya29\.federated-/);
  });

  it('a service account the pool may not impersonate: 502 upstream_auth_failed, no token in the message', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: denied, maxRetries: 0 });
    const err = (await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect([err.status, err.code]).toEqual([502, 'upstream_auth_failed']);
    expect(err.message).toContain('PERMISSION_DENIED');
    expect(err.message).not.toMatch(/ya29\./);
  });

  it('a role GCP does not trust (a wrong secret): STS refuses the signature, 502', async () => {
    const tokens = createGoogleTokenSource({ guard: createUpstreamGuard(), aws: { credentials: async () => ({ ...ROLE, secretAccessKey: 'notTheRoleSecret0000000000000000000000000' }), region: REGION } });
    const err = await tokens.accessToken(externalAccount(), { allowPrivateNetwork: true }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/invalid_grant/);
    expect((err as Error).message).not.toContain('notTheRoleSecret');
  });

  it('no trace carries a token, a signature or the role secret', () => {
    const all = traces.join('\n');
    expect(all.length).toBeGreaterThan(0);
    expect(all).not.toMatch(/ya29\.|AWS4-HMAC-SHA256|Signature=/);
    expect(all).not.toContain(ROLE.secretAccessKey);
    expect(all).not.toContain(ROLE.sessionToken);
  });
});

describe('the gcp-wif: credential reference', () => {
  it("stands for Google's public STS and, with service-account=, IAM Credentials impersonation", () => {
    expect(wifConfigFromRef(`gcp-wif:${WIF_TEST_AUDIENCE}`)).toEqual({ audience: WIF_TEST_AUDIENCE, tokenUrl: 'https://sts.googleapis.com/v1/token', verificationUrl: 'https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15' });
    expect(wifConfigFromRef(`gcp-wif:${WIF_TEST_AUDIENCE},service-account=${WIF_TEST_SERVICE_ACCOUNT}`).impersonationUrl).toBe(`https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${WIF_TEST_SERVICE_ACCOUNT}:generateAccessToken`);
  });

  it.each(['gcp-wif:https://evil.example/token', 'gcp-wif://iam.googleapis.com/projects/x/locations/global/workloadIdentityPools/p/providers/q', `gcp-wif:${WIF_TEST_AUDIENCE},service-account=a@evil.example`, `gcp-wif:${WIF_TEST_AUDIENCE},token-url=http://127.0.0.1`])('refuses %s', (ref) => {
    expect(() => wifConfigFromRef(ref)).toThrow(/workload identity credential/);
  });
});
