import type { Readable } from 'node:stream';
import type { CheckedTarget } from '../net/index.js';
import type { ProviderName } from '../stores/types.js';
import type { TraceRecorder } from '../traces/recorder.js';
import type { RelayObserver } from './body-relay.js';
import type { Route } from './endpoints.js';
import type { UpstreamTarget } from './target.js';

/** What the handler returns to Middy's streaming mode: status/headers, then a body stream. */
export interface GatewayResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string | Readable;
}

/** The parsed request body fields the gateway reads; everything else passes through untouched. */
export interface RequestBody {
  /** The parsed JSON object, as received. */
  json: Record<string, unknown>;
  /** The raw bytes, forwarded as-is when the gateway changes nothing. */
  raw: Buffer;
  model?: string;
  stream: boolean;
  /** Whether the client asked for usage on its stream (stream_options.include_usage). */
  includeUsage: boolean;
  user?: string;
}

/** The wire piece of an upstream plan: what to send, and the format the answer comes in. */
export interface UpstreamWire {
  /**
   * The wire format the upstream speaks, which decides how its answer is read:
   * OpenAI's (passed through), Anthropic Messages, Gemini generateContent, or Bedrock
   * (through the AWS SDK). Vertex speaks Gemini or Anthropic depending on the model.
   */
  wire: 'openai' | 'anthropic' | 'gemini' | 'bedrock';
  /** Path appended to the target's base path, e.g. `/chat/completions`. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

/** The upstream call the routing plugin prepared. */
export interface UpstreamPlan extends UpstreamWire {
  provider: ProviderName;
  target: CheckedTarget;
  method: 'GET' | 'POST';
  modelRequested?: string;
  modelResolved?: string;
  /** The rotated key this attempt uses (targets with several `--credential`s): its bench identity and public 8-char id; never the key. */
  key?: { hash: string; id: string };
  /** Every key of the rotation is benched (the proxy's own upstream with later targets): skipped, this is its answer. */
  benched?: import('./errors.js').GatewayError;
}

/** Token usage normalized to OpenAI's fields. */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  cachedTokens?: number;
  /** Prompt tokens written to the provider's prompt cache (Anthropic, Bedrock); part of promptTokens. */
  cacheWriteTokens?: number;
  reasoningTokens?: number;
}

export interface ProviderCredentialResolver {
  /** Resolves a proxy's credentialRef (`env:NAME`, `secret:NAME`) to the secret value. */
  resolve(ref: string): Promise<string>;
}

/** The SSRF guard: the address a base URL may be dialled at, or an SsrfError. */
export interface UpstreamGuard {
  check(baseUrl: string, opts: { allowPrivateNetwork: boolean }): Promise<CheckedTarget>;
}

/** What every provider call is given from outside: timeouts and the clock. */
export interface CallDeps {
  /** Abort the upstream call when no byte arrives for this long. */
  upstreamIdleTimeoutMs: number;
  /** Abort the upstream call when the whole exchange takes longer than this. */
  upstreamDeadlineMs: number;
  /** Per target (`sluice proxies create --timeout-connect / --timeout-first-byte`): the TCP/TLS connect, and the wait for the status line. */
  upstreamConnectTimeoutMs?: number;
  upstreamFirstByteTimeoutMs?: number;
  now: () => number;
}

/**
 * The part of a request a provider's call reads and writes (the gateway's RequestState is
 * one): the route, the parsed body, the plan routing made, and the usage and first-byte
 * time it reports back; observers see the body the client is sent.
 */
export interface CallState {
  readonly traceId: string;
  readonly route: Route;
  body?: RequestBody;
  upstream?: UpstreamPlan;
  /** The upstream the request goes to (carries the caller's AWS credentials, when it brought them). */
  readonly target?: UpstreamTarget;
  usage?: Usage;
  /** performance.now() when the first body byte of the upstream response arrived. */
  firstByteAt?: number;
  readonly observers: RelayObserver[];
  readonly trace: Pick<TraceRecorder, 'step' | 'set'>;
}
