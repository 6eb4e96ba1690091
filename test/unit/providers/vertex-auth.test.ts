/** Vertex AI OAuth: service-account JWT → access token, against a local token endpoint that verifies it. */
import { verify } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createUpstreamGuard } from '../../../functions/net/index.js';
import { GatewayError } from '../../../functions/upstream/errors.js';
import { createGoogleTokenSource, parseServiceAccount, postForm, type TokenPoster } from '../../../functions/providers/vertex/auth.js';
import { makeServiceAccount, startVertexUpstream, type ServiceAccount, type VertexUpstream } from '../../support/vertex-upstream.js';

let clock = Date.UTC(2026, 0, 1, 12);
let upstream: VertexUpstream;
let sa: ServiceAccount;
const guard = createUpstreamGuard();
const local = { allowPrivateNetwork: true };

beforeAll(async () => {
  upstream = await startVertexUpstream({ now: () => clock, tokenDelayMs: 20 });
  sa = makeServiceAccount(upstream.tokenUri);
  upstream.addServiceAccount(sa);
});
afterAll(() => upstream.close());
beforeEach(() => {
  upstream.failTokens(undefined);
  upstream.reset();
});

const source = (post?: TokenPoster) => createGoogleTokenSource({ guard, now: () => clock, ...(post ? { post } : {}) });

async function failure(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error('expected a failure');
}

const decode = (segment: string) => JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>;

