import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { configFromContext } from '../../lib/config.js';

const reader = (ctx: Record<string, unknown>) => (key: string) => ctx[key];

describe('configFromContext', () => {
  it('defaults to stack Sluice, no cache, no X-Ray, retained tables, cdk-nag on', () => {
    const c = configFromContext(reader({}));
    expect(c.stackName).toBe('Sluice');
    expect(c.nag).toBe(true);
    expect(c.stackProps).toEqual({ cache: false, xrayTracing: false, tableRemovalPolicy: RemovalPolicy.RETAIN });
  });

  it('reads the string forms `cdk -c key=value` passes', () => {
    const c = configFromContext(
      reader({
        'sluice:cache': 'true',
        'sluice:timeoutSeconds': '900',
        'sluice:memorySize': '2048',
        'sluice:reservedConcurrency': '50',
        'sluice:allowedOrigins': 'https://a.example, https://b.example',
        'sluice:bedrock': '{"foundationModelIds":["amazon.nova-lite-v1:0"]}',
        'sluice:retainTables': 'false',
      }),
    );
    expect(c.stackProps.cache).toBe(true);
    expect(c.stackProps.timeout?.toSeconds()).toBe(Duration.minutes(15).toSeconds());
    expect(c.stackProps.memorySize).toBe(2048);
    expect(c.stackProps.reservedConcurrency).toBe(50);
    expect(c.stackProps.allowedOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(c.stackProps.bedrock?.foundationModelIds).toEqual(['amazon.nova-lite-v1:0']);
    expect(c.stackProps.tableRemovalPolicy).toBe(RemovalPolicy.DESTROY);
  });

  it('rejects values that would deploy something else than asked', () => {
    expect(() => configFromContext(reader({ 'sluice:cache': 'yes' }))).toThrow(/sluice:cache must be true or false/);
    expect(() => configFromContext(reader({ 'sluice:timeoutSeconds': 1200 }))).toThrow(/1\.\.900/);
    expect(() => configFromContext(reader({ 'sluice:logLevel': 'verbose' }))).toThrow(/sluice:logLevel/);
    expect(() => configFromContext(reader({ 'sluice:bedrock': { inferenceProfiles: [{ regions: [] }] } }))).toThrow(
      /inferenceProfiles\[0\]\.id/,
    );
  });
});

describe('configFromContext: traces and env', () => {
  const ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:sluice/clickhouse-url-AbCdEf';
  it('traces default to the function logs; s3 and clickhouse select the pipeline', () => {
    expect(configFromContext(reader({})).stackProps.traces).toBeUndefined();
    expect(configFromContext(reader({ 'sluice:traces': 'logs' })).stackProps.traces).toBeUndefined();
    expect(configFromContext(reader({ 'sluice:traces': 's3' })).stackProps.traces).toEqual({});
    expect(configFromContext(reader({ 'sluice:traces': 'clickhouse', 'sluice:clickhouseUrlSecret': ARN })).stackProps.traces).toEqual({ clickhouseUrlSecretArn: ARN });
  });

  it('clickhouse needs a complete secret ARN, not a name or a partial ARN', () => {
    expect(() => configFromContext(reader({ 'sluice:traces': 'clickhouse' }))).toThrow(/needs sluice:clickhouseUrlSecret/);
    expect(() => configFromContext(reader({ 'sluice:traces': 'clickhouse', 'sluice:clickhouseUrlSecret': 'sluice/clickhouse-url' }))).toThrow(/complete secret ARN/);
    expect(() => configFromContext(reader({ 'sluice:traces': 'clickhouse', 'sluice:clickhouseUrlSecret': ARN.slice(0, -7) }))).toThrow(/complete secret ARN/);
    expect(() => configFromContext(reader({ 'sluice:traces': 'firehose' }))).toThrow(/sluice:traces must be one of logs, s3, clickhouse/);
    expect(() => configFromContext(reader({ 'sluice:clickhouseUrlSecret': ARN }))).toThrow(/only used with sluice:traces=clickhouse/);
  });

  it('sluice:account and sluice:region pin the env together; without them the stack is environment-agnostic', () => {
    expect(configFromContext(reader({})).stackProps.env).toBeUndefined();
    expect(configFromContext(reader({ 'sluice:account': '111111111111', 'sluice:region': 'eu-west-1' })).stackProps.env).toEqual({ account: '111111111111', region: 'eu-west-1' });
    expect(() => configFromContext(reader({ 'sluice:account': '111111111111' }))).toThrow(/go together/);
    expect(() => configFromContext(reader({ 'sluice:account': '1111', 'sluice:region': 'eu-west-1' }))).toThrow(/12-digit/);
    expect(() => configFromContext(reader({ 'sluice:account': '111111111111', 'sluice:region': 'Ireland' }))).toThrow(/AWS Region/);
  });

  it('OTLP export: endpoint (https), protocol, headers secret (complete ARN), content capture', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:sluice/otlp-headers-AbCdEf';
    expect(configFromContext(reader({ 'sluice:otlpEndpoint': 'https://api.honeycomb.io', 'sluice:otlpHeadersSecret': arn, 'sluice:otlpProtocol': 'http/json', 'sluice:otlpCaptureContent': 'true' })).stackProps.otlp).toEqual({
      endpoint: 'https://api.honeycomb.io',
      protocol: 'http/json',
      headersSecretArn: arn,
      captureContent: true,
    });
    expect(() => configFromContext(reader({ 'sluice:otlpEndpoint': 'https://x', 'sluice:otlpHeadersSecret': 'sluice/otlp-headers' }))).toThrow(/complete secret ARN/);
    expect(() => configFromContext(reader({ 'sluice:otlpEndpoint': 'http://collector:4318' }))).toThrow(/https/);
    expect(() => configFromContext(reader({ 'sluice:otlpEndpoint': 'https://x', 'sluice:otlpProtocol': 'grpc' }))).toThrow(/http\/protobuf or http\/json/);
    expect(() => configFromContext(reader({ 'sluice:otlpHeadersSecret': arn }))).toThrow(/need sluice:otlpEndpoint/);
    expect(configFromContext(reader({})).stackProps.otlp).toBeUndefined();
  });
});
