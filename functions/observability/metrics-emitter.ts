import type { RequestMetrics } from './metrics.js';

/** Receives one EMF document (a JSON line, no newline) per request. */
export type EmfSink = (line: string) => void;

/** Writes one request's metrics; resolves once its EMF line is written. Never rejects. */
export interface MetricsEmitter {
  emit(metrics: RequestMetrics): Promise<void>;
}

export interface EmitterOptions {
  namespace: string;
  service: string;
  sink: EmfSink;
  /** Where Powertools' own warnings go (invalid metric, missing namespace); default: dropped. */
  warn?: (message: string) => void;
}

type PowertoolsModule = typeof import('@aws-lambda-powertools/metrics');

/**
 * Request metrics as CloudWatch Embedded Metric Format, built by Powertools Metrics.
 * Powertools is imported on the first emit (never at Lambda init: the gateway's init
 * bundle has a byte budget). Each request is one EMF line with three dimension sets:
 * [service], [service, proxy] and [service, proxy, model], so alarms read the
 * fleet-wide series and the dashboard the per-proxy and per-model ones.
 */
export function powertoolsEmitter(opts: EmitterOptions): MetricsEmitter {
  let metrics: Promise<InstanceType<PowertoolsModule['Metrics']>> | undefined;
  const warn = opts.warn ?? (() => {});
  const report = (...m: unknown[]) => {
    const text = m.map(String).join(' ');
    // `proxy` is in two sets on purpose, with one value: Powertools says so on every emit.
    if (!/^EMF key "proxy" is defined as both/.test(text)) warn(text);
  };
  const logger = { debug: () => {}, info: () => {}, warn: report, error: report };
  const load = () =>
    (metrics ??= import('@aws-lambda-powertools/metrics').then(({ Metrics }) => new Metrics({ namespace: opts.namespace, serviceName: opts.service, logger })));
  return {
    async emit(request) {
      try {
        const m = await load();
        // One request at a time between here and the clear: the body below is synchronous.
        // Main set [service, proxy, model]; addDimensions adds [service] and [service, proxy] beside it.
        m.addDimensions({});
        m.addDimensions({ proxy: request.proxy });
        m.addDimension('proxy', request.proxy);
        m.addDimension('model', request.model);
        m.addMetadata('traceId', request.traceId);
        for (const d of request.metrics) m.addMetric(d.name, d.unit, d.value);
        const line = JSON.stringify(m.serializeMetrics());
        m.clearMetrics();
        m.clearDimensions();
        opts.sink(line);
      } catch (err) {
        warn(`metrics not emitted: ${(err as Error).message}`);
      }
    },
  };
}

/**
 * The gateway's emitter: only where the deploy set a metrics namespace
 * (POWERTOOLS_METRICS_NAMESPACE: the CDK sets it on the Lambda and on the Fargate tasks),
 * whose log streams reach CloudWatch Logs, which turns EMF lines into metrics; elsewhere
 * none (`npm start` and a bare container emit nothing). Lines go straight to stdout, past
 * Lambda's console wrapper, as Powertools' own publishing does.
 */
export function metricsEmitterFromEnv(env: NodeJS.ProcessEnv, warn?: (message: string) => void): MetricsEmitter | undefined {
  const namespace = env.POWERTOOLS_METRICS_NAMESPACE;
  if (!namespace) return undefined;
  return powertoolsEmitter({
    namespace,
    service: env.POWERTOOLS_SERVICE_NAME || 'sluice-gateway',
    sink: (line) => void process.stdout.write(`${line}\n`),
    ...(warn ? { warn } : {}),
  });
}
