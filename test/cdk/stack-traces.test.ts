import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { SluiceStack, type SluiceStackProps } from '../../lib/sluice-stack.js';
import { MAX_TRACE_BUFFER_MIB } from '../../lib/trace-pipeline.js';
import { renderCfn, resourcesOfType, synthesizeApp } from './helpers.js';
import { TRACE_ROWS_LOST } from '../../lib/trace-loss-alarm.js';

const CLICKHOUSE_SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:sluice/clickhouse-url-AbCdEf';

function synth(props: SluiceStackProps): { template: Template; stack: SluiceStack } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new SluiceStack(app, 'Sluice', props);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth(); // throws on an unacknowledged cdk-nag finding
  return { template: Template.fromJSON(assembly.getStackByName('Sluice').template), stack };
}

function gatewayEnv(template: Template): Record<string, unknown> {
  const fns = resourcesOfType(template, 'AWS::Lambda::Function').map(([, f]) => renderCfn(f) as Record<string, any>);
  return fns.find((f) => f.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'sluice-gateway')!.Environment.Variables as Record<string, unknown>;
}

describe('SluiceStack traces wiring', () => {
  it('without traces: no pipeline, and the gateway logs trace rows to stdout (Lambda has no writable data dir)', () => {
    const { template } = synth({});
    template.resourceCountIs('AWS::KinesisFirehose::DeliveryStream', 0);
    expect(gatewayEnv(template).SLUICE_TRACE_SINK).toBe('stdout');
  });

  it('with ClickHouse: gateway → Firehose → trace-ingest, one shared access key, PutRecordBatch granted on the stream only', () => {
    const { template, stack } = synth({ traces: { clickhouseUrlSecretArn: CLICKHOUSE_SECRET, bufferSizeMiB: 3 } });
    expect(stack.traceIngest).toBeDefined();
    const env = gatewayEnv(template);
    expect(env.SLUICE_TRACE_SINK).toBe('firehose');
    expect(env.SLUICE_TRACE_STREAM).toMatch(/^\$\{TracesStream[0-9A-F]+\}$/);
    const [[, stream]] = resourcesOfType(template, 'AWS::KinesisFirehose::DeliveryStream') as [[string, Record<string, unknown>]];
    const http = renderCfn(stream.HttpEndpointDestinationConfiguration) as Record<string, any>;
    expect(http.EndpointConfiguration.Url).toMatch(/^\$\{TraceIngestFunctionFunctionUrl[0-9A-F]+\.FunctionUrl\}$/);
    expect(http.BufferingHints.SizeInMBs).toBeLessThanOrEqual(MAX_TRACE_BUFFER_MIB);
    expect(http.SecretsManagerConfiguration.SecretARN).toMatch(/^\$\{TraceAccessKey[0-9A-F]+\}$/);
    const ingestFn = resourcesOfType(template, 'AWS::Lambda::Function').map(([, f]) => renderCfn(f) as Record<string, any>).find((f) => f.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'sluice-trace-ingest')!;
    expect(ingestFn.Environment.Variables.SLUICE_INGEST_ACCESS_KEY_SECRET_ARN).toMatch(/^\$\{TraceAccessKey[0-9A-F]+\}$/);
    expect(ingestFn.Environment.Variables.CLICKHOUSE_URL_SECRET_ARN).toBe(CLICKHOUSE_SECRET);
    const statements = resourcesOfType(template, 'AWS::IAM::Policy').flatMap(([, p]) => (renderCfn(p) as Record<string, any>).PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
    const put = statements.filter((s) => [s.Action].flat().includes('firehose:PutRecordBatch'));
    expect(put).toHaveLength(1);
    expect(put[0]!.Resource).toMatch(/^\$\{TracesStream[0-9A-F]+\.Arn\}$/);
  });

  it('without ClickHouse: Firehose to S3 only, no trace-ingest', () => {
    const { template, stack } = synth({ traces: {} });
    expect(stack.traceIngest).toBeUndefined();
    const [[, stream]] = resourcesOfType(template, 'AWS::KinesisFirehose::DeliveryStream') as [[string, Record<string, unknown>]];
    expect(stream).toHaveProperty('ExtendedS3DestinationConfiguration');
    expect(gatewayEnv(template).SLUICE_TRACE_SINK).toBe('firehose');
    expect(resourcesOfType(template, 'AWS::Lambda::Url')).toHaveLength(1);
  });
});

describe('SluiceStack: lost trace rows', () => {
  it('sums trace_rows_lost from the gateway log line the trace writer writes, and alarms on any', () => {
    const s = synthesizeApp();
    const filters = resourcesOfType(s.template, 'AWS::Logs::MetricFilter').map(([, f]) => renderCfn(f) as Record<string, any>);
    const f = filters.find((x) => x.MetricTransformations[0].MetricName === 'TraceRowsLost');
    expect(f).toBeDefined();
    expect(f!.FilterPattern).toContain(`$.message = "${TRACE_ROWS_LOST}"`);
    expect(f!.MetricTransformations[0]).toMatchObject({ MetricNamespace: 'Sluice/Traces', MetricValue: `$.${TRACE_ROWS_LOST}`, DefaultValue: 0 });
    const logGroupId = s.stack.getLogicalId(s.stack.gateway!.logGroup.node.defaultChild as never);
    expect(JSON.stringify(f!.LogGroupName)).toContain(logGroupId);
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp('trace rows lost'),
      MetricName: 'TraceRowsLost',
      Namespace: 'Sluice/Traces',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });
});
