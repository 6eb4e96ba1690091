/**
 * Waiting for a trace in end-to-end tests: persistence runs after a response's last byte,
 * so a test that reads a trace polls for it instead of reading once.
 */
import type { TraceRecord } from '../../functions/traces/recorder.js';

/**
 * Calls `probe` up to `tries` times, `everyMs` apart, until it gives something other
 * than undefined; undefined when it never does.
 */
export async function pollFor<T>(probe: () => T | undefined | Promise<T | undefined>, { tries = 100, everyMs = 10 } = {}): Promise<T | undefined> {
  for (let i = 0; i < tries; i++) {
    const found = await probe();
    if (found !== undefined) return found;
    if (i < tries - 1) await new Promise((r) => setTimeout(r, everyMs));
  }
  return undefined;
}

/** The first record in `traces` (a live array a sink appends to) with this trace id, or matching `match`; undefined after about a second. */
export function traceIn(traces: readonly TraceRecord[], match: string | ((r: TraceRecord) => boolean)): Promise<TraceRecord | undefined> {
  const test = typeof match === 'string' ? (r: TraceRecord) => r.traceId === match : match;
  return pollFor(() => traces.find(test));
}

/** The `usage` attribute of trace `traceId` in `traces`; undefined when the trace has none or never came. */
export async function usageTraced(traces: readonly TraceRecord[], traceId: string): Promise<Record<string, unknown> | undefined> {
  return (await traceIn(traces, traceId))?.attributes.usage as Record<string, unknown> | undefined;
}
