import { createHash } from 'node:crypto';
import { effectiveStatus, type ConsumeOutcome } from '../../governance/approvals.js';
import { evaluateDecision, type Decision } from '../../governance/decision.js';
import { ResponseCheck } from '../../governance/response-check.js';
import { RESPONSE_CHECK_ENDPOINTS, type OutputView } from '../../governance/response-output.js';
import type { Policy } from '../../rego/index.js';
import { count, type GovernanceDeps } from '../../governance/governance-deps.js';
import { buildInputDocument } from '../../governance/input-document.js';
import { PolicySignatureError } from '../../governance/signed-policy.js';
import { RegoError } from '../../rego/index.js';
import type { StoredPolicy } from '../../stores/types.js';
import { GatewayError } from '../../upstream/errors.js';
import type { BodyObserver, GatewayDeps, GatewayResponse, Plugin, RequestState } from '../types.js';
import { DEFAULT_TRACE_BODY_BYTES, setClientBody } from './trace.js';
import { EVENT_STREAM_CONTENT_TYPE } from '../../providers/bedrock/eventstream.js';

type PolicyDeps = Pick<GatewayDeps, 'governance' | 'now'> & Partial<Pick<GatewayDeps, 'pricing' | 'traceBodyBytes'>>;

/** Streamed answers the response stage reads and re-emits, per endpoint. */
const STREAM_CHECK_ENDPOINTS = new Set(['chat.completions', 'completions', 'responses', 'anthropic.messages', 'bedrock.converse-stream']);

export const DEFAULT_APPROVAL_TTL_MS = 3_600_000;
export const DEFAULT_EVAL_BUDGET_MS = 200;

/**
 * policy — the proxy's request-stage policy, before the model is called:
 * `deny` → 403 policy_violation; `hold` → 409 with X-Sluice-Approval-Id until an operator
 * approves, then the same request re-sent with that header proceeds once. Evaluation
 * failures follow the stage's fail mode (open by default; closed → 503 policy_unavailable).
 * Every decision is a trace step (the audit log): which policy version, what, why.
 */
export function policyPlugin(deps: PolicyDeps): Plugin {
  return {
    name: 'policy',
    async before(state: RequestState) {
      try {
        await requestStage(deps, state);
      } catch (err) {
        // A deny on a proxy with other targets skips its own target only; the model call tries the rest.
        if (!(err instanceof GatewayError) || err.code !== 'policy_violation' || !hasOtherTargets(state)) throw err;
        state.primaryDenied = err;
      }
      await prepareResponseStage(deps, state);
    },
    after(state: RequestState, response: GatewayResponse) {
      startResponseStage(deps, state, response);
    },
  };
}

/** Fallback or balanced targets the model call may try after (or instead of) the proxy's own. */
function hasOtherTargets(state: RequestState): boolean {
  const routing = state.proxy?.routing;
  return state.target?.via === 'proxy' && !!(routing?.fallbacks?.length || routing?.balance);
}

