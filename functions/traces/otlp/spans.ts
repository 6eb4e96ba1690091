import type { TraceRecord, TraceStep } from '../recorder.js';
import type { TraceCost } from '../rows.js';
import { attributes, double, SPAN_KIND, STATUS_CODE, type ExportTraceServiceRequest, type KeyValue, type OtlpSpan } from './model.js';
import { hex16, otelContextFor, type OtelContext } from './trace-context.js';

export interface SpanOptions {
  /** Put prompt and completion text on the spans (SLUICE_OTEL_CAPTURE_CONTENT); they are redacted first. */
  captureContent: boolean;
  /** Also set the deprecated `gen_ai.system` (SLUICE_OTEL_GEN_AI_SYSTEM), for backends that still read it. */
  legacySystem: boolean;
  /** Masks secrets in captured text before it leaves (redact.ts). */
  redact: (text: string) => string;
  serviceName: string;
  serviceVersion: string;
}

/**
 * `gen_ai.provider.name` per Sluice provider (GenAI semantic conventions 1.37 well-known
 * values; the OpenAI-compatible hosts that have none keep their Sluice name).
 */
const PROVIDER_NAMES: Record<string, string> = {
  openai: 'openai',
  'azure-openai': 'azure.ai.openai',
  anthropic: 'anthropic',
  bedrock: 'aws.bedrock',
  gemini: 'gcp.gemini',
  vertex: 'gcp.vertex_ai',
  groq: 'groq',
};

/** `gen_ai.operation.name` per endpoint. */
const OPERATIONS: Record<string, string> = {
  'chat.completions': 'chat',
  responses: 'chat',
  'anthropic.messages': 'chat',
  'bedrock.converse': 'chat',
  'bedrock.converse-stream': 'chat',
  completions: 'text_completion',
  embeddings: 'embeddings',
};

export const SEMCONV_SCHEMA_VERSION = '1.37.0';

/**
 * The spans of traces as one OTLP export request: per trace, a SERVER span for the whole
 * request (in the batch that carries `request_finished`) and one span per step, a step
 * under its parent step (a tool call under its `llm` step) or else under the request
 * span; the request span under the caller's span when a `traceparent` came in.
 */
export function exportRequestFor(records: readonly TraceRecord[], opts: SpanOptions): ExportTraceServiceRequest {
  const spans = records.flatMap((r) => spansOf(r, opts));
  return {
    resourceSpans: [
      {
        resource: { attributes: attributes({ 'service.name': opts.serviceName, 'service.version': opts.serviceVersion, 'telemetry.sdk.name': 'sluice', 'telemetry.sdk.language': 'nodejs' }) },
        scopeSpans: [{ scope: { name: 'sluice', version: opts.serviceVersion }, spans }],
      },
    ],
  };
}

export function spansOf(record: TraceRecord, opts: SpanOptions): OtlpSpan[] {
  const ctx = record.otel ?? otelContextFor(record.traceId, undefined);
  const t0 = Date.parse(record.startedAt);
  const out: OtlpSpan[] = [];
  const finished = record.steps.find((s) => s.name === 'request_finished');
  if (finished) out.push(requestSpan(record, ctx, t0, finished, opts));
  for (const step of record.steps) out.push(stepSpan(record, ctx, t0, step, opts));
  return out;
}

