/**
 * The OTLP trace data model, in the shape of OTLP/JSON (ids as lowercase hex, 64-bit
 * integers as decimal strings): the JSON encoding is `JSON.stringify` of it, and
 * protobuf.ts encodes the same objects as opentelemetry/proto/collector/trace/v1.
 */

export type AnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number }
  | { arrayValue: { values: AnyValue[] } };

export interface KeyValue {
  key: string;
  value: AnyValue;
}

export const SPAN_KIND = { internal: 1, server: 2, client: 3 } as const;
export const STATUS_CODE = { unset: 0, ok: 1, error: 2 } as const;

export interface OtlpSpan {
  /** 32 hex digits. */
  traceId: string;
  /** 16 hex digits. */
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: KeyValue[];
  status?: { code: number; message?: string };
}

export interface ExportTraceServiceRequest {
  resourceSpans: {
    resource: { attributes: KeyValue[] };
    scopeSpans: { scope: { name: string; version?: string }; spans: OtlpSpan[] }[];
  }[];
}

/** An attribute list from plain values: strings, booleans, integers (intValue), other numbers (doubleValue); undefined/null/'' dropped. */
export function attributes(values: Record<string, unknown>): KeyValue[] {
  const out: KeyValue[] = [];
  for (const [key, v] of Object.entries(values)) {
    const value = anyValue(v);
    if (value) out.push({ key, value });
  }
  return out;
}

/** Marks a number that must be sent as a double even when it is whole (a cost of 0 stays a double). */
export function double(n: number | null | undefined): { doubleValue: number } | undefined {
  return typeof n === 'number' && Number.isFinite(n) ? { doubleValue: n } : undefined;
}

function anyValue(v: unknown): AnyValue | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'object' && 'doubleValue' in v) return v as AnyValue;
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return undefined;
    return Number.isSafeInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  }
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue).filter((x): x is AnyValue => x !== undefined) } };
  return { stringValue: JSON.stringify(v) };
}
