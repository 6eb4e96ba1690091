/**
 * The action check (`POST /v1/actions/check`). The handler imports this module on the first
 * check (a plain dynamic import: in the deployed bundle it is a lazy chunk, lib/split-bundle.ts),
 * so none of it is evaluated at Lambda init.
 */
import { buildActionInputDocument } from '../governance/action-input.js';
import { count } from '../governance/governance-deps.js';
import { evaluateDecision, type Decision, type RedactRule } from '../governance/decision.js';
import { maskPatterns } from '../governance/redact.js';
import { truncateBody } from '../traces/body-capture.js';
import { badRequest, GatewayError } from '../upstream/errors.js';
import { DEFAULT_APPROVAL_TTL_MS, DEFAULT_EVAL_BUDGET_MS, failureKind, hold, messageOf, policyData, versionOf } from './plugins/policy.js';
import { completeTrace, DEFAULT_TRACE_BODY_BYTES } from './plugins/trace.js';
import { isUuid } from './request-headers.js';
import type { GatewayDeps, GatewayResponse, RequestState } from './types.js';

/** Longest action name accepted (names are identifiers such as `delete_database`, not text). */
export const MAX_ACTION_NAME_LENGTH = 256;

/** The body of `POST /v1/actions/check`. */
export interface ActionRequest {
  action: string;
  arguments: Record<string, unknown>;
  sessionId?: string;
  parentTraceId?: string;
}

const FIELDS = new Set(['action', 'arguments', 'session_id', 'parent_trace_id']);

