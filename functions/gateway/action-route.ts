import { existsSync } from 'node:fs';
import { evaluateDecision } from '../governance/decision.js';
import { maskPatterns } from '../governance/redact.js';
import { GatewayError } from '../upstream/errors.js';
import type { ActionDeps, ActionHost } from './action-check.js';
import { DEFAULT_APPROVAL_TTL_MS, DEFAULT_EVAL_BUDGET_MS, failureKind, hold, messageOf, policyData, versionOf } from './plugins/policy.js';
import { completeTrace, DEFAULT_TRACE_BODY_BYTES } from './plugins/trace.js';
import type { GatewayResponse, RequestState } from './types.js';

type ActionCheck = (host: ActionHost, deps: ActionDeps, state: RequestState) => Promise<GatewayResponse>;

const host: ActionHost = {
  GatewayError,
  evaluateDecision,
  maskPatterns,
  hold,
  completeTrace,
  failureKind,
  messageOf,
  policyData,
  versionOf,
  defaults: { approvalTtlMs: DEFAULT_APPROVAL_TTL_MS, evalBudgetMs: DEFAULT_EVAL_BUDGET_MS, traceBodyBytes: DEFAULT_TRACE_BODY_BYTES },
};
let check: Promise<ActionCheck> | undefined;

/**
 * `POST /v1/actions/check` after the plugin chain authenticated it: the check itself
 * (action-check.ts) is loaded on the first one, `action-check.mjs` beside the deployed bundle
 * (functions/gateway/build-action-check.ts), else the source module, so it costs the gateway
 * bundle and its init nothing. A module that cannot load is a 500 (the action is not allowed),
 * retried on the next check.
 */
export async function actionCheck(deps: ActionDeps, state: RequestState): Promise<GatewayResponse> {
  check ??= load();
  check.catch(() => (check = undefined));
  return (await check)(host, deps, state);
}

async function load(): Promise<ActionCheck> {
  const beside = new URL('./action-check.mjs', import.meta.url);
  // Variables, so no bundler follows them into the gateway bundle.
  const specifier = existsSync(beside) ? beside.href : './action-check.js';
  return ((await import(specifier)) as { actionCheck: ActionCheck }).actionCheck;
}
