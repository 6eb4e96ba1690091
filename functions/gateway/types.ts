import type { CallerAwsCredentials } from '../upstream/aws-credentials.js';
import type { Context, LambdaFunctionURLEvent } from 'aws-lambda';
import type { Logger } from '../observability/logger.js';
import type { RequestLog } from '../observability/request-log.js';
import type { ApiKeyRecord, Cache, ControlStore, ProxyConfig } from '../stores/types.js';
import type { SluiceRequestHeaders } from './request-headers.js';
import type { Route } from './routes.js';
import type { TraceRecorder } from '../traces/recorder.js';
import type { TraceSink } from '../traces/sink.js';
import type { PriceBook } from '../pricing/price-book.js';
import type { SpendServices } from '../spend/services.js';
import type { RelayObserver } from '../upstream/body-relay.js';
import type { GatewayResponse, ProviderCredentialResolver, RequestBody, UpstreamGuard, UpstreamPlan, Usage } from '../upstream/types.js';
import type { SessionStore } from '../sessions/store.js';
import type { SessionStrategy } from '../sessions/resolve.js';
import type { BedrockClients } from '../providers/bedrock/transport.js';
import type { GoogleTokenSource } from '../providers/vertex/auth.js';
import type { GovernanceDeps } from '../governance/governance-deps.js';
import type { UpstreamTarget } from '../upstream/target.js';
import type { ConsoleDeps } from '../console/serve.js';

export type { GatewayResponse, ProviderCredentialResolver, RequestBody, UpstreamPlan, Usage } from '../upstream/types.js';

export type FunctionUrlEvent = LambdaFunctionURLEvent;
export type LambdaContext = Context;

/** The caller, as established by the auth plugin. */
export interface Identity {
  keyId: string;
  proxyId: string;
  orgId: string;
  /** Epoch ms after which the key is no longer valid (absent: no expiry). */
  expiresAt?: number;
}

/**
 * PostLLM work on a body stream. The body is forwarded chunk by chunk; observers
 * see each chunk after it was handed on and are told when the body ends.
 */
export type BodyObserver = RelayObserver;

/** The typed per-request state every plugin reads and extends. */
export interface RequestState {
  readonly traceId: string;
  /** performance.now() when the event arrived. */
  readonly startedAt: number;
  readonly route: Route;
  /** Request headers, names lower-cased. */
  readonly headers: Record<string, string>;
  readonly sluiceHeaders: SluiceRequestHeaders;
  /** The client's valid X-Sluice-Session-Id, else a fresh UUID; the session plugin may refine it. */
  sessionId: string;
  /** Set by the session plugin: the resolved session, its strategy and turn (absent turn: not counted). */
  session?: { id: string; strategy: SessionStrategy; turn?: number; refusedId?: string };
  /** The decoded request body bytes (size-checked, not yet parsed). */
  readonly rawBody: Buffer;
  readonly trace: TraceRecorder;
  readonly log: RequestLog;
  body?: RequestBody;
  identity?: Identity;
  /** SHA-256 hex of the gateway key the identity came from (auth computes it once for the request). */
  gatewayKeyHash?: string;
  key?: ApiKeyRecord;
  proxy?: ProxyConfig;
  /** BYOK: the caller's provider key for this one request. Never logged or traced. */
  providerKey?: string;
  /** The caller's own AWS credentials for a Bedrock upstream, where the proxy takes them. Never logged or traced. */
  callerAws?: CallerAwsCredentials;
  /** Set by the routing plugin: the upstream this request goes to (the proxy's, or the one it picked). */
  target?: UpstreamTarget;
  upstream?: UpstreamPlan;
  /** Upstream attempts made (X-Sluice-Attempts) and the target that answered (X-Sluice-Served-By). */
  attempts?: number;
  servedBy?: string;
  /**
   * The request-stage policy denied the proxy's own plan on a proxy with other targets:
   * that target is skipped, not the request refused (functions/gateway/attempts.ts).
   */
  primaryDenied?: import('../upstream/errors.js').GatewayError;
  /** Set when the upstream's status and headers arrived: gateway time before that, in ms. */
  overheadMs?: number;
  /** Usage taken from the response (plain or streamed). */
  usage?: Usage;
  /** performance.now() when the first body byte of the upstream response arrived. */
  firstByteAt?: number;
  readonly observers: BodyObserver[];
  /**
   * Set by the cache plugin on a proxy with a response cache: the X-Sluice-Cache outcome;
   * on a hit, `replay` answers instead of the model call (functions/gateway/plugins/cache.ts).
   */
  cache?: { result: 'hit' | 'miss' | 'bypass'; replay?: () => GatewayResponse };
  /** Trace persistence started for this request; awaited before the invocation resolves. */
  readonly pending: Promise<unknown>[];
}

