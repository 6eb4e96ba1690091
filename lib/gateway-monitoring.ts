import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  TreatMissingData,
  type IMetric,
  type IWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { RequestMetricSource } from './request-metrics.js';

/** One alarm on a runtime's own health metric (its construct id is `id`). */
export interface HealthAlarm {
  readonly id: string;
  readonly description: string;
  readonly metric: IMetric;
  readonly threshold: number;
  readonly comparisonOperator: ComparisonOperator;
  /** @default 1 */
  readonly evaluationPeriods?: number;
  /** @default - evaluationPeriods */
  readonly datapointsToAlarm?: number;
}

/**
 * What a runtime adds to the gateway's monitoring: graphs and alarms on the metrics only
 * it has (Lambda errors and throttles; load balancer 5xx and task health on Fargate).
 * Built by `lambdaHealth` (below) or `fargateHealth` (lib/fargate-runtime.ts).
 */
export interface RuntimeHealth {
  /** Dashboard rows, above the request metrics. */
  readonly widgets: IWidget[][];
  readonly alarms: readonly HealthAlarm[];
}

export interface GatewayMonitoringProps {
  readonly health: RuntimeHealth;
  /** The gateway's EMF request metrics (lib/request-metrics.ts): a dashboard row of their own. */
  readonly metrics: RequestMetricSource;
  /**
   * Dashboard name.
   * @default - generated
   */
  readonly dashboardName?: string;
}

/**
 * The gateway's dashboard and alarms, one construct for both runtimes: the runtime's
 * health (graphs and alarms), then the request metrics the gateway emits (requests,
 * errors, latency and TTFT, tokens, cost). Later issues add their own alarms and widgets
 * through `addAlarm` / `addWidgets` (spend, trace loss, governance).
 */
export class GatewayMonitoring extends Construct {
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: GatewayMonitoringProps) {
    super(scope, id);
    this.dashboard = new Dashboard(this, 'Dashboard', {
      ...(props.dashboardName ? { dashboardName: props.dashboardName } : {}),
      widgets: [...props.health.widgets, ...requestMetricWidgets(props.metrics)],
    });
    for (const a of props.health.alarms) {
      this.addAlarm(
        new Alarm(this, a.id, {
          alarmDescription: a.description,
          metric: a.metric,
          threshold: a.threshold,
          evaluationPeriods: a.evaluationPeriods ?? 1,
          ...(a.datapointsToAlarm !== undefined ? { datapointsToAlarm: a.datapointsToAlarm } : {}),
          comparisonOperator: a.comparisonOperator,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }
  }

  /** Registers an alarm and shows its state on the dashboard. */
  addAlarm(alarm: Alarm): void {
    this.alarms.push(alarm);
    this.dashboard.addWidgets(new AlarmWidget({ alarm, title: alarm.node.id, width: 8 }));
  }

  addWidgets(...widgets: IWidget[]): void {
    this.dashboard.addWidgets(...widgets);
  }
}

/** Dashboard rows of the gateway's request metrics, fleet-wide (the [service] dimension set). */
export function requestMetricWidgets(metrics: RequestMetricSource): IWidget[][] {
  const period = Duration.minutes(5);
  const sum = (name: string) => metrics.sum(name, period);
  const pct = (name: string, p: string) => metrics.metric(name, period, p);
  return [
    [
      new GraphWidget({ title: 'Requests and errors (gateway answers)', left: [sum('Requests'), sum('Errors')], width: 8 }),
      new GraphWidget({ title: 'Latency and time to first token (ms)', left: [pct('LatencyMs', 'p50'), pct('LatencyMs', 'p99'), pct('TtftMs', 'p50'), pct('TtftMs', 'p99')], width: 8 }),
      new GraphWidget({ title: 'Attempts and fallbacks', left: [sum('Attempts'), sum('Fallbacks')], width: 8 }),
    ],
    [
      new GraphWidget({ title: 'Tokens', left: [sum('InputTokens'), sum('OutputTokens')], width: 12 }),
      new GraphWidget({ title: 'Cost (USD) and unpriced requests', left: [sum('CostUsd')], right: [sum('UnpricedRequests')], width: 12 }),
    ],
  ];
}

export interface LambdaHealthProps {
  readonly function: IFunction;
  /** The function's timeout: the p99 duration alarm fires at `p99DurationFraction` of it. */
  readonly timeout: Duration;
  /**
   * Fraction of the timeout p99 duration may reach before alarming. Streams of long
   * completions are legitimately slow, so this watches for requests nearing the timeout.
   * @default 0.8
   */
  readonly p99DurationFraction?: number;
  /**
   * Function errors (invocation failures, not HTTP 4xx/5xx answers) per 5 minutes that alarm.
   * @default 1
   */
  readonly errorThreshold?: number;
}

/** The Lambda runtime's health: errors, throttles, p99 duration near the timeout, concurrency. */
export function lambdaHealth(props: LambdaHealthProps): RuntimeHealth {
  const fn = props.function;
  const period = Duration.minutes(5);
  const errors = fn.metricErrors({ period, statistic: 'Sum' });
  const throttles = fn.metricThrottles({ period, statistic: 'Sum' });
  const p99 = fn.metricDuration({ period, statistic: 'p99' });
  const p50 = fn.metricDuration({ period, statistic: 'p50' });
  return {
    widgets: [
      [
        new GraphWidget({ title: 'Invocations and errors', left: [fn.metricInvocations({ period, statistic: 'Sum' }), errors, throttles], width: 12 }),
        new GraphWidget({ title: 'Duration (ms)', left: [p50, p99], width: 12 }),
      ],
      [new GraphWidget({ title: 'Concurrent executions', left: [fn.metric('ConcurrentExecutions', { period, statistic: 'Maximum' })], width: 12 })],
    ],
    alarms: [
      {
        id: 'Errors',
        description: 'Sluice gateway: function errors (crashes or timeouts, not HTTP error answers)',
        metric: errors,
        threshold: props.errorThreshold ?? 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      },
      {
        id: 'Throttles',
        description: 'Sluice gateway: invocations throttled (concurrency exhausted)',
        metric: throttles,
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      },
      {
        id: 'P99Duration',
        description: 'Sluice gateway: p99 duration near the function timeout',
        metric: p99,
        threshold: Math.round(props.timeout.toMilliseconds() * (props.p99DurationFraction ?? 0.8)),
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      },
    ],
  };
}