/** The request stage for `state.upstream` (re-run by the model call for each fallback target's provider and model). */
export async function requestStage(deps: PolicyDeps, state: RequestState): Promise<void> {
  if (state.route.kind !== 'openai') return;
  const gov = state.proxy?.governance;
  const stored = gov?.enabled ? gov.policies?.request : undefined;
  const g = deps.governance;
  if (!gov?.enabled) return void state.trace.step('policy', { stage: 'request', mode: 'skipped', reason: 'governance off' });
  if (!stored) return void state.trace.step('policy', { stage: 'request', mode: 'skipped', reason: 'no request policy configured' });
  if (!g) return void state.trace.step('policy', { stage: 'request', mode: 'skipped', reason: 'governance not available in this runtime' });
  if (!state.body) return void state.trace.step('policy', { stage: 'request', mode: 'skipped', reason: 'no request body (model list)' });

  const started = deps.now();
  const failMode = gov.failModes?.request ?? 'open';
  let decision: Decision;
  const input = requestInput(state);
  // Kept on the trace (bounded like the bodies) so a policy can be tested against it later (console).
  const text = JSON.stringify(input);
  const kept = text.length <= (deps.traceBodyBytes ?? DEFAULT_TRACE_BODY_BYTES) && { input: text };
  try {
    const entry = await g.policies.get(state.proxy!.id, stored);
    decision = evaluateDecision(entry.policy, input, { budgetMs: gov.evalBudgetMs ?? DEFAULT_EVAL_BUDGET_MS, now: new Date() });
  } catch (err) {
    const kind = failureKind(err);
    count(g, `policy_error.${kind}`);
    state.log.warn('governance_event', { event: 'policy_error', stage: 'request', kind, failMode, policyVersion: stored.version });
    state.trace.step('policy', { stage: 'request', mode: 'error', error: kind, message: messageOf(err), failMode, ...versionOf(stored) }, started);
    if (failMode === 'closed') throw new GatewayError(503, 'The request policy could not be evaluated.', 'service_unavailable', 'policy_unavailable');
    return;
  }

  const audit = { stage: 'request', mode: 'evaluated', package: decision.package, ...versionOf(stored), ...kept };
  if (decision.denyReasons.length > 0) {
    state.trace.step('policy', { ...audit, decision: 'deny', reasons: decision.denyReasons }, started);
    throw new GatewayError(403, `Denied by policy: ${decision.denyReasons.join('; ')}`, 'policy_violation', 'policy_violation');
  }
  if (decision.holdReasons.length > 0) {
    await hold(g, state, stored, decision.holdReasons, gov.approvalTtlMs ?? DEFAULT_APPROVAL_TTL_MS, audit, started);
    return;
  }
  state.trace.step('policy', { ...audit, decision: 'allow' }, started);
}

/** The response stage of a request, found again in `after`; its observer is registered before the model call. */
interface PendingResponseStage {
  policy: Policy;
  stored: StoredPolicy;
  rules: Decision;
  failMode: 'open' | 'closed';
  budgetMs: number;
  check?: ResponseCheck;
}
const responseStages = new WeakMap<RequestState, PendingResponseStage>();

async function prepareResponseStage(deps: Pick<GatewayDeps, 'governance' | 'now'>, state: RequestState): Promise<void> {
  if (state.route.kind !== 'openai') return;
  const gov = state.proxy?.governance;
  const stored = gov?.enabled ? gov.policies?.response : undefined;
  const g = deps.governance;
  if (!gov?.enabled || !stored || !g || !state.body) return;
  const step = (attributes: Record<string, unknown>, started?: number) => state.trace.step('policy', { stage: 'response', ...versionOf(stored), ...attributes }, started);
  if (!RESPONSE_CHECK_ENDPOINTS.has(state.route.endpoint)) {
    step({ mode: 'skipped', reason: `no model output text to check on ${state.route.ingress} ${state.route.endpoint}` });
    return;
  }
  const failMode = gov.failModes?.response ?? 'open';
  const budgetMs = gov.evalBudgetMs ?? DEFAULT_EVAL_BUDGET_MS;
  const started = deps.now();
  try {
    const entry = await g.policies.get(state.proxy!.id, stored);
    // The streaming rules are read up front (from the request alone) to choose the mode.
    const rules = evaluateDecision(entry.policy, { ...requestInput(state), stage: 'response' }, { budgetMs, now: new Date(), only: ['stream_redact', 'stream_deny'] });
    const pending: PendingResponseStage = { policy: entry.policy, stored, rules, failMode, budgetMs };
    responseStages.set(state, pending);
    // First in line: it must finish (and trace) before the trace plugin completes the trace.
    const delegate: BodyObserver = {
      onChunk: (chunk) => pending.check?.onChunk(chunk),
      onEvent: (event) => pending.check?.onEvent(event),
      onEnd: (outcome) => pending.check?.onEnd(outcome),
    };
    state.observers.unshift(delegate);
  } catch (err) {
    const kind = failureKind(err);
    count(g, `policy_error.${kind}`);
    state.log.warn('governance_event', { event: 'policy_error', stage: 'response', kind, failMode, policyVersion: stored.version });
    step({ mode: 'error', error: kind, message: messageOf(err), failMode }, started);
    if (failMode === 'closed') throw new GatewayError(503, 'The response policy could not be evaluated.', 'service_unavailable', 'policy_unavailable');
  }
}