describe('the assertion', () => {
  it('is an RS256 JWT signed with the account key, kid = private_key_id, the cloud-platform scope, aud = token_uri, one hour', async () => {
    let form: URLSearchParams | undefined;
    let contentHeaderless = '';
    const tokens = source(async (target, body) => {
      contentHeaderless = `${target.url.href}`;
      form = new URLSearchParams(body);
      return { status: 200, body: JSON.stringify({ access_token: 'ya29.x', expires_in: 3599, token_type: 'Bearer' }) };
    });
    expect(await tokens.accessToken(sa.json, local)).toBe('ya29.x');
    expect(contentHeaderless).toBe(upstream.tokenUri);
    expect(form?.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    const [h, c, s] = form!.get('assertion')!.split('.') as [string, string, string];
    expect(decode(h)).toEqual({ alg: 'RS256', typ: 'JWT', kid: sa.keyId });
    const iat = Math.floor(clock / 1000);
    expect(decode(c)).toEqual({ iss: sa.clientEmail, sub: sa.clientEmail, scope: 'https://www.googleapis.com/auth/cloud-platform', aud: upstream.tokenUri, iat, exp: iat + 3600 });
    expect(verify('RSA-SHA256', Buffer.from(`${h}.${c}`), sa.publicKey, Buffer.from(s, 'base64url'))).toBe(true);
  });

  it('is accepted by the token endpoint, which issues a token (form-encoded POST over HTTP)', async () => {
    const token = await source().accessToken(sa.json, local);
    expect(upstream.exchanges).toBeGreaterThan(0);
    expect(upstream.issued).toContain(token);
    const req = upstream.requests.find((r) => r.url === '/token');
    expect(req?.headers['content-type']).toBe('application/x-www-form-urlencoded');
  });

  it('signed with another key is refused by the endpoint: a 502 naming the OAuth error, no secrets', async () => {
    const other = makeServiceAccount(upstream.tokenUri); // same email, key the endpoint does not know
    const forged = JSON.stringify({ ...JSON.parse(other.json), client_email: sa.clientEmail, private_key_id: sa.keyId });
    const err = await failure(source().accessToken(forged, local));
    expect(err.status).toBe(502);
    expect(err.code).toBe('upstream_auth_failed');
    expect(err.message).toContain('invalid_grant');
    expect(err.message).toContain('Invalid JWT Signature');
    expect(err.message).not.toContain('PRIVATE KEY');
    expect(err.message).not.toContain(other.privateKeyPem.split('\n')[1]!);
  });
});

describe('caching', () => {
  it('reuses a token until 5 minutes before it expires, then exchanges again', async () => {
    const tokens = source();
    const before = upstream.exchanges;
    const first = await tokens.accessToken(sa.json, local);
    expect(await tokens.accessToken(sa.json, local)).toBe(first);
    expect(upstream.exchanges).toBe(before + 1);

    clock += 3600_000 - 5 * 60_000 - 1000; // 1 s before the renewal point
    expect(await tokens.accessToken(sa.json, local)).toBe(first);
    expect(upstream.exchanges).toBe(before + 1);

    clock += 2000; // past it
    const second = await tokens.accessToken(sa.json, local);
    expect(second).not.toBe(first);
    expect(upstream.exchanges).toBe(before + 2);
    expect(await tokens.accessToken(sa.json, local)).toBe(second);
  });

  it('50 concurrent first requests make one exchange and all get its token', async () => {
    const tokens = source();
    const before = upstream.exchanges;
    const all = await Promise.all(Array.from({ length: 50 }, () => tokens.accessToken(sa.json, local)));
    expect(upstream.exchanges).toBe(before + 1);
    expect(new Set(all).size).toBe(1);
    expect(upstream.issued[upstream.issued.length - 1]).toBe(all[0]);
  });

  it('forget drops a cached token: the next request exchanges again', async () => {
    const tokens = source();
    const first = await tokens.accessToken(sa.json, local);
    const before = upstream.exchanges;
    tokens.forget('some-other-token');
    expect(await tokens.accessToken(sa.json, local)).toBe(first);
    tokens.forget(first);
    const second = await tokens.accessToken(sa.json, local);
    expect(second).not.toBe(first);
    expect(upstream.exchanges).toBe(before + 1);
  });

  it('keys the cache by account and key: another account gets its own token', async () => {
    const other = makeServiceAccount(upstream.tokenUri, 'second-account');
    upstream.addServiceAccount(other);
    const tokens = source();
    const a = await tokens.accessToken(sa.json, local);
    const b = await tokens.accessToken(other.json, local);
    expect(a).not.toBe(b);
  });

  it('a failed exchange is not cached: the next request tries again', async () => {
    const tokens = source();
    upstream.failTokens({ status: 400, error: 'invalid_grant', description: 'Invalid grant: account not found' });
    const all = await Promise.allSettled(Array.from({ length: 5 }, () => tokens.accessToken(sa.json, local)));
    expect(all.every((r) => r.status === 'rejected')).toBe(true);
    upstream.failTokens(undefined);
    const token = await tokens.accessToken(sa.json, local);
    expect(upstream.issued).toContain(token);
  });
});

describe('token endpoint errors', () => {
  it('{error, error_description} becomes a 502 with both, never the key, assertion or a token', async () => {
    upstream.failTokens({ status: 401, error: 'unauthorized_client', description: 'Client is unauthorized to retrieve access tokens using this method.' });
    const err = await failure(source().accessToken(sa.json, local));
    expect(err.status).toBe(502);
    expect(err.type).toBe('upstream_error');
    expect(err.message).toContain('unauthorized_client: Client is unauthorized');
    expect(err.message).toContain(sa.clientEmail);
    const last = upstream.requests[upstream.requests.length - 1]!;
    expect(err.message).not.toContain(last.form!.get('assertion')!.slice(0, 30));
    expect(err.message).not.toContain('BEGIN PRIVATE KEY');
  });

  it('a description echoing a JWT or a long token is redacted', async () => {
    upstream.failTokens({ status: 400, error: 'invalid_grant', description: 'bad assertion eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl and ya29.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghij' });
    const err = await failure(source().accessToken(sa.json, local));
    expect(err.message).toContain('invalid_grant');
    expect(err.message).not.toContain('eyJhbGciOiJSUzI1NiJ9');
    expect(err.message).not.toContain('AbCdEfGhIjKlMnOpQrStUvWxYz0123456789');
  });

  it('a 200 without access_token, or a non-JSON answer, is a 502', async () => {
    const noToken = await failure(source(async () => ({ status: 200, body: '{"expires_in":3600}' })).accessToken(sa.json, local));
    expect(noToken.code).toBe('upstream_auth_failed');
    const html = await failure(source(async () => ({ status: 503, body: '<html>down</html>' })).accessToken(sa.json, local));
    expect(html.message).toContain('HTTP 503');
  });

  it('an unreachable endpoint is a 502 (connection refused)', async () => {
    const closed = await startVertexUpstream();
    const uri = closed.tokenUri;
    await closed.close();
    const err = await failure(source(postForm).accessToken(JSON.stringify({ ...JSON.parse(sa.json), token_uri: uri }), local));
    expect(err.status).toBe(502);
    expect(err.message).toContain('ECONNREFUSED');
  });
});

describe('the credential and the token_uri', () => {
  it('a credential that is not a service-account key is a 502 that quotes none of it', async () => {
    const cases = ['not json at all sk-secret-value', JSON.stringify({ type: 'authorized_user', refresh_token: '1//secret-refresh' }), JSON.stringify({ type: 'service_account', client_email: 'a@b' })];
    for (const json of cases) {
      const err = await failure(source().accessToken(json, local));
      expect(err.status).toBe(502);
      expect(err.code).toBe('upstream_credential_invalid');
      expect(err.message).not.toContain('secret');
    }
  });

  it('an unusable private_key is a 502 without the key text', async () => {
    const json = JSON.stringify({ ...JSON.parse(sa.json), private_key: '-----BEGIN PRIVATE KEY-----\nnot-a-key-material\n-----END PRIVATE KEY-----\n' });
    const err = await failure(source().accessToken(json, local));
    expect(err.code).toBe('upstream_credential_invalid');
    expect(err.message).not.toContain('not-a-key-material');
  });

  it('defaults token_uri to Google’s', () => {
    const { token_uri: _omitted, ...rest } = JSON.parse(sa.json) as Record<string, unknown>;
    expect(parseServiceAccount(JSON.stringify(rest)).token_uri).toBe('https://oauth2.googleapis.com/token');
  });

  it('passes the SSRF guard: a metadata address is refused, a private one unless the proxy allows it', async () => {
    let posted = 0;
    const tokens = source(async () => {
      posted++;
      return { status: 200, body: '{"access_token":"t","expires_in":3600}' };
    });
    const metadata = await failure(tokens.accessToken(JSON.stringify({ ...JSON.parse(sa.json), token_uri: 'http://169.254.169.254/token' }), local));
    expect(metadata.code).toBe('upstream_blocked');
    const privateNet = await failure(tokens.accessToken(sa.json, { allowPrivateNetwork: false }));
    expect(privateNet.code).toBe('upstream_blocked');
    expect(posted).toBe(0);
  });
});
