import type { GatewayDeps, Plugin, RequestState } from '../types.js';

/**
 * trace — one record per request: `request_received` on the way in, the `llm` step
 * and `request_finished` when the body is complete (streamed or not), persisted
 * asynchronously. The write never delays the client; the invocation awaits it at
 * the very end (Lambda does not wait for dangling promises).
 */
export function tracePlugin(deps: Pick<GatewayDeps, 'traceSink' | 'logger' | 'now'>): Plugin {
  return {
    name: 'trace',
    before(state: RequestState) {
      state.trace.step('request_received', {
        method: state.route.kind === 'openai' ? state.route.method : 'GET',
        endpoint: state.route.kind === 'openai' ? state.route.endpoint : 'health',
        bytes: state.rawBody.length,
      });
      state.observers.push({ onEnd: ({ error }) => completeTrace(deps, state, error ? { error: error.message } : {}) });
    },
  };
}

/** Finishes and persists the trace once; later calls (racing stream hooks) do nothing. */
export function completeTrace(deps: Pick<GatewayDeps, 'traceSink' | 'logger' | 'now'>, state: RequestState, attributes: Record<string, unknown>): void {
  const ttftMs = state.firstByteAt !== undefined ? round(state.firstByteAt - state.startedAt) : undefined;
  if (!state.trace.finish({ ...attributes, usage: state.usage, ttftMs, overheadMs: state.overheadMs })) return;
  const a = state.trace.record.attributes;
  state.log.info('request finished', {
    status: a.status,
    endpoint: a.endpoint,
    model: a.modelResolved,
    latencyMs: round(deps.now() - state.startedAt),
    ttftMs,
    usage: state.usage,
    ...(a.error ? { error: a.error } : {}),
  });
  const write = deps.traceSink.write(state.trace.record).catch((err: Error) => {
    deps.logger.warn('trace write failed', { traceId: state.traceId, error: err.message });
  });
  state.pending.push(write);
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;
