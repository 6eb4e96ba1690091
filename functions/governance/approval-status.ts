import { extractKeys } from '../gateway/plugins/auth.js';
import { completeTrace } from '../gateway/plugins/trace.js';
import { forbidden, GatewayError, notFound, unauthorized } from '../upstream/errors.js';
import type { GatewayDeps, GatewayResponse, RequestState } from '../gateway/types.js';
import { hashKey, looksLikeGatewayKey, timingSafeEqualHex } from '../stores/keys.js';
import { effectiveStatus } from './approvals.js';

/**
 * `GET /a/{proxyId}/approvals/{id}`: the status of a held request, for the key that was
 * held (pending | approved | denied | expired | consumed). Another key, another proxy and
 * an unknown id all answer the same 404, so ids cannot be probed.
 */
export async function approvalStatus(deps: Pick<GatewayDeps, 'store' | 'governance' | 'now' | 'traceSink' | 'logger'>, state: RequestState): Promise<GatewayResponse> {
  const route = state.route;
  if (route.kind !== 'approval') throw new Error('approvalStatus reached on another route');
  const { gatewayKey } = extractKeys(state.headers);
  if (!gatewayKey) throw unauthorized('Missing gateway key: send `Authorization: Bearer sk-sluice-…`.', 'missing_api_key');
  if (!looksLikeGatewayKey(gatewayKey)) throw unauthorized('Invalid gateway key.');
  const hash = hashKey(gatewayKey);
  const key = await deps.store.getKeyByHash(hash);
  if (!key || !timingSafeEqualHex(key.hash, hash)) throw unauthorized('Invalid gateway key.');
  if (key.revokedAt) throw unauthorized('This gateway key has been revoked.', 'key_revoked');
  if (key.expiresAt && Date.parse(key.expiresAt) <= Date.now()) throw unauthorized('This gateway key has expired.', 'key_expired');
  // `/v1/approvals/<id>`: the key's own proxy.
  if (route.pathProxyId !== undefined && key.proxyId !== route.pathProxyId) throw forbidden('This key is not valid for the requested proxy.', 'proxy_forbidden');
  if (!deps.governance) throw new GatewayError(503, 'Approvals are not available in this runtime.', 'service_unavailable', 'approvals_unavailable');
  state.trace.set({ proxyId: key.proxyId, orgId: key.orgId, keyId: key.id });
  const record = await deps.governance.approvals.get(route.approvalId);
  if (!record || record.proxyId !== key.proxyId || record.keyId !== key.id) throw notFound(`No approval ${route.approvalId}.`);
  const body = {
    object: 'sluice.approval',
    id: record.id,
    status: effectiveStatus(record, Date.now()),
    reasons: record.reasons,
    created_at: record.createdAt,
    expires_at: record.expiresAt,
    ...(record.decidedAt ? { decided_at: record.decidedAt } : {}),
  };
  completeTrace(deps, state, { status: 200, approvalId: record.id, approvalStatus: body.status });
  return { statusCode: 200, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, body: JSON.stringify(body) };
}