function startResponseStage(deps: PolicyDeps, state: RequestState, response: GatewayResponse): void {
  const pending = responseStages.get(state);
  if (!pending || state.route.kind !== 'openai') return;
  const endpoint = state.route.endpoint;
  const contentType = response.headers['content-type'] ?? '';
  const sse = contentType.startsWith('text/event-stream');
  const eventStream = contentType.startsWith(EVENT_STREAM_CONTENT_TYPE);
  const record = (attributes: Record<string, unknown>) => state.trace.step('policy', { stage: 'response', ...versionOf(pending.stored), ...attributes });
  const check = new ResponseCheck({
    endpoint,
    sse,
    eventStream,
    keepBytes: deps.traceBodyBytes ?? DEFAULT_TRACE_BODY_BYTES,
    rules: { redact: pending.rules.streamRedact, deny: pending.rules.streamDeny },
    failMode: pending.failMode,
    record,
    evaluate: (output: OutputView) =>
      evaluateDecision(
        pending.policy,
        { ...requestInput(state), stage: 'response', output, usage: state.usage ? { prompt_tokens: state.usage.promptTokens, completion_tokens: state.usage.completionTokens, total_tokens: state.usage.totalTokens } : null, cost: costOf(deps, state) },
        { budgetMs: pending.budgetMs, now: new Date() },
      ),
  });
  pending.check = check;
  if (response.statusCode < 200 || response.statusCode >= 300) return check.deactivate(`upstream status ${response.statusCode}`);
  if (typeof response.body === 'string') return check.deactivate('no model output in this response');
  if ((sse || eventStream) && !STREAM_CHECK_ENDPOINTS.has(endpoint)) return check.deactivate(`streamed ${endpoint} responses are not checked`);
  if (eventStream && endpoint !== 'bedrock.converse-stream') return check.deactivate(`an event-stream body on ${endpoint} is not checked`);
  response.body = check.wrap(response.body);
  // The trace keeps what the client got (masked), never the upstream's text.
  setClientBody(state, () => check.clientBody());
  // The body may change length.
  delete response.headers['content-length'];
}

/** A hold (or the use of an approval) for the request's body; shared by the request and action stages. Throws the 409/403, or returns once an approval was consumed. */
export async function hold(
  g: GovernanceDeps,
  state: RequestState,
  stored: StoredPolicy,
  reasons: string[],
  ttlMs: number,
  audit: Record<string, unknown>,
  started: number,
): Promise<void> {
  const binding = { proxyId: state.proxy!.id, keyId: state.identity!.keyId, bodyHash: createHash('sha256').update(state.rawBody).digest('hex') };
  const presented = state.sluiceHeaders.approvalId;
  const wallNow = Date.now();
  if (presented) {
    const outcome = await g.approvals.consume(presented, binding, wallNow);
    if (outcome === 'consumed') {
      const record = await g.approvals.get(presented);
      state.trace.step('policy', { ...audit, decision: 'approved', reasons, approvalId: presented, approvedBy: record?.decidedBy, approvedAt: record?.decidedAt }, started);
      return;
    }
    if (outcome === 'pending') {
      state.trace.step('policy', { ...audit, decision: 'hold', reasons, approvalId: presented, created: false }, started);
      throw holdError(presented);
    }
    state.trace.step('policy', { ...audit, decision: 'deny', reasons, approvalId: presented, approval: outcome }, started);
    throw new GatewayError(403, approvalRefusal(outcome), 'policy_violation', `approval_${outcome}`);
  }
  const { record, created } = await g.approvals.hold({ ...binding, reasons, policyVersion: stored.version, traceId: state.traceId, ttlMs }, wallNow);
  // Only new holds count (the alarm's metric); an identical pending request is a repeat.
  count(g, created ? 'hold' : 'hold_repeat');
  state.log.info('governance_event', { event: created ? 'hold' : 'hold_repeat', approvalId: record.id });
  if (created && g.notifier) {
    // Awaited: the notification is delivered before the handler resolves (Lambda drops pending promises).
    try {
      await g.notifier.notify({ kind: 'hold', proxyId: binding.proxyId, keyId: binding.keyId, traceId: state.traceId, approvalId: record.id, reasons, at: record.createdAt });
    } catch (err) {
      count(g, 'notify_error');
      state.log.warn('governance_event', { event: 'notify_error', error: messageOf(err) });
    }
  }
  state.trace.step('policy', { ...audit, decision: 'hold', reasons, approvalId: record.id, created, expiresAt: record.expiresAt, status: effectiveStatus(record, wallNow) }, started);
  throw holdError(record.id);
}

