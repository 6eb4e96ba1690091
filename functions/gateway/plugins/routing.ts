import { OPENAI_FAMILY, upstreamHeaders } from '../../providers/openai/api.js';
import { translateRequest } from '../../providers/openai/request.js';
import { SsrfError } from '../../net/index.js';
import { badGateway, badRequest, forbidden, GatewayError } from '../errors.js';
import { parseRequestBody } from '../request-body.js';
import { OPENAI_PATHS } from '../routes.js';
import type { GatewayDeps, Plugin, RequestState } from '../types.js';

/**
 * routing — the proxy's upstream: body validation, model aliases and the allow-list,
 * the provider credential (configured or BYOK), and an SSRF-checked target address.
 */
export function routingPlugin(deps: Pick<GatewayDeps, 'credentials' | 'upstreamGuard'>): Plugin {
  return {
    name: 'routing',
    async before(state: RequestState) {
      const { route, proxy } = state;
      if (route.kind !== 'openai' || !proxy) return;
      if (!OPENAI_FAMILY.has(proxy.provider)) {
        throw badRequest(`Provider '${proxy.provider}' is not available on this endpoint in this release.`, 'unsupported_provider');
      }

      let modelRequested: string | undefined;
      let modelResolved: string | undefined;
      let body: Buffer | undefined;
      if (route.endpoint !== 'models') {
        state.body = parseRequestBody(route.endpoint, state.rawBody);
        modelRequested = state.body.model;
        modelResolved = modelRequested === undefined ? undefined : (proxy.modelAliases?.[modelRequested] ?? modelRequested);
        if (modelResolved !== undefined && proxy.allowedModels?.length && !proxy.allowedModels.includes(modelResolved)) {
          throw forbidden(`Model '${modelRequested}' is not allowed on this proxy.`, 'model_not_allowed');
        }
        body = translateRequest(state.body, modelResolved);
      }

      const credential = state.providerKey ?? (proxy.credentialRef ? await resolveCredential(deps, proxy.credentialRef) : undefined);
      let target;
      try {
        target = await deps.upstreamGuard.check(proxy.baseUrl, { allowPrivateNetwork: proxy.allowPrivateNetwork });
      } catch (err) {
        if (err instanceof SsrfError) throw badGateway(`The proxy's upstream address is not allowed: ${err.message}`, 'upstream_blocked');
        throw err;
      }
      state.upstream = {
        provider: proxy.provider,
        target,
        method: route.method,
        path: OPENAI_PATHS[route.endpoint],
        headers: upstreamHeaders(state.headers, credential, body),
        ...(body ? { body } : {}),
        ...(modelRequested !== undefined ? { modelRequested } : {}),
        ...(modelResolved !== undefined ? { modelResolved } : {}),
      };
      state.trace.set({ provider: proxy.provider, endpoint: route.endpoint, modelRequested, modelResolved, stream: state.body?.stream ?? false });
    },
  };
}

async function resolveCredential(deps: Pick<GatewayDeps, 'credentials'>, ref: string): Promise<string> {
  try {
    return await deps.credentials.resolve(ref);
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw badGateway(`The provider credential could not be read: ${(err as Error).message}`, 'upstream_credential_missing');
  }
}
