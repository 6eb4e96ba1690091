import { describe, expect, it } from 'vitest';
import { renderCfn, resourcesOfType, synthesizeApp } from './helpers.js';

/**
 * Every documented context combination, pairwise (each pair of values of any two factors
 * appears in some row), synthesized with cdk-nag under a pinned env: the Region and
 * account then resolve, which is where acknowledgements naming pseudo parameters broke.
 */
const ACCOUNT = '111111111111';
const REGION = 'eu-west-1';
const CERTIFICATE_ARN = `arn:aws:acm:${REGION}:${ACCOUNT}:certificate/0a1b2c3d-1111-2222-3333-444455556666`;
const CLICKHOUSE_SECRET = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:sluice/clickhouse-url-AbCdEf`;

const FACTORS = {
  traces: ['logs', 's3', 'clickhouse'],
  cache: [false, true],
  governance: [false, true],
  runtime: ['lambda', 'fargate'],
} as const;

type Row = { traces: (typeof FACTORS.traces)[number]; cache: boolean; governance: boolean; runtime: (typeof FACTORS.runtime)[number] };

const ROWS: Row[] = [
  { traces: 'logs', cache: false, governance: false, runtime: 'lambda' },
  { traces: 'logs', cache: true, governance: true, runtime: 'fargate' },
  { traces: 's3', cache: false, governance: true, runtime: 'fargate' },
  { traces: 's3', cache: true, governance: false, runtime: 'lambda' },
  { traces: 'clickhouse', cache: false, governance: false, runtime: 'fargate' },
  { traces: 'clickhouse', cache: true, governance: true, runtime: 'lambda' },
];

function contextOf(row: Row): Record<string, unknown> {
  return {
    'sluice:account': ACCOUNT,
    'sluice:region': REGION,
    // String forms, as `cdk deploy -c key=value` passes them.
    'sluice:traces': row.traces,
    ...(row.traces === 'clickhouse' ? { 'sluice:clickhouseUrlSecret': CLICKHOUSE_SECRET } : {}),
    'sluice:cache': String(row.cache),
    'sluice:governance': String(row.governance),
    ...(row.runtime === 'fargate' ? { 'sluice:runtime': 'fargate', 'sluice:certificateArn': CERTIFICATE_ARN } : {}),
  };
}

describe('context combinations under a pinned env (111111111111 / eu-west-1)', () => {
  it('the rows cover every pair of factor values', () => {
    const names = Object.keys(FACTORS) as (keyof Row)[];
    for (const [i, a] of names.entries()) {
      for (const b of names.slice(i + 1)) {
        for (const va of FACTORS[a as keyof typeof FACTORS]) {
          for (const vb of FACTORS[b as keyof typeof FACTORS]) {
            expect(ROWS.some((r) => r[a] === va && r[b] === vb), `${a}=${String(va)} with ${b}=${String(vb)}`).toBe(true);
          }
        }
      }
    }
  });

  it.each(ROWS.map((row) => [Object.entries(row).map(([k, v]) => `${k}=${String(v)}`).join(' '), row] as const))(
    '%s: zero unacknowledged cdk-nag findings, in the pinned account and Region',
    (_name, row) => {
      const s = synthesizeApp(contextOf(row));
      expect(s.validationError).toBeUndefined();
      expect(s.stack.account).toBe(ACCOUNT);
      expect(s.stack.region).toBe(REGION);
      const streams = resourcesOfType(s.template, 'AWS::KinesisFirehose::DeliveryStream');
      expect(streams).toHaveLength(row.traces === 'logs' ? 0 : 1);
      expect(s.stack.traceIngest !== undefined).toBe(row.traces === 'clickhouse');
      expect(s.stack.cache !== undefined).toBe(row.cache);
      expect(s.stack.governance !== undefined).toBe(row.governance);
      expect(resourcesOfType(s.template, 'AWS::ECS::Service')).toHaveLength(row.runtime === 'fargate' ? 1 : 0);
      expect(s.stack.gateway !== undefined).toBe(row.runtime === 'lambda');
      // The provider-secret grant names the pinned Region and account, not pseudo parameters.
      const statements = JSON.stringify(resourcesOfType(s.template, 'AWS::IAM::Policy').map(([, p]) => renderCfn(p)));
      expect(statements).toContain(`:secretsmanager:${REGION}:${ACCOUNT}:secret:sluice/providers/*`);
    },
    90_000,
  );
});

describe('cdk deploy -c sluice:traces=clickhouse -c sluice:clickhouseUrlSecret=<ARN> with a pinned env', () => {
  it('has Firehose delivering to trace-ingest, which reads the given secret, and no nag finding', () => {
    const s = synthesizeApp({ 'sluice:account': ACCOUNT, 'sluice:region': REGION, 'sluice:traces': 'clickhouse', 'sluice:clickhouseUrlSecret': CLICKHOUSE_SECRET });
    expect(s.validationError).toBeUndefined();
    const [[, stream]] = resourcesOfType(s.template, 'AWS::KinesisFirehose::DeliveryStream') as [[string, Record<string, unknown>]];
    const http = renderCfn(stream.HttpEndpointDestinationConfiguration) as { EndpointConfiguration: { Url: string } };
    expect(http.EndpointConfiguration.Url).toMatch(/^\$\{TraceIngestFunctionFunctionUrl[0-9A-F]+\.FunctionUrl\}$/);
    const fns = resourcesOfType(s.template, 'AWS::Lambda::Function').map(([, f]) => renderCfn(f) as { Environment: { Variables: Record<string, string> } });
    const ingest = fns.find((f) => f.Environment.Variables.POWERTOOLS_SERVICE_NAME === 'sluice-trace-ingest')!;
    expect(ingest.Environment.Variables.CLICKHOUSE_URL_SECRET_ARN).toBe(CLICKHOUSE_SECRET);
    const gateway = fns.find((f) => f.Environment.Variables.POWERTOOLS_SERVICE_NAME === 'sluice-gateway')!;
    expect(gateway.Environment.Variables.SLUICE_TRACE_SINK).toBe('firehose');
    // The secret grant is the exact ARN: no `-??????` wildcard.
    const grants = resourcesOfType(s.template, 'AWS::IAM::Policy').flatMap(([, p]) => (renderCfn(p) as { PolicyDocument: { Statement: { Resource: unknown }[] } }).PolicyDocument.Statement);
    expect(grants.some((g) => g.Resource === CLICKHOUSE_SECRET)).toBe(true);
    expect(JSON.stringify(grants)).not.toContain('clickhouse-url-??????');
    // `sluice traces list --aws` finds the secret through this output.
    expect((s.template.toJSON().Outputs as Record<string, { Value: unknown }>).ClickHouseUrlSecretArn?.Value).toBe(CLICKHOUSE_SECRET);
  });
});

describe('cdk deploy -c sluice:otlpEndpoint=… -c sluice:otlpHeadersSecret=<ARN> with a pinned env', () => {
  const OTLP_SECRET = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:sluice/otlp-headers-AbCdEf`;
  it('the gateway exports OTLP beside its trace path, reads exactly that secret, and nag is clean', () => {
    for (const traces of ['logs', 'clickhouse'] as const) {
      const s = synthesizeApp({
        'sluice:account': ACCOUNT,
        'sluice:region': REGION,
        'sluice:traces': traces,
        ...(traces === 'clickhouse' ? { 'sluice:clickhouseUrlSecret': CLICKHOUSE_SECRET } : {}),
        'sluice:otlpEndpoint': 'https://api.honeycomb.io',
        'sluice:otlpHeadersSecret': OTLP_SECRET,
        'sluice:otlpCaptureContent': 'true',
      });
      expect(s.validationError).toBeUndefined();
      const fns = resourcesOfType(s.template, 'AWS::Lambda::Function').map(([, f]) => renderCfn(f) as { Environment: { Variables: Record<string, string> } });
      const env = fns.find((f) => f.Environment.Variables.POWERTOOLS_SERVICE_NAME === 'sluice-gateway')!.Environment.Variables;
      expect(env.SLUICE_TRACE_SINK).toBe(traces === 'logs' ? 'stdout,otlp' : 'firehose,otlp');
      expect(env.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('https://api.honeycomb.io');
      expect(env.OTEL_EXPORTER_OTLP_PROTOCOL).toBe('http/protobuf');
      expect(env.SLUICE_OTLP_HEADERS_SECRET_ARN).toBe(OTLP_SECRET);
      expect(env.SLUICE_OTEL_CAPTURE_CONTENT).toBe('true');
      const grants = resourcesOfType(s.template, 'AWS::IAM::Policy').flatMap(([, p]) => (renderCfn(p) as { PolicyDocument: { Statement: { Resource: unknown }[] } }).PolicyDocument.Statement);
      expect(grants.some((g) => g.Resource === OTLP_SECRET)).toBe(true);
    }
  });

});