function requestSpan(record: TraceRecord, ctx: OtelContext, t0: number, finished: TraceStep, opts: SpanOptions): OtlpSpan {
  const a = record.attributes;
  const endpoint = str(a.endpoint);
  const operation = OPERATIONS[endpoint];
  const model = str(a.modelResolved) || str(a.modelRequested);
  const status = num(a.status);
  const cost = a.cost as TraceCost | undefined;
  const llmSteps = record.steps.filter((s) => s.name === 'llm').length;
  const decision = policyDecision(record.steps);
  const latency = typeof a.latencyMs === 'number' ? a.latencyMs : finished.offsetMs;
  const content = opts.captureContent ? contentOf(record, finished, opts) : {};
  const span: OtlpSpan = {
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    ...(ctx.parentSpanId ? { parentSpanId: ctx.parentSpanId } : {}),
    name: operation ? `${operation}${model ? ` ${model}` : ''}` : `sluice ${endpoint || 'request'}`,
    kind: SPAN_KIND.server,
    startTimeUnixNano: nanos(t0),
    endTimeUnixNano: nanos(t0 + latency),
    attributes: [
      ...genAi(record, operation, opts),
      ...attributes({
        'http.response.status_code': status || undefined,
        'error.type': errorType(a.error, status),
        'sluice.trace_id': record.traceId,
        'sluice.session.id': record.sessionId,
        'sluice.session.turn': typeof a.sessionTurn === 'number' ? a.sessionTurn : undefined,
        'sluice.session.strategy': str(a.sessionStrategy),
        'sluice.proxy.id': str(a.proxyId),
        'sluice.org.id': str(a.orgId),
        'sluice.key.id': str(a.keyId),
        'sluice.endpoint': endpoint,
        'sluice.policy.decision': decision,
        'sluice.cost.usd': double(cost?.usd),
        'sluice.cost.unknown': cost ? cost.unknown : undefined,
        'sluice.attempts': llmSteps || undefined,
        'sluice.ttft_ms': double(num(a.ttftMs) || undefined),
        'sluice.overhead_ms': double(num(a.overheadMs) || undefined),
        'sluice.parent_trace_id': record.parentTraceId,
        'sluice.flow_id': record.flowId,
        ...content,
      }),
      ...Object.entries(record.properties).map(([k, v]): KeyValue => ({ key: `sluice.property.${k}`, value: { stringValue: v } })),
    ],
    ...statusOf(status, a.error),
  };
  return span;
}

function stepSpan(record: TraceRecord, ctx: OtelContext, t0: number, step: TraceStep, opts: SpanOptions): OtlpSpan {
  const a = record.attributes;
  const start = t0 + step.offsetMs;
  const own = withoutContent(step.attributes);
  const isLlm = step.name === 'llm';
  const operation = OPERATIONS[str(a.endpoint)];
  const stepStatus = num(step.attributes.status);
  const base = {
    traceId: ctx.traceId,
    spanId: hex16(step.stepId),
    parentSpanId: step.parentId ? hex16(step.parentId) : ctx.spanId,
    startTimeUnixNano: nanos(start),
    endTimeUnixNano: nanos(start + (step.durationMs ?? 0)),
  };
  if (isLlm) {
    const model = str(step.attributes.model) || str(a.modelResolved);
    return {
      ...base,
      name: operation ? `${operation}${model ? ` ${model}` : ''}` : 'llm',
      kind: SPAN_KIND.client,
      attributes: [
        ...genAi(record, operation, opts, step),
        ...attributes({ 'http.response.status_code': stepStatus || undefined, 'sluice.step': step.name, 'sluice.step.id': step.stepId }),
      ],
      ...statusOf(stepStatus, undefined),
    };
  }
  const decision = step.name === 'policy' ? str(own.decision) || str(own.mode) : undefined;
  return {
    ...base,
    name: step.name === 'tool' ? `execute_tool${own.name ? ` ${str(own.name)}` : ''}` : `sluice.${step.name}`,
    kind: SPAN_KIND.internal,
    attributes: attributes({
      'sluice.step': step.name,
      'sluice.step.id': step.stepId,
      ...(step.name === 'policy' ? { 'sluice.policy.decision': decision, 'sluice.policy.stage': str(own.stage) } : {}),
      ...(step.name === 'tool' ? { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': str(own.name), 'gen_ai.tool.call.id': str(own.toolCallId), 'sluice.tool.direction': str(own.direction) } : {}),
      // The step's own attributes, minus any text (tool arguments and outputs are content).
      'sluice.step.attributes': JSON.stringify(own),
    }),
  };
}

function genAi(record: TraceRecord, operation: string | undefined, opts: SpanOptions, llm?: TraceStep): KeyValue[] {
  const a = record.attributes;
  const provider = str(a.provider);
  if (!provider && !operation) return [];
  const providerName = PROVIDER_NAMES[provider] ?? provider;
  const usage = (a.usage ?? (llm?.attributes.usage as Record<string, unknown> | undefined) ?? {}) as Record<string, unknown>;
  const responseModel = responseModelOf(record) ?? str(a.modelResolved);
  return attributes({
    'gen_ai.operation.name': operation,
    'gen_ai.provider.name': providerName,
    ...(opts.legacySystem ? { 'gen_ai.system': providerName } : {}),
    'gen_ai.request.model': str(a.modelResolved) || str(a.modelRequested),
    'gen_ai.response.model': responseModel,
    'gen_ai.usage.input_tokens': typeof usage.promptTokens === 'number' ? usage.promptTokens : undefined,
    'gen_ai.usage.output_tokens': typeof usage.completionTokens === 'number' ? usage.completionTokens : undefined,
    'sluice.model.requested': str(a.modelRequested),
  });
}

/** The model the upstream says answered (the first `"model"` in the captured response), if any. */
function responseModelOf(record: TraceRecord): string | undefined {
  const body = record.steps.find((s) => s.name === 'request_finished')?.attributes.responseBody;
  if (typeof body !== 'string') return undefined;
  const m = /"model"\s*:\s*"([^"\\]{1,200})"/.exec(body);
  return m?.[1];
}

