import { badGateway, GatewayError } from './errors.js';
import type { ProviderName } from '../stores/types.js';
import type { Route } from './endpoints.js';
import type { UpstreamTarget } from './target.js';
import type { CallDeps, CallState, GatewayResponse, ProviderCredentialResolver, RequestBody, UpstreamGuard, UpstreamPlan, UpstreamWire } from './types.js';

/** A model-call route (`kind: 'openai'`, whichever API the client speaks). */
export type ModelRoute = Extract<Route, { kind: 'openai' }>;

/** What every adapter may use: the call's timeouts and clock, the credential resolver and the SSRF guard. */
export interface AdapterDeps extends CallDeps {
  credentials: ProviderCredentialResolver;
  upstreamGuard: UpstreamGuard;
}

/** One request planned for one target. */
export interface PlanRequest {
  route: ModelRoute;
  /** The parsed client body (absent on GET /models). */
  body?: RequestBody;
  /** The client's headers, names lower-cased (some are forwarded, e.g. `anthropic-beta`). */
  headers: Record<string, string>;
  target: UpstreamTarget;
  /** What `credential()` returned for this target. */
  credential?: string;
  /** The model after the target's aliases (absent on GET /models). */
  model?: string;
}

/**
 * A provider, as the gateway sees it: what it serves, how a request is planned for one of
 * its targets, and how the call is made and its answer (plain, streamed or an error, with
 * usage) told to the client in the format it called. Each functions/providers/<name>/
 * folder exports one (adapter.ts); functions/providers/registry.ts maps provider names to
 * them. Routing and the model call use nothing else of a provider.
 */
export interface ProviderAdapter<D extends AdapterDeps = AdapterDeps> {
  /** The folder's name. */
  readonly name: string;
  /** The provider names (ProxyConfig.provider) this adapter serves. */
  readonly providers: readonly ProviderName[];
  /** Whether it answers this client endpoint on this ingress (docs/providers.md has the table). */
  serves(route: Pick<ModelRoute, 'endpoint' | 'ingress'>): boolean;
  /**
   * The base URL the SSRF guard checks and the call dials, for this target (Bedrock's
   * Regional endpoint, Vertex's location): the target's own when absent. May throw a
   * 400 for a target missing settings the provider needs.
   */
  baseUrl?(deps: D, target: UpstreamTarget): string;
  /** The credential that goes upstream for this target (none: the call signs, e.g. Bedrock's IAM role). */
  credential(deps: D, target: UpstreamTarget): Promise<string | undefined>;
  /** The request translated into the provider's API: path, headers, body and the wire format of the answer. Pure. */
  plan(request: PlanRequest): UpstreamWire;
  /**
   * Sends `state.upstream` and answers as soon as the upstream's status and headers
   * arrive, the body relayed or translated as it comes; usage lands on `state.usage`.
   * An upstream error is thrown as a GatewayError in the client's format. `sentAt` is
   * when the call began (the trace's llm step starts there).
   */
  call(deps: D, state: CallState, sentAt: number): Promise<GatewayResponse>;
  /** The upstream refused this plan's credential (401): forget anything cached for it. */
  refused?(deps: D, plan: UpstreamPlan): void;
}

/** The caller's credential (BYOK), else the configured one — what most providers send. */
export async function configuredCredential(deps: Pick<AdapterDeps, 'credentials'>, target: UpstreamTarget): Promise<string | undefined> {
  return target.callerCredential ?? (target.credentialRef ? resolveCredential(deps, target.credentialRef) : undefined);
}

/** A configured credential reference resolved; a resolver failure is a 502 `upstream_credential_missing`. */
export async function resolveCredential(deps: Pick<AdapterDeps, 'credentials'>, ref: string): Promise<string> {
  try {
    return await deps.credentials.resolve(ref);
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw badGateway(`The provider credential could not be read: ${(err as Error).message}`, 'upstream_credential_missing');
  }
}
