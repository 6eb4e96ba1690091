import { existsSync } from 'node:fs';
import { stateOf, type GatewayMiddyRequest } from './envelope.js';
import type { FunctionUrlEvent, GatewayDeps, GatewayResponse } from './types.js';

type ServeConsole = (deps: GatewayDeps, event: FunctionUrlEvent) => Promise<GatewayResponse>;
let serve: Promise<ServeConsole> | undefined;

/**
 * `/console/…` and `/admin/…` are answered here, before the plugin chain, by a module
 * loaded on the first such request: `console/serve.mjs` beside the deployed bundle (built
 * apart, so none of it is in the gateway bundle or its init), else the source module.
 * A module that cannot load is a 500 (never traced), retried on the next request.
 */
export function consoleRoute(deps: GatewayDeps) {
  return {
    name: 'console',
    async before(request: GatewayMiddyRequest): Promise<GatewayResponse | undefined> {
      if (stateOf(request).route.kind !== 'console') return;
      serve ??= load();
      serve.catch(() => (serve = undefined));
      return (await serve)(deps, request.event);
    },
  };
}

async function load(): Promise<ServeConsole> {
  const beside = new URL('./console/serve.mjs', import.meta.url);
  // Variables, so no bundler follows them into the gateway bundle.
  const specifier = existsSync(beside) ? beside.href : '../console/serve.js';
  return ((await import(specifier)) as { serveConsole: ServeConsole }).serveConsole;
}
