import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, GraphWidget, MathExpression, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import type { GatewayMonitoring } from './gateway-monitoring.js';
import type { RequestMetricSource } from './request-metrics.js';

export interface SpendAlarmsProps {
  /** The gateway's request metrics: `Errors_budget_exceeded`, `Errors_rate_limit_exceeded` over `Requests` (lib/request-metrics.ts). */
  readonly metrics: RequestMetricSource;
  readonly monitoring: GatewayMonitoring;
  /**
   * Share of requests refused by budgets or rate limits (percent, per 5 minutes) that alarms.
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
 * Budget and rate-limit refusals (the gateway's `Errors_budget_exceeded`,
 * `Errors_rate_limit_exceeded` and `Errors_request_too_large` request metrics; a provider's
 * own 429 maps to `rate_limit_exceeded` too) and an alarm on their share of requests. Budgets and rate
 * counters live in the state table (and Redis when the cache is on), which the
 * gateway already reads and writes.
 */
export class SpendAlarms extends Construct {
  readonly budgetRefusals: IMetric;
  readonly rateLimitRefusals: IMetric;
  readonly tooLargeRefusals: IMetric;
  readonly refusalRate: Alarm;

  constructor(scope: Construct, id: string, props: SpendAlarmsProps) {
    super(scope, id);
    const period = Duration.minutes(5);
    this.budgetRefusals = props.metrics.sum('Errors_budget_exceeded', period);
    this.rateLimitRefusals = props.metrics.sum('Errors_rate_limit_exceeded', period);
    // A request larger than a whole token rate limit is refused with 429 request_too_large.
    this.tooLargeRefusals = props.metrics.sum('Errors_request_too_large', period);

    const percent = new MathExpression({
      label: '429 share (%)',
      expression: `IF(inv > 0 AND (b + r + t) >= ${props.minimumRefusals ?? 20}, 100 * (b + r + t) / inv, 0)`,
      usingMetrics: {
        b: this.budgetRefusals,
        r: this.rateLimitRefusals,
        t: this.tooLargeRefusals,
        inv: props.metrics.sum('Requests', period),
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
    props.monitoring.addWidgets(new GraphWidget({ title: 'Budget and rate-limit refusals (429)', left: [this.budgetRefusals, this.rateLimitRefusals, this.tooLargeRefusals], width: 12 }));
  }
}
