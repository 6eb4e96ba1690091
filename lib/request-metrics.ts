import type { Duration } from 'aws-cdk-lib';
import { Metric, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';

/** The Powertools service name of the gateway (the `service` dimension of its EMF metrics). */
export const GATEWAY_SERVICE = 'sluice-gateway';
export const DEFAULT_METRICS_NAMESPACE = 'Sluice';

/**
 * Where alarms and the dashboard read a request metric (docs/deploy.md "Request metrics"):
 * the gateway's EMF metrics (functions/observability/metrics.ts), fleet-wide series
 * (dimension set [service]), in both runtimes: Lambda's log stream and the Fargate
 * tasks' awslogs stream both reach CloudWatch Logs, which extracts EMF lines.
 */
export interface RequestMetricSource {
  readonly namespace: string;
  /** Sum per period across the fleet. */
  sum(name: string, period: Duration): IMetric;
  /** Any statistic (p50, p99, Average…) per period across the fleet. */
  metric(name: string, period: Duration, statistic: string): IMetric;
}

export function emfRequestMetrics(namespace = DEFAULT_METRICS_NAMESPACE, service = GATEWAY_SERVICE): RequestMetricSource {
  const metric = (metricName: string, period: Duration, statistic: string) => new Metric({ namespace, metricName, dimensionsMap: { service }, period, statistic });
  return { namespace, metric, sum: (name, period) => metric(name, period, 'Sum') };
}
