import { count } from '../../governance/governance-deps.js';
import { buildInputDocument, type NormalizedMessage } from '../../governance/input-document.js';
import { intentTrigger } from '../../governance/intent-trigger.js';
import { scoreIntent, ScoringError, type ScoreResponse } from '../../governance/intent-scorer.js';
import { GatewayError } from '../../upstream/errors.js';
import type { GatewayDeps, Plugin, RequestState } from '../types.js';

/**
 * intent — does this request fit what the proxy is for? Scored by the guardrail service
 * (`POST {GUARDRAIL_URL}/score`) when the trigger axes say so. block → 403; escalate →
 * 403 and an operator notification (delivered before the invocation resolves). The
 * scorer's reason is traced, never sent to the client. Scoring errors follow
 * SLUICE_INTENT_FAIL_MODE (open by default; closed → 503 intent_unavailable).
 */
export function intentPlugin(deps: Pick<GatewayDeps, 'governance' | 'now'>): Plugin {
  return {
    name: 'intent',
    async before(state: RequestState) {
      if (state.route.kind !== 'openai') return;
      const gov = state.proxy?.governance;
      const config = gov?.enabled ? gov.intent : undefined;
      const g = deps.governance;
      if (!gov?.enabled) return void state.trace.step('intent', { mode: 'skipped', reason: 'governance off' });
      if (!config) return void state.trace.step('intent', { mode: 'skipped', reason: 'no intent configured' });
      if (!state.body) return void state.trace.step('intent', { mode: 'skipped', reason: 'no request body (model list)' });
      if (!g) return void state.trace.step('intent', { mode: 'skipped', reason: 'governance not available in this runtime' });

      const doc = buildInputDocument({
        stage: 'request',
        proxy: { id: state.proxy!.id, name: state.proxy!.name },
        org: { id: state.proxy!.orgId },
        key: { id: state.identity?.keyId ?? '' },
        endpoint: state.route.endpoint,
        ingress: state.route.ingress,
        provider: state.proxy!.provider,
        model: {},
        body: state.body.json,
        bodyBytes: state.rawBody.length,
        headers: {},
        session: { id: state.sessionId },
        properties: {},
        now: new Date(),
      });
      const messages = doc.messages as NormalizedMessage[];
      const lastUser = [...messages].reverse().find((m) => m.role === 'user')?.text ?? '';
      const toolNames = doc.tool_names as string[];
      const turn = state.session?.turn;
      const trigger = intentTrigger(config, {
        ...(turn !== undefined ? { turn } : {}),
        hasTools: toolNames.length > 0 || (doc.tool_calls as unknown[]).length > 0,
        contentChars: lastUser.length,
        draw: (g.random ?? Math.random)(),
      });
      if (!trigger.score) return void state.trace.step('intent', { mode: 'skipped', reason: trigger.reason });

      const started = deps.now();
      const failMode = g.intent?.failMode ?? 'open';
      let verdict: ScoreResponse;
      try {
        if (!g.intent) throw new ScoringError('GUARDRAIL_URL is not set');
        verdict = await scoreIntent(g.intent, {
          intent: config.intent,
          capabilities: config.capabilities ?? [],
          content: lastUser,
          system: doc.system as string,
          tool_names: toolNames,
          proxy_id: state.proxy!.id,
          trace_id: state.traceId,
          ...(turn !== undefined ? { session_turn: turn } : {}),
        });
      } catch (err) {
        count(g, 'intent_error');
        const message = err instanceof Error ? err.message : String(err);
        state.log.warn('governance_event', { event: 'intent_error', failMode, error: message });
        state.trace.step('intent', { mode: 'error', error: message, failMode }, started);
        if (failMode === 'closed') throw new GatewayError(503, 'The intent check could not be completed.', 'service_unavailable', 'intent_unavailable');
        return;
      }
      state.trace.step('intent', { mode: 'scored', action: verdict.action, ...(verdict.score !== undefined ? { score: verdict.score } : {}), ...(verdict.reason ? { reason: verdict.reason } : {}) }, started);
      if (verdict.action === 'allow') return;
      if (verdict.action === 'escalate') {
        count(g, 'escalation');
        state.trace.step('escalation', { source: 'intent', notified: g.notifier !== undefined });
        if (g.notifier) {
          // Not on the client's path, but awaited before the invocation resolves (requestEnd awaits state.pending).
          const notice = { kind: 'escalation' as const, proxyId: state.proxy!.id, keyId: state.identity?.keyId ?? '', traceId: state.traceId, reasons: verdict.reason ? [verdict.reason] : [], at: new Date().toISOString() };
          state.pending.push(
            g.notifier.notify(notice).catch((err: unknown) => {
              count(g, 'notify_error');
              state.log.warn('governance_event', { event: 'notify_error', error: (err as Error).message });
            }),
          );
        }
      }
      throw new GatewayError(403, 'This request is outside what this service is for.', 'policy_violation', verdict.action === 'escalate' ? 'intent_escalated' : 'intent_blocked');
    },
  };
}
