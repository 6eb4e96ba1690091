import { ResponseCapture, toolResultsIn, truncateBody } from '../../traces/body-capture.js';
import { stepRows, type TraceStepRow } from '../../traces/rows.js';
import type { TraceBatch } from '../../traces/sink.js';
import { GatewayError } from '../../upstream/errors.js';
import type { GatewayDeps, Plugin, RequestState } from '../types.js';

export const DEFAULT_TRACE_BODY_BYTES = 32 * 1024;

export type TraceDeps = Pick<GatewayDeps, 'traceSink' | 'logger' | 'now'> & Partial<Pick<GatewayDeps, 'pricing' | 'traceBodyBytes' | 'metrics'>>;

/** What the session plugin leaves on the state (read structurally: the session plugin owns the field). */
interface SessionAware {
  session?: { strategy: string; turn?: number; refusedId?: string };
}

/** Per-request response capture, found again by completeTrace. */
const captures = new WeakMap<RequestState, ResponseCapture>();
/** The body the client got, when a plugin (the response policy) rewrote the upstream's. */
const clientBodies = new WeakMap<RequestState, () => { body: Buffer; totalBytes: number }>();

/**
 * Tells the trace that the client's body is not the upstream's (the response stage masked
 * or blocked it): the trace then keeps `read()`'s bytes as the response body, so the
 * unmasked text never reaches a trace sink. `read` is called when the body has ended.
 */
export function setClientBody(state: RequestState, read: () => { body: Buffer; totalBytes: number }): void {
  clientBodies.set(state, read);
}

/**
 * trace — one trace per request: `request_received` (with the request body) and a
 * `tool` step per tool result the client sends on the way in; the `llm` step comes
 * from the model call; when the body is complete (streamed or not) a `tool` step per
 * tool call the model made, cost from the usage, and `request_finished` (with the
 * response body). Persistence is asynchronous: it never delays the client. The
 * invocation awaits what the trace writer returns at the very end: locally nothing (the
 * trace is queued), in Lambda its rows for at most 500 ms (Lambda freezes the
 * environment once the handler resolves).
 */
export function tracePlugin(deps: TraceDeps): Plugin {
  const limit = deps.traceBodyBytes ?? DEFAULT_TRACE_BODY_BYTES;
  return {
    name: 'trace',
    before(state: RequestState) {
      // An action check's arguments are kept on its `tool` step, masked by the action policy (action-check.ts), not here.
      const action = state.route.kind === 'action';
      state.trace.step('request_received', {
        method: state.route.kind === 'openai' ? state.route.method : action ? 'POST' : 'GET',
        endpoint: state.route.kind === 'openai' ? state.route.endpoint : action ? 'actions.check' : 'health',
        bytes: state.rawBody.length,
        ...(limit > 0 && state.rawBody.length && !action ? { requestBody: truncateBody(state.rawBody, limit) } : {}),
      });
      for (const tool of toolResultsIn(state.body?.json)) state.trace.step('tool', { ...tool });
      const capture = new ResponseCapture(limit);
      captures.set(state, capture);
      state.observers.push({
        onChunk: (chunk) => capture.onChunk(chunk),
        onEvent: (event) => capture.onEvent(event),
        onEnd: ({ error }) => completeTrace(deps, state, error ? { error: error.message, ...(error instanceof GatewayError && error.code ? { errorCode: error.code } : {}) } : {}),
      });
    },
  };
}

/**
 * Finishes the trace once and hands its not-yet-written steps to the sink; later calls
 * (racing stream and error hooks) find nothing left to write.
 */
