import { createHash } from 'node:crypto';
import { badRequest } from './errors.js';

/**
 * A caller's own AWS credentials for one Bedrock request (DESIGN.md, "Request headers":
 * `X-Sluice-AWS-Access-Key-Id`, `-Secret-Access-Key`, optional `-Session-Token`, `-Region`).
 * Parsed and checked here, held on the request state only: never stored, logged, traced
 * or cached; only {@link awsCredentialFingerprint} is kept.
 */
export interface CallerAwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  region: string;
}

export const AWS_ACCESS_KEY_ID_HEADER = 'x-sluice-aws-access-key-id';
export const AWS_SECRET_ACCESS_KEY_HEADER = 'x-sluice-aws-secret-access-key';
export const AWS_SESSION_TOKEN_HEADER = 'x-sluice-aws-session-token';
export const AWS_REGION_HEADER = 'x-sluice-aws-region';

/**
 * The commercial, GovCloud and China partitions' Regions where Bedrock Runtime may run. A
 * closed list, because the Region names the host the request is signed for
 * (`bedrock-runtime.<region>.amazonaws.com`): it is never a free-form host.
 */
export const AWS_REGIONS: ReadonlySet<string> = new Set([
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2',
  'ca-central-1', 'ca-west-1', 'mx-central-1', 'sa-east-1',
  'eu-central-1', 'eu-central-2', 'eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-north-1', 'eu-south-1', 'eu-south-2',
  'il-central-1', 'me-central-1', 'me-south-1', 'af-south-1',
  'ap-east-1', 'ap-east-2', 'ap-south-1', 'ap-south-2', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3',
  'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3', 'ap-southeast-4', 'ap-southeast-5', 'ap-southeast-7',
  'us-gov-east-1', 'us-gov-west-1', 'cn-north-1', 'cn-northwest-1',
]);

/** AWS access key ids: AKIA… (long-term) or ASIA… (temporary) and the like: 16 to 128 upper-case letters and digits. */
const ACCESS_KEY_ID = /^[A-Z0-9]{16,128}$/;
/** Secret access keys are 40 base64 characters; allow some room, never whitespace or control characters. */
const SECRET_ACCESS_KEY = /^[A-Za-z0-9/+=]{16,128}$/;
/** Session tokens are base64 too, up to a few KB. */
const SESSION_TOKEN = /^[A-Za-z0-9/+=]{16,8192}$/;

/**
 * The caller's AWS credentials from the request headers (names lower-cased), undefined when
 * none of the headers is sent. A partial set or a malformed value is a 400 naming the
 * header; values are never echoed.
 */
export function parseCallerAwsHeaders(headers: Record<string, string | undefined>): CallerAwsCredentials | undefined {
  const accessKeyId = headers[AWS_ACCESS_KEY_ID_HEADER]?.trim();
  const secretAccessKey = headers[AWS_SECRET_ACCESS_KEY_HEADER]?.trim();
  const sessionToken = headers[AWS_SESSION_TOKEN_HEADER]?.trim();
  const region = headers[AWS_REGION_HEADER]?.trim();
  if (accessKeyId === undefined && secretAccessKey === undefined && sessionToken === undefined && region === undefined) return undefined;
  const missing = (header: string) =>
    badRequest(
      `Caller AWS credentials need ${header} too: send X-Sluice-AWS-Access-Key-Id, X-Sluice-AWS-Secret-Access-Key and X-Sluice-AWS-Region (and X-Sluice-AWS-Session-Token for temporary credentials).`,
      'invalid_header',
      header,
    );
  if (!accessKeyId) throw missing(AWS_ACCESS_KEY_ID_HEADER);
  if (!secretAccessKey) throw missing(AWS_SECRET_ACCESS_KEY_HEADER);
  if (!region) throw missing(AWS_REGION_HEADER);
  if (!ACCESS_KEY_ID.test(accessKeyId)) throw badRequest('Header x-sluice-aws-access-key-id must be an AWS access key id (16 to 128 upper-case letters and digits, sent once).', 'invalid_header', AWS_ACCESS_KEY_ID_HEADER);
  if (!SECRET_ACCESS_KEY.test(secretAccessKey)) throw badRequest('Header x-sluice-aws-secret-access-key must be an AWS secret access key (base64 characters, sent once).', 'invalid_header', AWS_SECRET_ACCESS_KEY_HEADER);
  if (sessionToken !== undefined && !SESSION_TOKEN.test(sessionToken)) throw badRequest('Header x-sluice-aws-session-token must be an AWS session token (base64 characters, sent once).', 'invalid_header', AWS_SESSION_TOKEN_HEADER);
  if (!AWS_REGIONS.has(region)) throw badRequest('Header x-sluice-aws-region must be an AWS Region name where Bedrock runs, such as us-east-1 or eu-west-1.', 'invalid_header', AWS_REGION_HEADER);
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}), region };
}

/**
 * What identifies a credential set: SHA-256 over access key id, secret and token (a NUL
 * between), hex. Clients are cached under it — never under the access key id alone, which
 * would let a wrong secret ride on a client signed with the right one.
 */
export function awsCredentialHash(creds: Pick<CallerAwsCredentials, 'accessKeyId' | 'secretAccessKey' | 'sessionToken'>): string {
  return createHash('sha256').update(`${creds.accessKeyId}\0${creds.secretAccessKey}\0${creds.sessionToken ?? ''}`).digest('hex');
}

/** The 8-character fingerprint kept in traces for caller credentials (like every secret's). */
export function awsCredentialFingerprint(creds: Pick<CallerAwsCredentials, 'accessKeyId' | 'secretAccessKey' | 'sessionToken'>): string {
  return awsCredentialHash(creds).slice(0, 8);
}