/** Parses and checks the body; every problem is a 400 naming the field (values never echoed). Pure. */
export function parseActionRequest(raw: Buffer): ActionRequest {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw badRequest('The request body must be JSON: {"action": "<name>", "arguments": {…}}.', 'invalid_json');
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('The request body must be a JSON object.', 'invalid_request');
  const o = body as Record<string, unknown>;
  for (const name of Object.keys(o)) {
    if (!FIELDS.has(name)) throw badRequest(`Unknown field '${name.slice(0, 64)}': an action check takes action, arguments, session_id and parent_trace_id.`, 'unknown_parameter', name.slice(0, 64));
  }
  if (typeof o.action !== 'string' || o.action.trim() === '') throw badRequest("'action' is required: the name of the action, e.g. \"delete_database\".", 'missing_required_parameter', 'action');
  if (o.action.length > MAX_ACTION_NAME_LENGTH) throw badRequest(`'action' is longer than ${MAX_ACTION_NAME_LENGTH} characters.`, 'invalid_value', 'action');
  const args = o.arguments ?? {};
  if (!args || typeof args !== 'object' || Array.isArray(args)) throw badRequest("'arguments' must be a JSON object.", 'invalid_type', 'arguments');
  const out: ActionRequest = { action: o.action, arguments: args as Record<string, unknown> };
  for (const [field, key] of [['session_id', 'sessionId'], ['parent_trace_id', 'parentTraceId']] as const) {
    const v = o[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string' || !isUuid(v)) throw badRequest(`'${field}' must be a UUID.`, 'invalid_value', field);
    out[key] = v.toLowerCase();
  }
  return out;
}

/** The arguments as the trace keeps them: masked by the policy's `redact` patterns, then cut to the body limit. */
export function tracedArguments(args: Record<string, unknown>, redact: RedactRule[], limit: number): { text?: string; masked: number } {
  if (limit <= 0) return { masked: 0 };
  const patterns = redact.flatMap((r) => (r.pattern ? [r.pattern] : []));
  const { text, masked } = maskPatterns(JSON.stringify(args), patterns);
  return { text: truncateBody(text, limit), masked };
}

/** The action's policy input document as its policy step keeps it: masked, and only when whole within the body limit. */
export function keptInput(input: Record<string, unknown>, redact: RedactRule[], limit: number): string | undefined {
  const patterns = redact.flatMap((r) => (r.pattern ? [r.pattern] : []));
  const { text } = maskPatterns(JSON.stringify(input), patterns);
  return text.length <= limit ? text : undefined;
}

export type ActionDeps = Pick<GatewayDeps, 'governance' | 'now' | 'traceSink' | 'logger'> & Partial<Pick<GatewayDeps, 'traceBodyBytes'>>;

/**
 * `POST /v1/actions/check` (after auth): the proxy's action-stage policy judges an action
 * an agent is about to run. allow → 200 `{"decision":"allow","trace_id"}`; deny → 403
 * policy_violation with the reasons; hold → 409 with X-Sluice-Approval-Id (the request
 * stage's approvals: re-check with the same body and that header). No action policy →
 * 200 `{"decision":"allow","policy":"none"}`. An engine failure fails closed by default
 * (503 policy_unavailable; `failModes.action: open` lets it through, saying so). Each check
 * is a `policy` step and a `tool` step (`direction: "action"`) in the session's trace; no spend.
 */
export async function actionCheck(deps: ActionDeps, state: RequestState): Promise<GatewayResponse> {
  if (state.route.kind !== 'action' || !state.proxy || !state.identity) throw new Error('actionCheck reached without an authenticated action route');
  /** A refused check (deny, hold): the gateway's error body plus the decision, the reasons and the approval id. */
  const refusal = (from: GatewayError, extra: Record<string, unknown>): GatewayError =>
    Object.assign(new GatewayError(from.status, from.message, from.type, from.code, from.param, from.headers), {
      toBody: () => ({ error: { message: from.message, type: from.type, code: from.code, param: from.param }, ...extra }),
    });

  const request = parseActionRequest(state.rawBody);
  adoptSession(state, request);
  state.trace.set({ endpoint: 'actions.check', action: request.action });

  const gov = state.proxy.governance;
  const stored = gov?.enabled ? gov.policies?.action : undefined;
  const limit = deps.traceBodyBytes ?? DEFAULT_TRACE_BODY_BYTES;
  const toolStep = (decision: string, redact: RedactRule[], extra: Record<string, unknown> = {}) => {
    const args = tracedArguments(request.arguments, redact, limit);
    state.trace.step('tool', { direction: 'action', name: request.action, ...(args.text !== undefined ? { content: args.text } : {}), ...(args.masked ? { masked: args.masked } : {}), decision, ...extra });
  };
  const answer = (body: Record<string, unknown>): GatewayResponse => {
    completeTrace(deps, state, { status: 200, decision: body.decision });
    return { statusCode: 200, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, body: JSON.stringify({ ...body, trace_id: state.traceId }) };
  };

  if (!stored) {
    const reason = gov?.enabled ? 'no action policy configured' : 'governance off';
    state.trace.step('policy', { stage: 'action', mode: 'skipped', reason });
    toolStep('allow', [], { policy: 'none' });
    return answer({ decision: 'allow', policy: 'none' });
  }

  const started = deps.now();
  const failMode = gov!.failModes?.action ?? 'closed';
  const g = deps.governance;
  let decision: Decision;
  let input: Record<string, unknown> | undefined;
  try {
    if (!g) throw new Error('governance is not available in this runtime');
    const entry = await g.policies.get(state.proxy.id, stored);
    input = actionInput(state, request);
    decision = evaluateDecision(entry.policy, input, { budgetMs: gov!.evalBudgetMs ?? DEFAULT_EVAL_BUDGET_MS, now: new Date() });
  } catch (err) {
    const kind = failureKind(err);
    if (g) count(g, `policy_error.${kind}`);
    state.log.warn('governance_event', { event: 'policy_error', stage: 'action', kind, failMode, policyVersion: stored.version });
    state.trace.step('policy', { stage: 'action', mode: 'error', error: kind, message: messageOf(err), failMode, ...versionOf(stored) }, started);
    if (failMode === 'closed') {
      toolStep('error', [], { failMode });
      throw new GatewayError(503, 'The action policy could not be evaluated, so the action is not allowed (fail mode closed).', 'service_unavailable', 'policy_unavailable');
    }
    toolStep('allow', [], { policy: 'error', failMode });
    return answer({ decision: 'allow', policy: 'error', fail_mode: 'open' });
  }

  // The input document, kept on the policy step as the request stage keeps its own (console: test a
  // policy against it), masked by the policy's redact patterns as the tool step's arguments are.
  const kept = input !== undefined ? keptInput(input, decision.redact, limit) : undefined;
  const audit = { stage: 'action', mode: 'evaluated', package: decision.package, ...versionOf(stored), ...(kept !== undefined ? { input: kept } : {}) };
  if (decision.denyReasons.length > 0) {
    state.trace.step('policy', { ...audit, decision: 'deny', reasons: decision.denyReasons }, started);
    toolStep('deny', decision.redact, { reasons: decision.denyReasons });
    const denied = new GatewayError(403, `Denied by policy: ${decision.denyReasons.join('; ')}`, 'policy_violation', 'policy_violation');
    throw refusal(denied, { decision: 'deny', reasons: decision.denyReasons, trace_id: state.traceId });
  }
  if (decision.holdReasons.length > 0) {
    try {
      await hold(g!, state, stored, decision.holdReasons, gov!.approvalTtlMs ?? DEFAULT_APPROVAL_TTL_MS, audit, started);
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      const approvalId = err.headers['x-sluice-approval-id'] ?? state.sluiceHeaders.approvalId;
      const held = err.status === 409;
      toolStep(held ? 'hold' : 'deny', decision.redact, { reasons: decision.holdReasons, ...(approvalId ? { approvalId } : {}) });
      const issued = err.headers['x-sluice-approval-id'];
      throw refusal(err, { decision: held ? 'hold' : 'deny', reasons: decision.holdReasons, ...(issued ? { approval_id: issued } : {}), trace_id: state.traceId });
    }
    // An approval for this very body was consumed: the action may run, once.
    toolStep('allow', decision.redact, { approvalId: state.sluiceHeaders.approvalId });
    return answer({ decision: 'allow', approval_id: state.sluiceHeaders.approvalId });
  }
  state.trace.step('policy', { ...audit, decision: 'allow' }, started);
  toolStep('allow', decision.redact);
  return answer({ decision: 'allow' });
}

/**
 * The body's session_id / parent_trace_id win over the headers; the check is then a step of
 * that session (strategy `header`: the client's own id, wherever it sent it).
 */
function adoptSession(state: RequestState, request: ActionRequest): void {
  if (request.sessionId) {
    state.sessionId = request.sessionId;
    state.session = { id: request.sessionId, strategy: 'header' };
    state.trace.record.sessionId = request.sessionId;
    state.trace.set({ sessionStrategy: 'header' });
  }
  if (request.parentTraceId) state.trace.record.parentTraceId = request.parentTraceId;
}

function actionInput(state: RequestState, request: ActionRequest): Record<string, unknown> {
  const proxy = state.proxy!;
  return buildActionInputDocument({
    proxy: { id: proxy.id, name: proxy.name },
    org: { id: proxy.orgId },
    key: { id: state.identity!.keyId, ...(state.key?.name ? { name: state.key.name } : {}) },
    action: request.action,
    arguments: request.arguments,
    headers: state.headers,
    session: {
      id: state.sessionId,
      ...(state.sluiceHeaders.sessionPath ? { path: state.sluiceHeaders.sessionPath } : {}),
      strategy: state.session?.strategy ?? (state.sluiceHeaders.sessionId ? 'header' : 'new'),
    },
    properties: state.sluiceHeaders.properties,
    ...(state.trace.record.parentTraceId ? { parentTraceId: state.trace.record.parentTraceId } : {}),
    data: policyData(state),
    now: new Date(),
  });
}