function holdError(id: string): GatewayError {
  return new GatewayError(
    409,
    `This request is held for approval (${id}). Poll GET /a/{proxyId}/approvals/${id}, then re-send the same request with X-Sluice-Approval-Id.`,
    'policy_violation',
    'approval_required',
    null,
    // The OpenAI SDK retries a 409 twice unless told not to.
    { 'x-sluice-approval-id': id, 'x-should-retry': 'false' },
  );
}

function approvalRefusal(outcome: Exclude<ConsumeOutcome, 'consumed' | 'pending'>): string {
  switch (outcome) {
    case 'denied':
      return 'The held request was denied by an operator.';
    case 'expired':
      return 'The approval has expired.';
    case 'used':
      return 'The approval was already used.';
    default:
      return 'The approval does not match this request.';
  }
}

/** The request's cost in USD from the price book and the usage known so far; null when either is unknown. */
function costOf(deps: PolicyDeps, state: RequestState): number | null {
  if (!deps.pricing || !state.usage || !state.upstream) return null;
  const cost = deps.pricing.cost(state.upstream.provider, state.upstream.modelResolved, state.usage, state.proxy?.id);
  return cost.unknown ? null : cost.usd;
}

/** The proxy's static policy data (`governance.data`, an object), else {}. */
export function policyData(state: RequestState): Record<string, unknown> {
  const data: unknown = state.proxy?.governance?.data;
  return data && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : {};
}

function requestInput(state: RequestState): Record<string, unknown> {
  const route = state.route.kind === 'openai' ? state.route : undefined;
  const proxy = state.proxy!;
  return buildInputDocument({
    stage: 'request',
    proxy: { id: proxy.id, name: proxy.name },
    org: { id: proxy.orgId },
    key: { id: state.identity?.keyId ?? '', ...(state.key?.name ? { name: state.key.name } : {}) },
    endpoint: route?.endpoint ?? '',
    ingress: route?.ingress ?? 'openai',
    provider: state.upstream?.provider ?? proxy.provider,
    model: { ...(state.upstream?.modelRequested ? { requested: state.upstream.modelRequested } : {}), ...(state.upstream?.modelResolved ? { resolved: state.upstream.modelResolved } : {}) },
    body: state.body?.json ?? {},
    bodyBytes: state.rawBody.length,
    headers: state.headers,
    session: {
      id: state.session?.id ?? state.sessionId,
      ...(state.session?.turn !== undefined ? { turn: state.session.turn } : {}),
      ...(state.sluiceHeaders.sessionPath ? { path: state.sluiceHeaders.sessionPath } : {}),
      ...(state.session?.strategy ? { strategy: state.session.strategy } : {}),
    },
    properties: state.sluiceHeaders.properties,
    data: policyData(state),
    now: new Date(),
  });
}

export function versionOf(stored: StoredPolicy) {
  return { policyVersion: stored.version, policyHash: stored.sha256.slice(0, 12) };
}

export function failureKind(err: unknown): string {
  if (err instanceof PolicySignatureError) return 'signature';
  if (err instanceof RegoError) return err.code;
  return 'internal';
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message.slice(0, 300) : String(err);
}
