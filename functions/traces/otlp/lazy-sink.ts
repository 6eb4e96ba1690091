import { UndeliveredRowsError, type TraceSink } from '../sink.js';
import { otlpConfigFromEnv } from './config.js';
import type { OtlpDestination } from './exporter.js';

/**
 * The `otlp` trace sink: settings validated now (a bad OTEL_EXPORTER_OTLP_* stops the
 * start), the exporter (span builder, protobuf encoder, redaction) loaded with a dynamic
 * import on the first export, so it stays out of the gateway's init.
 */
export function createLazyOtlpSink(env: NodeJS.ProcessEnv, readSecret?: (arn: string) => Promise<string>): TraceSink {
  const config = otlpConfigFromEnv(env);
  let exporter: Promise<OtlpDestination> | undefined;
  return {
    async write(batch) {
      exporter ??= import('./exporter.js').then(({ createOtlpExporter }) => createOtlpExporter({ config, ...(readSecret ? { readSecret } : {}) }));
      let dest: OtlpDestination;
      try {
        dest = await exporter;
      } catch (err) {
        exporter = undefined;
        throw new UndeliveredRowsError(`OTLP exporter failed to load: ${(err as Error).message}`, batch.rows);
      }
      await dest.write([batch]);
    },
  };
}