/**
 * A plugin: a PreLLM part (`before`, may answer early by throwing a GatewayError) and a
 * PostLLM part (`after`, on the upstream's status and headers; body work is registered
 * as a BodyObserver because Middy finishes `after` before the body streams).
 */
export interface Plugin {
  readonly name: string;
  before?(state: RequestState): Promise<void> | void;
  after?(state: RequestState, response: GatewayResponse): Promise<void> | void;
  /** Cleanup when the model call (or a later plugin) failed; the envelope still answers the error. */
  onError?(state: RequestState): Promise<void> | void;
}

/** Everything the handler needs from the outside world, injected. */
export interface GatewayDeps {
  /** Benched provider keys (default: in-process, functions/routing/key-bench.ts). */
  keyBench?: import('../routing/key-bench.js').KeyBench;
  /** Per-target circuit breakers (default: in-process, functions/gateway/attempts.ts). */
  breakers?: import('../routing/breaker.js').CircuitBreakers;
  store: ControlStore;
  cache: Cache;
  traceSink: TraceSink;
  logger: Logger;
  credentials: ProviderCredentialResolver;
  upstreamGuard: UpstreamGuard;
  /** Returns the HMAC key that signs cached identity blobs. */
  identitySigningKey: () => Promise<Buffer>;
  authCacheTtlMs: number;
  /** Abort the upstream call when no byte arrives for this long. */
  upstreamIdleTimeoutMs: number;
  /** Abort the upstream call when the whole exchange takes longer than this. */
  upstreamDeadlineMs: number;
  now: () => number;
  /** Session turn counters and lookup links; without it sessions are the header's or new, uncounted. */
  sessions?: SessionStore;
  /** Bedrock Runtime clients per Region (the function's IAM role); absent: built from the environment on first use. */
  bedrock?: BedrockClients;
  /** Vertex AI access tokens from service-account keys (cached per account); absent: one built on the upstream guard and the system clock. */
  googleTokens?: GoogleTokenSource;
  /** Prices for trace cost (functions/pricing); absent: every cost is recorded as unknown. */
  pricing?: PriceBook;
  /** Request metrics (EMF, functions/observability/metrics-emitter.ts), one line per finished trace; absent (locally): none. */
  metrics?: import('../observability/metrics-emitter.js').MetricsEmitter;
  /** Bytes of request and response body kept on a trace (default 32 KiB each; 0: none). */
  traceBodyBytes?: number;
  /** Policy cache, approvals, notifier and intent scorer; absent: governance is never enforced (steps say skipped). */
  governance?: GovernanceDeps;
  /** The response cache's store (functions/cache); absent: no proxy's cache is used. */
  responseCache?: import('../cache/store.js').ResponseCacheStore;
  /** Budgets and rate limits (functions/spend); absent: none are enforced. */
  spend?: SpendServices;
  /** The environment the deps came from: the console builds its own stores from it on its first request. */
  env?: NodeJS.ProcessEnv;
  /** The console's stores, when injected (tests); absent: from `env` (functions/console/serve.ts). */
  console?: Partial<ConsoleDeps>;
}
