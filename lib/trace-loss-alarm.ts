import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, GraphWidget, TreatMissingData, type Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { FilterPattern, MetricFilter, type ILogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { GatewayMonitoring } from './gateway-monitoring.js';

export const TRACE_METRIC_NAMESPACE = 'Sluice/Traces';
/** The log message (and field) the trace writer writes for rows it could not persist (functions/traces/writer.ts). */
export const TRACE_ROWS_LOST = 'trace_rows_lost';

export interface TraceLossAlarmProps {
  /** The gateway's log group. */
  readonly logGroup: ILogGroup;
  readonly monitoring: GatewayMonitoring;
  /**
   * Lost rows per 5 minutes that alarm.
   * @default 1
   */
  readonly threshold?: number;
}

/**
 * Trace rows the gateway could not persist (in Lambda: not stored within 500 ms of the
 * last byte, or given up on by the sink) as a metric summed from the `trace_rows_lost`
 * log lines, and an alarm on any.
 */
export class TraceLossAlarm extends Construct {
  readonly rowsLost: Metric;
  readonly alarm: Alarm;

  constructor(scope: Construct, id: string, props: TraceLossAlarmProps) {
    super(scope, id);
    const period = Duration.minutes(5);
    this.rowsLost = new MetricFilter(this, 'RowsLostFilter', {
      logGroup: props.logGroup,
      filterPattern: FilterPattern.stringValue('$.message', '=', TRACE_ROWS_LOST),
      metricNamespace: TRACE_METRIC_NAMESPACE,
      metricName: 'TraceRowsLost',
      metricValue: `$.${TRACE_ROWS_LOST}`,
      defaultValue: 0,
    }).metric({ period, statistic: 'Sum' });
    this.alarm = new Alarm(this, 'RowsLost', {
      alarmDescription: 'Sluice gateway: trace rows lost (not persisted within 500 ms of the last byte, or given up on by the trace sink)',
      metric: this.rowsLost,
      threshold: props.threshold ?? 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    props.monitoring.addAlarm(this.alarm);
    props.monitoring.addWidgets(new GraphWidget({ title: 'Trace rows lost', left: [this.rowsLost], width: 12 }));
  }
}