export function completeTrace(deps: TraceDeps, state: RequestState, attributes: Record<string, unknown>): void {
  const limit = deps.traceBodyBytes ?? DEFAULT_TRACE_BODY_BYTES;
  const trace = state.trace;
  // Console and admin requests are never traced, nor model listings (GET /models): no
  // model is called and nothing is spent, so a trace would only count as unpriced spend.
  if (trace.isFinished || state.route.kind === 'console' || (state.route.kind === 'openai' && state.route.endpoint === 'models')) return;
  // Refused before the trace plugin ran (bad key, bad header): the trace still starts
  // with its arrival.
  if (!trace.find('request_received')) {
    const received = trace.step('request_received', { bytes: state.rawBody.length }, state.startedAt);
    delete received.durationMs;
  }
  const now = deps.now();
  const capture = captures.get(state);
  const llm = trace.find('llm');
  // TTFT of the model call: from sending upstream to its first body byte. The gateway's
  // own time before sending is overheadMs; the client saw roughly the sum.
  const ttftMs = state.firstByteAt !== undefined && llm ? round(state.firstByteAt - state.startedAt - llm.offsetMs) : undefined;
  if (llm) {
    // The llm step spans the whole exchange: from sending to the body's last byte.
    llm.durationMs = round(now - state.startedAt - llm.offsetMs);
    if (state.usage) llm.attributes.usage = state.usage;
    for (const call of capture?.toolCalls() ?? []) trace.step('tool', { ...call }, undefined, llm.stepId);
  }
  const a = trace.record.attributes;
  const cost = llm && deps.pricing ? deps.pricing.cost(String(a.provider ?? ''), a.modelResolved as string | undefined, state.usage, a.proxyId as string | undefined) : undefined;
  const session = (state as SessionAware).session;
  const client = clientBodies.get(state)?.();
  const responseBody = client ? (limit > 0 && client.totalBytes > 0 ? truncateBody(client.body, limit, client.totalBytes) : undefined) : capture?.body();
  trace.record.sessionId = state.sessionId;
  const finished = trace.finish(
    {
      ...attributes,
      ...(session ? { sessionStrategy: session.strategy, ...(session.turn !== undefined ? { sessionTurn: session.turn } : {}), ...(session.refusedId ? { sessionRefusedId: session.refusedId } : {}) } : {}),
      ...(state.usage ? { usage: state.usage } : {}),
      ...(cost ? { cost: { usd: cost.usd, unknown: cost.unknown, pricingVersion: cost.pricingVersion, ...(cost.pricedAs ? { pricedAs: cost.pricedAs } : {}) } } : {}),
      ...(ttftMs !== undefined ? { ttftMs } : {}),
      ...(state.overheadMs !== undefined ? { overheadMs: round(state.overheadMs) } : {}),
    },
    responseBody ? { responseBody } : {},
  );
  if (!finished) return;
  state.log.info('request finished', {
    status: a.status,
    endpoint: a.endpoint,
    model: a.modelResolved,
    latencyMs: a.latencyMs,
    ttftMs,
    usage: state.usage,
    ...(cost ? { costUsd: cost.usd } : {}),
    ...(a.error ? { error: a.error } : {}),
  });
  persist(deps, state);
  // One EMF line per request, from the finished trace (awaited with the trace write at the invocation's end).
  // The metric set is built in a lazily loaded module (never evaluated at Lambda init: the init bundle has a byte budget).
  const emitter = deps.metrics;
  if (emitter) {
    const allowed = state.proxy?.allowedModels;
    state.pending.push(loadMetrics().then((m) => emitter.emit(m.metricsFromTrace(trace.record, allowed)), (err: Error) => state.log.warn('metrics not emitted', { error: err.message })));
  }
}

let metricsModule: Promise<typeof import('../../observability/metrics.js')> | undefined;
const loadMetrics = () => (metricsModule ??= import('../../observability/metrics.js'));

/** Writes the steps not yet written. Never throws, never rejects: the writer absorbs sink failures. */
function persist(deps: TraceDeps, state: RequestState): void {
  const steps = state.trace.takeUnpersisted();
  if (steps.length === 0) return;
  const record = { ...state.trace.record, steps };
  // Rows are built only for sinks that read them (ClickHouse, Firehose, stdout); the JSONL sink writes the record.
  let rows: TraceStepRow[] | undefined;
  const batch: TraceBatch = {
    record,
    rowCount: steps.length,
    get rows() {
      return (rows ??= stepRows(record));
    },
  };
  // Only the id is captured: the write may outlive the request, which must not keep its state alive.
  const traceId = state.traceId;
  const logger = deps.logger;
  const write = deps.traceSink.write(batch).catch((err: Error) => {
    logger.warn('trace write failed', { traceId, error: err.message });
  });
  state.pending.push(write);
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;
