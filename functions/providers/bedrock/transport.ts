import type { BedrockRuntimeClient, ConverseCommandOutput, ConverseStreamOutput } from '@aws-sdk/client-bedrock-runtime';
import type { Json } from '../chat.js';
import { awsCredentialHash, type CallerAwsCredentials } from '../../upstream/aws-credentials.js';

/**
 * Bedrock Runtime clients, one per Region and endpoint, signed with the function's IAM
 * role (the default credential chain): the customer hands over no AWS keys. A request
 * that brings the caller's own AWS credentials gets a client signed with those instead.
 */
export interface BedrockClients {
  /** The function's own Region, used when a proxy's endpoint does not name one. */
  readonly defaultRegion: string;
  /** A client for the Region and endpoint; with `credentials`, one that signs with them (never the role). */
  client(region: string, endpoint: string | undefined, credentials?: CallerAwsCredentials): Promise<BedrockRuntimeClient>;
}

/** Clients signed with callers' credentials kept per instance; the least recently used goes first. */
export const MAX_CALLER_CLIENTS = 64;

export function createBedrockClients(defaultRegion: string): BedrockClients {
  const clients = new Map<string, Promise<BedrockRuntimeClient>>();
  // Keyed by a hash of access key id, secret and token (never the access key id alone): a
  // caller with the right id and a wrong secret must not ride on another's signed client.
  const callerClients = new Map<string, Promise<BedrockRuntimeClient>>();
  const build = (region: string, endpoint: string | undefined, credentials?: CallerAwsCredentials) =>
    // Loaded on demand: only proxies that use Bedrock pay for the client at cold start.
    import('./sdk.js').then(
      ({ BedrockRuntimeClient }) =>
        new BedrockRuntimeClient({
          region,
          ...(endpoint ? { endpoint } : {}),
          maxAttempts: 1,
          ...(credentials
            ? { credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}) } }
            : {}),
        }),
    );
  return {
    defaultRegion,
    client(region, endpoint, credentials) {
      if (credentials) {
        const key = `${region} ${endpoint ?? ''} ${awsCredentialHash(credentials)}`;
        let client = callerClients.get(key);
        if (client) callerClients.delete(key);
        else {
          client = build(region, endpoint, credentials);
          if (callerClients.size >= MAX_CALLER_CLIENTS) {
            const oldest = callerClients.keys().next().value!;
            void callerClients.get(oldest)?.then((c) => c.destroy(), () => undefined);
            callerClients.delete(oldest);
          }
        }
        callerClients.set(key, client);
        return client;
      }
      const key = `${region} ${endpoint ?? ''}`;
      let client = clients.get(key);
      if (!client) {
        client = build(region, endpoint);
        clients.set(key, client);
      }
      return client;
    },
  };
}

/** The same clients, every one signed with the caller's credentials (for one request). */
export function signedWith(clients: BedrockClients, credentials: CallerAwsCredentials): BedrockClients {
  return { defaultRegion: credentials.region, client: (region, endpoint) => clients.client(region, endpoint, credentials) };
}

/**
 * The Region and endpoint for a caller-credential request: the caller's Region, on that
 * Region's Bedrock host when the proxy's URL is an AWS host, else on the proxy's own
 * endpoint (a VPC endpoint, a test server) signed for the caller's Region.
 */
export function callerBedrockTarget(baseUrl: string, credentials: CallerAwsCredentials): { region: string; endpoint: string | undefined } {
  const host = new URL(baseUrl).hostname;
  const aws = host === 'bedrock-runtime.amazonaws.com' || REGION_IN_HOST.test(host);
  return { region: credentials.region, endpoint: aws ? undefined : baseUrl.replace(/\/+$/, '') };
}

/** Regional Bedrock Runtime hosts (also FIPS and VPC endpoint names) carry the Region. */
const REGION_IN_HOST = /(?:^|\.)bedrock-runtime(?:-fips)?\.([a-z]{2}(?:-gov)?-[a-z]+-\d)\.(?:vpce\.)?amazonaws\.com$/;

/**
 * The Region and endpoint for a proxy: the Region named by an AWS endpoint URL, else the
 * function's. A regional AWS host needs no explicit endpoint; any other URL (a VPC
 * endpoint, a local test server) is passed to the client as its endpoint.
 */
