import { createHash } from 'node:crypto';

/** The W3C trace context of one Sluice trace, as its OTel export and the upstream call see it. */
export interface OtelContext {
  /** 32 hex digits: the incoming `traceparent`'s trace id, else the Sluice trace UUID without dashes. */
  traceId: string;
  /** 16 hex digits: the span of the whole request (the root of the exported spans). */
  spanId: string;
  /** The caller's span, when a valid `traceparent` came in. */
  parentSpanId?: string;
  /** Trace flags (2 hex digits) to pass on: the caller's, else `01` (sampled). */
  flags: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * The OTel context for a trace: a valid incoming `traceparent` (version 00, or a later
 * version read as 00 per W3C; all-zero ids and version ff are invalid) continues the
 * caller's trace; anything else starts one whose id is the Sluice UUID. The request
 * span id is derived from the Sluice trace id, so every batch of a trace agrees on it.
 */
export function otelContextFor(sluiceTraceId: string, traceparent: string | undefined): OtelContext {
  const spanId = hex16(`request:${sluiceTraceId}`);
  const m = traceparent ? TRACEPARENT.exec(traceparent.trim().toLowerCase()) : null;
  if (m && m[1] !== 'ff' && !/^0+$/.test(m[2]!) && !/^0+$/.test(m[3]!) && (m[1] !== '00' || m[5] === undefined)) {
    return { traceId: m[2]!, spanId, parentSpanId: m[3]!, flags: m[4]! };
  }
  return { traceId: sluiceTraceId.replace(/-/g, '').toLowerCase(), spanId, flags: '01' };
}

/** The `traceparent` header for a call made inside this trace (the request span as its parent). */
export function traceparentOf(ctx: OtelContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.flags}`;
}

/** A 16-hex-digit span id derived from any string (a step's UUID). */
export function hex16(seed: string): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, 16);
}
