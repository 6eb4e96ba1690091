import { randomUUID } from 'node:crypto';
import type { OtelContext } from './otlp/trace-context.js';

export type StepName = 'request_received' | 'policy' | 'intent' | 'escalation' | 'cache' | 'llm' | 'tool' | 'request_finished';

export interface TraceStep {
  stepId: string;
  name: StepName;
  /** The step this one hangs under (a tool call under its `llm` step); absent: the trace itself. */
  parentId?: string;
  /** ms since the trace started */
  offsetMs: number;
  durationMs?: number;
  attributes: Record<string, unknown>;
}

export interface TraceRecord {
  traceId: string;
  startedAt: string;
  sessionId: string;
  parentTraceId?: string;
  flowId?: string;
  sessionPath?: string;
  properties: Record<string, string>;
  /** W3C trace context (incoming `traceparent`, else derived from traceId): what the OTLP export and the upstream's `traceparent` use. */
  otel?: OtelContext;
  attributes: Record<string, unknown>;
  steps: TraceStep[];
}

/**
 * Collects one request's trace. Plugins add steps and attributes; `finish` is called
 * once, when the response (streamed or not) is complete, and hands the record to
 * persistence without waiting for it.
 */
export class TraceRecorder {
  readonly record: TraceRecord;
  private finished = false;
  /** Step ids already handed to persistence: each step is written exactly once. */
  private readonly taken = new Set<string>();

  constructor(
    traceId: string,
    private readonly t0: number,
    private readonly now: () => number,
    startedAtIso: string,
  ) {
    this.record = { traceId, startedAt: startedAtIso, sessionId: '', properties: {}, attributes: {}, steps: [] };
  }

  step(name: StepName, attributes: Record<string, unknown> = {}, startedAt?: number, parentId?: string): TraceStep {
    const at = startedAt ?? this.now();
    const step: TraceStep = { stepId: randomUUID(), name, offsetMs: round(at - this.t0), attributes };
    if (parentId !== undefined) step.parentId = parentId;
    if (startedAt !== undefined) step.durationMs = round(this.now() - startedAt);
    this.record.steps.push(step);
    return step;
  }

  /** The first step with this name, if any. */
  find(name: StepName): TraceStep | undefined {
    return this.record.steps.find((s) => s.name === name);
  }

  /**
   * The steps not yet handed to persistence, marked as taken: racing completions
   * (stream end and error hooks) can never write a step twice.
   */
  takeUnpersisted(): TraceStep[] {
    const fresh = this.record.steps.filter((s) => !this.taken.has(s.stepId));
    for (const s of fresh) this.taken.add(s.stepId);
    return fresh;
  }

  set(attributes: Record<string, unknown>): void {
    Object.assign(this.record.attributes, attributes);
  }

  get isFinished(): boolean {
    return this.finished;
  }

  /** Marks the trace finished; returns false if it already was (stream hooks may race). */
  finish(attributes: Record<string, unknown>, finishedStep: Record<string, unknown> = {}): boolean {
    if (this.finished) return false;
    this.finished = true;
    this.set(attributes);
    this.set({ latencyMs: round(this.now() - this.t0) });
    this.step('request_finished', finishedStep);
    return true;
  }
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;
