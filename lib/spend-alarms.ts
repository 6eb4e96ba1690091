import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, GraphWidget, MathExpression, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import type { GatewayMonitoring } from './gateway-monitoring.js';
import type { RequestMetricSource } from './request-metrics.js';

export interface SpendAlarmsProps {
  /** The gateway's request metrics: `Errors_budget_exceeded` and `Errors_rate_limit_exceeded` (lib/request-metrics.ts). */
  readonly metrics: RequestMetricSource;
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
 * Budget and rate-limit 429s (the gateway's `Errors_budget_exceeded` and
 * `Errors_rate_limit_exceeded` request metrics) and an alarm on their share of requests. Budgets and rate
 * counters live in the state table (and Redis when the cache is on), which the
 * gateway already reads and writes.
 */
export class SpendAlarms extends Construct {
  readonly budgetRefusals: IMetric;
  readonly rateLimitRefusals: IMetric;
  readonly refusalRate: Alarm;

  constructor(scope: Construct, id: string, props: SpendAlarmsProps) {
    super(scope, id);
    const period = Duration.minutes(5);
    this.budgetRefusals = props.metrics.sum('Errors_budget_exceeded', period);
    this.rateLimitRefusals = props.metrics.sum('Errors_rate_limit_exceeded', period);

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
