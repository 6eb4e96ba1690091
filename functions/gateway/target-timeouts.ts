import type { RoutingConfig } from '../stores/types.js';
import type { GatewayDeps } from './types.js';

type Timeouts = NonNullable<RoutingConfig['timeouts']>;

/**
 * The deps a target's call is made with: its own timeouts (`--timeout-*`) over the
 * gateway's, the total capped by the gateway's deadline. Loaded with import() only for
 * targets that set timeouts (attempts.ts, fallback-target.ts), not at Lambda init.
 */
export function withTimeouts(deps: GatewayDeps, t: Timeouts | undefined): GatewayDeps {
  if (!t) return deps;
  return {
    ...deps,
    ...(t.idleMs ? { upstreamIdleTimeoutMs: t.idleMs } : {}),
    ...(t.totalMs ? { upstreamDeadlineMs: Math.min(t.totalMs, deps.upstreamDeadlineMs) } : {}),
    ...(t.connectMs ? { upstreamConnectTimeoutMs: t.connectMs } : {}),
    ...(t.firstByteMs ? { upstreamFirstByteTimeoutMs: t.firstByteMs } : {}),
  };
}
