import type { Duration } from 'aws-cdk-lib';
import { Metric, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { FilterPattern, MetricFilter, type ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** The Powertools service name of the gateway (the `service` dimension of its EMF metrics). */
export const GATEWAY_SERVICE = 'sluice-gateway';
export const DEFAULT_METRICS_NAMESPACE = 'Sluice';

/**
 * Where alarms and the dashboard read a request metric (docs/deploy.md "Request metrics"):
 * its sum per period across the fleet, by the metric name the gateway emits
 * (functions/observability/metrics.ts).
 */
export interface RequestMetricSource {
  sum(name: string, period: Duration): IMetric;
}

/** In Lambda: the gateway's EMF metrics, fleet-wide series (dimension set [service]). */
export function emfRequestMetrics(namespace = DEFAULT_METRICS_NAMESPACE, service = GATEWAY_SERVICE): RequestMetricSource {
  return { sum: (metricName, period) => new Metric({ namespace, metricName, dimensionsMap: { service }, period, statistic: 'Sum' }) };
}

/**
 * The gateway log lines behind the metrics alarms read, for runtimes whose logs do not
 * turn EMF into metrics (ECS Fargate's awslogs driver sends no EMF header; the gateway
 * emits EMF only in Lambda).
 */
const LOG_LINES: Record<string, { message: string; field: string; value: string }> = {
  Errors_budget_exceeded: { message: 'spend refused', field: 'reason', value: 'budget' },
  Errors_rate_limit_exceeded: { message: 'spend refused', field: 'reason', value: 'rate_limit' },
  PolicyErrors: { message: 'governance_event', field: 'event', value: 'policy_error' },
  Policy_hold: { message: 'governance_event', field: 'event', value: 'hold' },
};
export const LOG_FILTER_NAMESPACE = 'Sluice/Logs';

/** Fargate only: a metric filter per metric on the gateway's log group (namespace `Sluice/Logs`). */
export function logFilterRequestMetrics(scope: Construct, logGroup: ILogGroup): RequestMetricSource {
  const made = new Map<string, MetricFilter>();
  return {
    sum(name, period) {
      const line = LOG_LINES[name];
      if (!line) throw new Error(`no gateway log line for the metric ${name}`);
      let filter = made.get(name);
      if (!filter) {
        filter = new MetricFilter(scope, `${name}Filter`, {
          logGroup,
          filterPattern: FilterPattern.all(FilterPattern.stringValue('$.message', '=', line.message), FilterPattern.stringValue(`$.${line.field}`, '=', line.value)),
          metricNamespace: LOG_FILTER_NAMESPACE,
          metricName: name,
          metricValue: '1',
          defaultValue: 0,
        });
        made.set(name, filter);
      }
      return filter.metric({ period, statistic: 'Sum' });
    },
  };
}
