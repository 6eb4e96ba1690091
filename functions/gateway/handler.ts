import middy, { type PluginExecutionMode } from '@middy/core';
import { approvalStatus } from '../governance/approval-status.js';
import { callModel } from './call-model.js';
import { consoleRoute } from './console-route.js';
import { depsFromEnv } from './deps.js';
import { executionModeSluiceStream } from './execution-mode.js';
import { envelope, maybeStateOf, stateOf, stateOfEvent, type GatewayMiddyRequest } from './envelope.js';
import { authPlugin } from './plugins/auth.js';
import { intentPlugin } from './plugins/intent.js';
import { policyPlugin } from './plugins/policy.js';
import { routingPlugin } from './plugins/routing.js';
import { sessionPlugin } from './plugins/session.js';
import { tracePlugin } from './plugins/trace.js';
import { spendPlugins } from './plugins/spend.js';
import { cachePlugin } from './plugins/cache.js';
import type { FunctionUrlEvent, GatewayDeps, GatewayResponse, LambdaContext, Plugin } from './types.js';

/**
 * The one place that lists the plugin chain. Order matters:
 *   envelope (trace id, header checks, headers on every response)
 *   → console (/console and /admin, answered here: never traced, see console-route.ts)
 *   → auth → routing → session → trace → policy → intent → rate-limit → cache (a hit is
 *   replayed instead of the model call) → budget (last before the upstream so a denied
 *   request or a cache hit reserves nothing) → the model call.
 */
export function createGatewayHandler(deps: GatewayDeps) {
  const spend = spendPlugins(deps);
  const plugins: Plugin[] = [
    authPlugin(deps),
    routingPlugin(deps),
    sessionPlugin(deps),
    tracePlugin(deps),
    policyPlugin(deps),
    intentPlugin(deps),
    spend.rateLimit,
    cachePlugin(deps),
    spend.budget,
  ];
  return middy<FunctionUrlEvent, GatewayResponse, Error, LambdaContext>({
    // middy's streaming mode with the body piped without pipeline()'s per-request AbortController (execution-mode.ts).
    executionMode: executionModeSluiceStream as unknown as PluginExecutionMode,
    // Runs after the body was fully written: trace persistence is awaited here, never before the client's last byte.
    requestEnd: async (request) => {
      const state = maybeStateOf(request as GatewayMiddyRequest);
      if (state) await Promise.all(state.pending);
    },
    timeoutEarlyInMillis: 0,
  })
    .use(envelope(deps))
    .use(consoleRoute(deps))
    .use(plugins.map(asMiddleware))
    .handler((event) => {
      const state = stateOfEvent(event);
      if (state.route.kind === 'approval') return approvalStatus(deps, state);
      // Loaded on the first check: a lazy chunk in the deployed bundle, never evaluated at init.
      if (state.route.kind === 'action') return import('./action-check.js').then((m) => m.actionCheck(deps, state));
      // A response cache hit: replayed, no upstream attempt (plugins/cache.ts).
      if (state.cache?.replay) return state.cache.replay();
      return callModel(deps, state);
    });
}

function asMiddleware(plugin: Plugin) {
  return {
    name: plugin.name,
    ...(plugin.before ? { before: (request: GatewayMiddyRequest) => plugin.before!(stateOf(request)) } : {}),
    ...(plugin.after
      ? {
          after: (request: GatewayMiddyRequest) => {
            if (request.response) return plugin.after!(stateOf(request), request.response);
          },
        }
      : {}),
    // Returns nothing, so the envelope's onError still answers the error.
    ...(plugin.onError
      ? {
          onError: async (request: GatewayMiddyRequest) => {
            const state = maybeStateOf(request);
            if (state) await plugin.onError!(state);
          },
        }
      : {}),
  };
}

const deps = depsFromEnv(process.env);

/** The Lambda entry point (and what the local runtime serves): dependencies from the environment. */
export const handler = createGatewayHandler(deps);

/**
 * A long-running process's last step before exit: waits (at most `timeoutMs`) until the
 * trace queues are empty, so traces queued after their request's last byte still land.
 */
export async function flushTraces(timeoutMs = 5_000): Promise<boolean> {
  const sink = deps.traceSink as { flush?: (ms: number) => Promise<boolean> };
  return sink.flush ? sink.flush(timeoutMs) : true;
}
