import type { TraceDestination } from '../sink.js';
import { otlpConfigFromEnv } from './config.js';
import type { OtlpDestination } from './exporter.js';

/**
 * The `otlp` destination of the trace fan-out: settings validated now (a bad
 * OTEL_EXPORTER_OTLP_* stops the start), the exporter (span builder, protobuf encoder,
 * redaction) loaded with a dynamic import on the first export, out of the gateway's init
 * (the split Lambda build puts it in a chunk of its own: lib/split-bundle.ts).
 * A failed load rejects the write (the fan-out spools or counts the traces) and is retried
 * on the next one.
 */
export function createLazyOtlpDestination(env: NodeJS.ProcessEnv, readSecret?: (arn: string) => Promise<string>): TraceDestination {
  const config = otlpConfigFromEnv(env);
  let exporter: Promise<OtlpDestination> | undefined;
  return {
    name: 'otlp',
    // One export call carries the spans of many traces; gather them briefly.
    queue: { concurrency: 2, lingerMs: 50, maxBatchTraces: 512 },
    async write(traces) {
      exporter ??= import('./exporter.js').then(({ createOtlpExporter }) => createOtlpExporter({ config, ...(readSecret ? { readSecret } : {}) }));
      exporter.catch(() => {
        exporter = undefined;
      });
      await (await exporter).write(traces);
    },
  };
}
