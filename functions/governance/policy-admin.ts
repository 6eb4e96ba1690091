import { createHash } from 'node:crypto';
import { compile } from '../rego/index.js';
import type { ControlStore, GovernanceConfig, GovernanceStage, ProxyConfig, StoredPolicy } from '../stores/types.js';
import { verifiedRego } from './signed-policy.js';

/** Policy management shared by the CLI and tests: check, version and store a stage's policy. */
export class PolicyAdminError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyAdminError';
  }
}

/** Compiles the upload (after signature verification) so a broken policy is never saved. Throws. */
export function checkPolicy(body: string | Uint8Array, signingKey: string | undefined): void {
  if (typeof body === 'string') compile(verifiedRego(body, signingKey));
  else compile(body);
}

export async function setPolicy(
  store: ControlStore,
  proxyId: string,
  stage: GovernanceStage,
  upload: string | Uint8Array,
  opts: { signingKey?: string; by?: string; now?: Date } = {},
): Promise<StoredPolicy> {
  checkPolicy(upload, opts.signingKey);
  const proxy = await requireProxy(store, proxyId);
  const body = typeof upload === 'string' ? upload : Buffer.from(upload).toString('base64');
  const previous = proxy.governance?.policies?.[stage];
  const stored: StoredPolicy = {
    version: (previous?.version ?? 0) + 1,
    format: typeof upload === 'string' ? 'rego' : 'bundle',
    body,
    sha256: createHash('sha256').update(body, 'utf8').digest('hex'),
    updatedAt: (opts.now ?? new Date()).toISOString(),
    ...(opts.by ? { updatedBy: opts.by } : {}),
  };
  const governance: GovernanceConfig = { enabled: true, ...proxy.governance, policies: { ...proxy.governance?.policies, [stage]: stored } };
  await store.putProxy({ ...proxy, governance });
  return stored;
}

export async function deletePolicy(store: ControlStore, proxyId: string, stage: GovernanceStage): Promise<boolean> {
  const proxy = await requireProxy(store, proxyId);
  if (!proxy.governance?.policies?.[stage]) return false;
  const policies = { ...proxy.governance.policies };
  delete policies[stage];
  await store.putProxy({ ...proxy, governance: { ...proxy.governance, policies } });
  return true;
}

/** Merges governance settings (enabled, fail modes, budgets, intent) into the proxy. */
export async function updateGovernance(store: ControlStore, proxyId: string, patch: Partial<GovernanceConfig>, remove: readonly ('intent' | 'data' | 'failModes' | 'evalBudgetMs' | 'approvalTtlMs')[] = []): Promise<GovernanceConfig> {
  const proxy = await requireProxy(store, proxyId);
  const governance: GovernanceConfig = { enabled: false, ...proxy.governance, ...patch };
  for (const name of remove) delete governance[name];
  await store.putProxy({ ...proxy, governance });
  return governance;
}

async function requireProxy(store: ControlStore, proxyId: string): Promise<ProxyConfig> {
  const proxy = await store.getProxy(proxyId);
  if (!proxy) throw new PolicyAdminError(`no proxy "${proxyId}"`);
  return proxy;
}
