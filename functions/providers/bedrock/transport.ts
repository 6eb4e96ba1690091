import type { BedrockRuntimeClient, ConverseCommandOutput, ConverseStreamOutput } from '@aws-sdk/client-bedrock-runtime';
import type { Json } from '../chat.js';

/**
 * Bedrock Runtime clients, one per Region and endpoint, signed with the function's IAM
 * role (the default credential chain): the customer hands over no AWS keys.
 */
export interface BedrockClients {
  /** The function's own Region, used when a proxy's endpoint does not name one. */
  readonly defaultRegion: string;
  client(region: string, endpoint: string | undefined): Promise<BedrockRuntimeClient>;
}

export function createBedrockClients(defaultRegion: string): BedrockClients {
  const clients = new Map<string, Promise<BedrockRuntimeClient>>();
  return {
    defaultRegion,
    client(region, endpoint) {
      const key = `${region} ${endpoint ?? ''}`;
      let client = clients.get(key);
      if (!client) {
        // Loaded on demand: only proxies that use Bedrock pay for the client at cold start.
        client = import('./sdk.js').then(({ BedrockRuntimeClient }) => new BedrockRuntimeClient({ region, ...(endpoint ? { endpoint } : {}), maxAttempts: 1 }));
        clients.set(key, client);
      }
      return client;
    },
  };
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