export function bedrockTarget(baseUrl: string, defaultRegion: string): { region: string; endpoint: string | undefined } {
  const host = new URL(baseUrl).hostname;
  const match = REGION_IN_HOST.exec(host);
  const region = match?.[1] ?? defaultRegion;
  const isDefaultHost = host === `bedrock-runtime.${region}.amazonaws.com`;
  return { region, endpoint: isDefaultHost ? undefined : baseUrl.replace(/\/+$/, '') };
}

export const defaultBedrockBaseUrl = (region: string) => `https://bedrock-runtime.${region}.amazonaws.com`;

/** A proxy's base URL without a Region (`https://bedrock-runtime.amazonaws.com`) stands for the function's own Region. */
export function regionalBaseUrl(baseUrl: string, defaultRegion: string): string {
  const url = new URL(baseUrl);
  return url.hostname === 'bedrock-runtime.amazonaws.com' ? defaultBedrockBaseUrl(defaultRegion) : baseUrl;
}

/**
 * Blobs travel base64-encoded in Converse JSON (the wire format); the SDK wants bytes.
 * Converts `bytes` of image, document, video and redacted reasoning blocks in place order.
 */
export function withBinaryBlobs<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => withBinaryBlobs(v)) as T;
  if (!value || typeof value !== 'object' || value instanceof Uint8Array) return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value as Json)) {
    out[k] = (k === 'bytes' || k === 'redactedContent') && typeof v === 'string' ? new Uint8Array(Buffer.from(v, 'base64')) : withBinaryBlobs(v);
  }
  return out as T;
}

/** The JSON replacer that writes SDK bytes back as base64 (Converse's wire format). */
export function blobsAsBase64(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value;
}

export async function converse(clients: BedrockClients, region: string, endpoint: string | undefined, input: Json, signal: AbortSignal): Promise<ConverseCommandOutput> {
  const { ConverseCommand } = await import('./sdk.js');
  const client = await clients.client(region, endpoint);
  return client.send(new ConverseCommand(withBinaryBlobs(input) as never), { abortSignal: signal });
}

export async function converseStream(clients: BedrockClients, region: string, endpoint: string | undefined, input: Json, signal: AbortSignal): Promise<AsyncIterable<ConverseStreamOutput>> {
  const { ConverseStreamCommand } = await import('./sdk.js');
  const client = await clients.client(region, endpoint);
  const out = await client.send(new ConverseStreamCommand(withBinaryBlobs(input) as never), { abortSignal: signal });
  if (!out.stream) throw new Error('ConverseStream answered without a stream');
  return out.stream;
}

/** InvokeModel with a provider-native body (Anthropic Messages on Bedrock); the answer's bytes. */
export async function invokeModel(clients: BedrockClients, region: string, endpoint: string | undefined, modelId: string, body: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
  const { InvokeModelCommand } = await import('./sdk.js');
  const client = await clients.client(region, endpoint);
  const out = await client.send(new InvokeModelCommand({ modelId, body, contentType: 'application/json', accept: 'application/json' }), { abortSignal: signal });
  return out.body;
}

/** InvokeModelWithResponseStream: each event's bytes are one provider-native event (JSON). */
export async function invokeModelStream(clients: BedrockClients, region: string, endpoint: string | undefined, modelId: string, body: Uint8Array, signal: AbortSignal): Promise<AsyncIterable<{ chunk?: { bytes?: Uint8Array } }>> {
  const { InvokeModelWithResponseStreamCommand } = await import('./sdk.js');
  const client = await clients.client(region, endpoint);
  const out = await client.send(new InvokeModelWithResponseStreamCommand({ modelId, body, contentType: 'application/json', accept: 'application/json' }), { abortSignal: signal });
  if (!out.body) throw new Error('InvokeModelWithResponseStream answered without a stream');
  return out.body;
}

/** CountTokens for an InvokeModel body: the input tokens Bedrock would bill for it. */
export async function countTokens(clients: BedrockClients, region: string, endpoint: string | undefined, modelId: string, body: Uint8Array, signal: AbortSignal): Promise<number> {
  const { CountTokensCommand } = await import('./sdk.js');
  const client = await clients.client(region, endpoint);
  const out = await client.send(new CountTokensCommand({ modelId, input: { invokeModel: { body } } }), { abortSignal: signal });
  return out.inputTokens ?? 0;
}
