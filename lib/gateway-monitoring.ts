import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  TreatMissingData,
  type IWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

export interface GatewayMonitoringProps {
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
  /**
   * Dashboard name.
   * @default - generated
   */
  readonly dashboardName?: string;
}

/**
 * Alarms (errors, throttles, p99 duration) and a dashboard for the gateway. Later issues
 * add their own alarms and widgets through `addAlarm` / `addWidgets`.
 */
export class GatewayMonitoring extends Construct {
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: GatewayMonitoringProps) {
    super(scope, id);
    const fn = props.function;
    const period = Duration.minutes(5);
    const errors = fn.metricErrors({ period, statistic: 'Sum' });
    const throttles = fn.metricThrottles({ period, statistic: 'Sum' });
    const p99 = fn.metricDuration({ period, statistic: 'p99' });
    const p50 = fn.metricDuration({ period, statistic: 'p50' });

    this.dashboard = new Dashboard(this, 'Dashboard', {
      ...(props.dashboardName ? { dashboardName: props.dashboardName } : {}),
      widgets: [
        [
          new GraphWidget({
            title: 'Invocations and errors',
            left: [fn.metricInvocations({ period, statistic: 'Sum' }), errors, throttles],
            width: 12,
          }),
          new GraphWidget({ title: 'Duration (ms)', left: [p50, p99], width: 12 }),
        ],
        [
          new GraphWidget({
            title: 'Concurrent executions',
            left: [fn.metric('ConcurrentExecutions', { period, statistic: 'Maximum' })],
            width: 12,
          }),
        ],
      ],
    });
    this.addAlarm(
      new Alarm(this, 'Errors', {
        alarmDescription: 'Sluice gateway: function errors (crashes or timeouts, not HTTP error answers)',
        metric: errors,
        threshold: props.errorThreshold ?? 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
    this.addAlarm(
      new Alarm(this, 'Throttles', {
        alarmDescription: 'Sluice gateway: invocations throttled (concurrency exhausted)',
        metric: throttles,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
    this.addAlarm(
      new Alarm(this, 'P99Duration', {
        alarmDescription: 'Sluice gateway: p99 duration near the function timeout',
        metric: p99,
        threshold: Math.round(props.timeout.toMilliseconds() * (props.p99DurationFraction ?? 0.8)),
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
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
