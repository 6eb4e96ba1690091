/**
 * Caller AWS credentials, the pure parts: header parsing (closed Region list, values never
 * echoed), the client cache keyed by the whole credential, the target a caller's Region
 * picks, and the policy input that never carries the headers.
 */
import { describe, expect, it } from 'vitest';
import { buildInputDocument } from '../../../functions/governance/input-document.js';
import { callerBedrockTarget, createBedrockClients, MAX_CALLER_CLIENTS } from '../../../functions/providers/bedrock/transport.js';
import { awsCredentialFingerprint, parseCallerAwsHeaders } from '../../../functions/upstream/aws-credentials.js';
import { GatewayError } from '../../../functions/upstream/errors.js';

const base = { 'x-sluice-aws-access-key-id': 'AKIAEXAMPLEKEY000001', 'x-sluice-aws-secret-access-key': 'exampleSecretKeyForUnitTests00000000000A', 'x-sluice-aws-region': 'eu-west-1' };

const refusal = (headers: Record<string, string>) => {
  try {
    parseCallerAwsHeaders(headers);
  } catch (err) {
    return err as GatewayError;
  }
  throw new Error('expected a refusal');
};

describe('parseCallerAwsHeaders', () => {
  it('none of the headers: no caller credentials', () => {
    expect(parseCallerAwsHeaders({ authorization: 'Bearer x' })).toBeUndefined();
  });

  it('a complete set, with and without a session token', () => {
    expect(parseCallerAwsHeaders(base)).toEqual({ accessKeyId: 'AKIAEXAMPLEKEY000001', secretAccessKey: 'exampleSecretKeyForUnitTests00000000000A', region: 'eu-west-1' });
    expect(parseCallerAwsHeaders({ ...base, 'x-sluice-aws-session-token': 'IQoJb3JpZ2luX2VjEFAKETOKEN==' })?.sessionToken).toBe('IQoJb3JpZ2luX2VjEFAKETOKEN==');
  });

  it.each([
    ['x-sluice-aws-access-key-id', { ...base, 'x-sluice-aws-access-key-id': undefined }],
    ['x-sluice-aws-secret-access-key', { ...base, 'x-sluice-aws-secret-access-key': undefined }],
    ['x-sluice-aws-region', { ...base, 'x-sluice-aws-region': undefined }],
  ])('a partial set is a 400 naming %s', (param, headers) => {
    const err = refusal(headers as unknown as Record<string, string>);
    expect(err.status).toBe(400);
    expect(err.code).toBe('invalid_header');
    expect(err.param).toBe(param);
  });

  it.each(['bedrock-runtime.evil.example', 'us-east-1.attacker.net', 'US-EAST-1', 'eu-west-9', 'http://127.0.0.1:9', 'us-east-1, eu-west-1'])('a Region that is not an AWS Region name is refused: %s', (region) => {
    const err = refusal({ ...base, 'x-sluice-aws-region': region });
    expect(err.param).toBe('x-sluice-aws-region');
    expect(err.message).not.toContain(region);
  });

  it('malformed key id, secret or token: 400, the value never in the message', () => {
    for (const [name, value] of [
      ['x-sluice-aws-access-key-id', 'akia lower case'],
      ['x-sluice-aws-secret-access-key', 'has spaces in it and more'],
      ['x-sluice-aws-session-token', 'tok\u0000en-with-nul-000000'],
    ] as const) {
      const err = refusal({ ...base, [name]: value });
      expect(err.param).toBe(name);
      expect(err.message).not.toContain(value);
    }
  });
});

describe('the fingerprint and the client cache', () => {
  it('the fingerprint covers the secret and the token, not only the key id', () => {
    const a = { accessKeyId: 'AKIAEXAMPLEKEY000001', secretAccessKey: 'secretOne00000000000000000000000000000000' };
    expect(awsCredentialFingerprint(a)).toMatch(/^[0-9a-f]{8}$/);
    expect(awsCredentialFingerprint({ ...a, secretAccessKey: 'secretTwo00000000000000000000000000000000' })).not.toBe(awsCredentialFingerprint(a));
    expect(awsCredentialFingerprint({ ...a, sessionToken: 'token000000000000000' })).not.toBe(awsCredentialFingerprint(a));
  });

  it('one client per whole credential set; the role\'s client is a different one; at most MAX_CALLER_CLIENTS are kept', async () => {
    const clients = createBedrockClients('eu-west-1');
    const creds = (secret: string) => ({ accessKeyId: 'AKIAEXAMPLEKEY000001', secretAccessKey: secret, region: 'eu-west-1' });
    const one = await clients.client('eu-west-1', undefined, creds('secretA'));
    expect(await clients.client('eu-west-1', undefined, creds('secretA'))).toBe(one);
    const other = await clients.client('eu-west-1', undefined, creds('secretB'));
    expect(other).not.toBe(one);
    const role = await clients.client('eu-west-1', undefined);
    expect(role).not.toBe(one);
    expect(await (one.config.credentials as () => Promise<{ secretAccessKey: string }>)()).toMatchObject({ secretAccessKey: 'secretA' });
    for (let i = 0; i < MAX_CALLER_CLIENTS; i++) await clients.client('eu-west-1', undefined, creds(`filler${i}`));
    // secretA was the least recently used: evicted, so a new client is built for it.
    expect(await clients.client('eu-west-1', undefined, creds('secretA'))).not.toBe(one);
  });

  it("the caller's Region picks that Region's AWS host; a proxy's own endpoint (VPC, test) is kept and signed for the caller's Region", () => {
    const creds = { accessKeyId: 'AKIAEXAMPLEKEY000001', secretAccessKey: 'x'.repeat(40), region: 'ap-southeast-2' };
    expect(callerBedrockTarget('https://bedrock-runtime.us-east-1.amazonaws.com', creds)).toEqual({ region: 'ap-southeast-2', endpoint: undefined });
    expect(callerBedrockTarget('https://bedrock-runtime.amazonaws.com', creds)).toEqual({ region: 'ap-southeast-2', endpoint: undefined });
    expect(callerBedrockTarget('https://vpce-0abc.bedrock.internal:8443/', creds)).toEqual({ region: 'ap-southeast-2', endpoint: 'https://vpce-0abc.bedrock.internal:8443' });
  });
});

describe('the policy input document', () => {
  it('never carries the X-Sluice-AWS-* headers', () => {
    const doc = buildInputDocument({
      stage: 'request',
      proxy: { id: 'p', name: 'p' },
      org: { id: 'o' },
      key: { id: 'k' },
      endpoint: 'chat.completions',
      ingress: 'openai',
      provider: 'bedrock',
      model: { requested: 'm' },
      body: { messages: [] },
      bodyBytes: 2,
      headers: { ...base, 'x-sluice-aws-session-token': 'token000000000000000', 'user-agent': 'ua' },
      session: { id: 's' },
      properties: {},
      now: new Date(0),
    });
    expect(JSON.stringify(doc)).not.toMatch(/x-sluice-aws|exampleSecret|AKIAEXAMPLE|token0000/);
    expect((doc as { headers: Record<string, string> }).headers).toEqual({ 'user-agent': 'ua' });
  });
});
