import { UndeliveredRowsError, type TraceSink } from './sink.js';

/**
 * Every trace to every sink, at once (SLUICE_TRACE_SINK=jsonl,otlp). Resolves when all
 * settled; when any failed, rejects with the union of the rows they gave up on, so the
 * writer counts and spools them. A stopgap until the fan-out with one bounded queue per
 * sink (the sustained-load issue) replaces it: for now the writer's single concurrency
 * bound is shared by the sinks.
 */
export function createFanOutSink(sinks: readonly TraceSink[]): TraceSink {
  if (sinks.length === 1) return sinks[0]!;
  return {
    async write(batch) {
      const results = await Promise.allSettled(sinks.map((s) => s.write(batch)));
      const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as Error);
      if (failures.length === 0) return;
      const ids = new Set<string>();
      for (const f of failures) for (const r of f instanceof UndeliveredRowsError ? f.rows : batch.rows) ids.add(r.step_id);
      throw new UndeliveredRowsError(failures.map((f) => f.message).join('; '), batch.rows.filter((r) => ids.has(r.step_id)));
    },
  };
}
