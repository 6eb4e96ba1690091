import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, GraphWidget, MathExpression, TreatMissingData, type IMetric, type Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { FilterPattern, MetricFilter, type ILogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { GatewayMonitoring } from './gateway-monitoring.js';

export const SPEND_METRIC_NAMESPACE = 'Sluice/Spend';

export interface SpendAlarmsProps {
  /** The gateway's log group: the spend plugin logs every 429 it answers ("spend refused"). */
  readonly logGroup: ILogGroup;
  /** The gateway's requests per 5 minutes (Lambda Invocations, or the load balancer's RequestCount). */
  readonly requests: IMetric;
  readonly monitoring: GatewayMonitoring;
  /**
   * Share of invocations refused by budgets or rate limits (percent, per 5 minutes) that alarms.
   * @default 10
   */
  readonly refusalPercentThreshold?: number;
  /**
   * Fewer refusals than this in 5 minutes never alarm (a handful of 429s on a quiet gateway is not news).
   * @default 20
   */
  readonly minimumRefusals?: number;
}

/**
 * Budget and rate-limit 429s as metrics (a metric filter per reason on the gateway's
 * structured logs) and an alarm on their share of invocations. Budgets and rate
 * counters live in the state table (and Redis when the cache is on), which the
 * gateway already reads and writes.
 */
export class SpendAlarms extends Construct {
  readonly budgetRefusals: Metric;
  readonly rateLimitRefusals: Metric;
  readonly refusalRate: Alarm;

  constructor(scope: Construct, id: string, props: SpendAlarmsProps) {
    super(scope, id);
    const period = Duration.minutes(5);
    const filter = (name: string, reason: string) =>
      new MetricFilter(this, `${name}Filter`, {
        logGroup: props.logGroup,
        filterPattern: FilterPattern.all(FilterPattern.stringValue('$.message', '=', 'spend refused'), FilterPattern.stringValue('$.reason', '=', reason)),
        metricNamespace: SPEND_METRIC_NAMESPACE,
        metricName: name,
        metricValue: '1',
        defaultValue: 0,
      }).metric({ period, statistic: 'Sum' });
    this.budgetRefusals = filter('BudgetRefusals', 'budget');
    this.rateLimitRefusals = filter('RateLimitRefusals', 'rate_limit');

    const percent = new MathExpression({
      label: '429 share (%)',
      expression: `IF(inv > 0 AND (b + r) >= ${props.minimumRefusals ?? 20}, 100 * (b + r) / inv, 0)`,
      usingMetrics: {
        b: this.budgetRefusals,
        r: this.rateLimitRefusals,
        inv: props.requests,
      },
      period,
    });
    this.refusalRate = new Alarm(this, 'RefusalRate', {
      alarmDescription: 'Sluice gateway: a large share of requests refused by budgets or rate limits (429)',
      metric: percent,
      threshold: props.refusalPercentThreshold ?? 10,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    props.monitoring.addAlarm(this.refusalRate);
    props.monitoring.addWidgets(new GraphWidget({ title: 'Budget and rate-limit refusals (429)', left: [this.budgetRefusals, this.rateLimitRefusals], width: 12 }));
  }
}