/** Prompt and completion text, redacted: GenAI `gen_ai.input.messages` when the request has chat messages, and both bodies as sent/received. */
function contentOf(record: TraceRecord, finished: TraceStep, opts: SpanOptions): Record<string, unknown> {
  const request = record.steps.find((s) => s.name === 'request_received')?.attributes.requestBody;
  const response = finished.attributes.responseBody;
  const out: Record<string, unknown> = {};
  if (typeof request === 'string') {
    const messages = inputMessages(request);
    if (messages) out['gen_ai.input.messages'] = opts.redact(messages);
    out['sluice.request.body'] = opts.redact(request);
  }
  if (typeof response === 'string') out['sluice.response.body'] = opts.redact(response);
  return out;
}

/** Chat-style messages as GenAI input messages ({role, parts: [{type: 'text', content}]}), or undefined. */
function inputMessages(body: string): string | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  const msgs = (json as { messages?: unknown })?.messages;
  if (!Array.isArray(msgs)) return undefined;
  const system = (json as { system?: unknown }).system;
  const out: { role: string; parts: { type: 'text'; content: string }[] }[] = [];
  if (typeof system === 'string') out.push({ role: 'system', parts: [{ type: 'text', content: system }] });
  for (const m of msgs as Record<string, unknown>[]) {
    const role = typeof m?.role === 'string' ? m.role : 'user';
    const c = m?.content;
    const text = typeof c === 'string' ? c : Array.isArray(c) ? c.map((p) => (typeof p === 'string' ? p : typeof (p as { text?: unknown })?.text === 'string' ? (p as { text: string }).text : '')).join('') : '';
    out.push({ role, parts: [{ type: 'text', content: text }] });
  }
  return JSON.stringify(out);
}

function policyDecision(steps: readonly TraceStep[]): string | undefined {
  const policy = steps.filter((s) => s.name === 'policy');
  const decisions = policy.map((s) => str(s.attributes.decision)).filter(Boolean);
  if (decisions.length === 0) return policy.length ? str(policy[0]!.attributes.mode) || undefined : undefined;
  for (const d of ['deny', 'error', 'redact', 'approved', 'allow']) if (decisions.includes(d)) return d;
  return decisions[0];
}

const CONTENT_KEYS = new Set(['content', 'requestBody', 'responseBody', 'usage', 'message', 'reasons']);
function withoutContent(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !CONTENT_KEYS.has(k)));
}

function statusOf(status: number, error: unknown): { status?: { code: number; message?: string } } {
  if (status >= 400 || error) {
    const e = error as { message?: unknown } | string | undefined;
    const message = typeof e === 'string' ? e : typeof e?.message === 'string' ? e.message : undefined;
    return { status: { code: STATUS_CODE.error, ...(message ? { message } : {}) } };
  }
  return {};
}

function errorType(error: unknown, status: number): string | undefined {
  if (error && typeof error === 'object') {
    const e = error as { code?: unknown; type?: unknown };
    if (typeof e.code === 'string' && e.code) return e.code;
    if (typeof e.type === 'string' && e.type) return e.type;
  }
  if (typeof error === 'string' && error) return '_OTHER';
  return status >= 400 ? String(status) : undefined;
}

/** Epoch milliseconds (fractional) as a decimal nanosecond string, without float rounding past µs. */
export function nanos(ms: number): string {
  const micros = Math.round(ms * 1000);
  return `${BigInt(micros) * 1000n}`;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
