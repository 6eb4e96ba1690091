import { randomUUID } from 'node:crypto';
import type { Request as MiddyRequest } from '@middy/core';
import { requestLog } from '../observability/request-log.js';
import { TraceRecorder } from '../traces/recorder.js';
import { otelContextFor } from '../traces/otlp/trace-context.js';
import { GatewayError, notFound } from '../upstream/errors.js';
import { parseSluiceHeaders, validSessionId, type SluiceRequestHeaders } from './request-headers.js';
import { decodeEventBody } from './request-body.js';
import { matchRoute, type Route } from './routes.js';
import { completeTrace } from './plugins/trace.js';
import { errorResponseFor } from '../providers/ingress-errors.js';
import type { FunctionUrlEvent, GatewayDeps, GatewayResponse, LambdaContext, RequestState } from './types.js';

export type GatewayMiddyRequest = MiddyRequest<FunctionUrlEvent, GatewayResponse, Error, LambdaContext>;

/** Per-request state, keyed by the invocation's event object (Middy hands the same object to the handler). */
const states = new WeakMap<object, RequestState>();

/** The typed per-request state; set by the envelope before any plugin runs. */
export function stateOf(request: GatewayMiddyRequest): RequestState {
  return stateOfEvent(request.event);
}

export function stateOfEvent(event: FunctionUrlEvent): RequestState {
  const state = states.get(event);
  if (!state) throw new Error('request state missing: the envelope middleware must run first');
  return state;
}

export function maybeStateOf(request: GatewayMiddyRequest): RequestState | undefined {
  return states.get(request.event);
}

/**
 * The outer wrapper, first on every request: mints the trace id, validates the
 * X-Sluice-* headers and the body size, answers /healthz, and guarantees
 * X-Sluice-Trace-Id and X-Sluice-Session-Id on every response, errors included.
 */
export function envelope(deps: Pick<GatewayDeps, 'logger' | 'traceSink' | 'now'>) {
  return {
    name: 'envelope',
    before(request: GatewayMiddyRequest): GatewayResponse | undefined {
      const event = request.event;
      const startedAt = deps.now();
      const traceId = randomUUID();
      const headers = lowerCaseHeaders(event.headers);
      let pendingError: unknown;
      let sluiceHeaders: SluiceRequestHeaders = { properties: {} };
      try {
        sluiceHeaders = parseSluiceHeaders(headers);
      } catch (err) {
        pendingError = err;
      }
      const method = event.requestContext?.http?.method ?? 'GET';
      const match = matchRoute(method, event.rawPath ?? '/', headers);
      let rawBody: Buffer = Buffer.alloc(0);
      if (pendingError === undefined) {
        try {
          rawBody = decodeEventBody(event.body, event.isBase64Encoded);
        } catch (err) {
          pendingError = err;
        }
      }
      const route: Route = match.ok ? match.route : { kind: 'health' };
      const trace = new TraceRecorder(traceId, startedAt, deps.now, new Date().toISOString());
      const state: RequestState = {
        traceId,
        startedAt,
        route,
        headers,
        sluiceHeaders,
        // Even when another X-Sluice header is malformed, a valid client session id is kept.
        sessionId: sluiceHeaders.sessionId ?? validSessionId(headers) ?? randomUUID(),
        rawBody,
        trace,
        log: requestLog(deps.logger, { traceId }),
        observers: [],
        pending: [],
      };
      trace.record.sessionId = state.sessionId;
      trace.record.properties = sluiceHeaders.properties;
      trace.record.otel = otelContextFor(traceId, headers.traceparent);
      if (sluiceHeaders.parentTraceId) trace.record.parentTraceId = sluiceHeaders.parentTraceId;
      if (sluiceHeaders.flowId) trace.record.flowId = sluiceHeaders.flowId;
      if (sluiceHeaders.sessionPath) trace.record.sessionPath = sluiceHeaders.sessionPath;
      states.set(event, state);

      if (pendingError !== undefined) throw pendingError;
      if (!match.ok) {
        if (match.status === 405) {
          throw new GatewayError(405, `Method ${method} is not allowed on ${event.rawPath}.`, 'invalid_request_error', 'method_not_allowed', null, match.allow ? { allow: match.allow } : {});
        }
        throw notFound(`Unknown route: ${method} ${event.rawPath}.`);
      }
      if (route.kind === 'health') {
        return stamp(state, { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"status":"ok"}' });
      }
      return undefined;
    },
    after(request: GatewayMiddyRequest) {
      const state = stateOf(request);
      if (request.response) request.response = stamp(state, request.response);
    },
    onError(request: GatewayMiddyRequest): GatewayResponse {
      const state = maybeStateOf(request);
      const error = toGatewayError(request.error);
      if (!(request.error instanceof GatewayError)) {
        (state?.log ?? deps.logger).error('unhandled error', { error: request.error instanceof Error ? request.error.message : String(request.error) });
      }
      // Anthropic- or Bedrock-shaped on their native ingress, OpenAI-shaped everywhere else.
      const shaped = errorResponseFor(state?.route, error);
      const response: GatewayResponse = {
        statusCode: error.status,
        headers: { 'content-type': 'application/json', ...error.headers, ...shaped.headers },
        body: shaped.body,
      };
      if (!state) return { ...response, headers: { ...response.headers, 'x-sluice-trace-id': randomUUID(), 'x-sluice-session-id': randomUUID() } };
      completeTrace(deps, state, { status: error.status, error: { type: error.type, code: error.code, message: error.message } });
      return stamp(state, response);
    },
  };
}

export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError(500, 'The gateway failed to process this request.', 'api_error', 'internal_error');
}

function stamp(state: RequestState, response: GatewayResponse): GatewayResponse {
  const headers: Record<string, string> = {
    ...response.headers,
    'x-sluice-trace-id': state.traceId,
    'x-sluice-session-id': state.sessionId,
  };
  if (state.overheadMs !== undefined) headers['x-sluice-overhead-ms'] = state.overheadMs.toFixed(3);
  if (state.attempts !== undefined) headers['x-sluice-attempts'] = String(state.attempts);
  if (state.servedBy !== undefined) headers['x-sluice-served-by'] = state.servedBy;
  if (state.cache !== undefined) headers['x-sluice-cache'] = state.cache.result;
  return { ...response, headers };
}

function lowerCaseHeaders(headers: FunctionUrlEvent['headers'] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) out[name.toLowerCase()] = value;
  }
  return out;
}
