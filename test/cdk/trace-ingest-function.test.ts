import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { TraceIngestFunction } from '../../lib/trace-ingest-function.js';
import { MAX_TRACE_BUFFER_MIB, TracePipeline } from '../../lib/trace-pipeline.js';
import { renderCfn, resourcesOfType } from './helpers.js';

/** TracePipeline delivering to a TraceIngestFunction, the two sharing one access key secret; bundling skipped. */
function synth(): { template: Template; validationError?: string } {
  const build = (nag: boolean) => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Traces');
    const accessKey = new Secret(stack, 'AccessKey', { generateSecretString: { secretStringTemplate: '{}', generateStringKey: 'api_key', excludePunctuation: true } });
    const clickhouseUrl = new Secret(stack, 'ClickHouseUrl', {});
    for (const secret of [accessKey, clickhouseUrl]) {
      Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'test secrets: rotation belongs to the stack that owns them' });
    }
    const ingest = new TraceIngestFunction(stack, 'Ingest', { accessKeySecret: accessKey, clickhouseUrlSecret: clickhouseUrl });
    new TracePipeline(stack, 'Pipeline', { endpointUrl: ingest.functionUrl.url, accessKeySecret: accessKey, bufferSizeMiB: 3 });
    if (nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    return { app, stack };
  };
  const { app } = build(true);
  try {
    return { template: Template.fromJSON(app.synth().getStackByName('Traces').template) };
  } catch (err) {
    return { template: Template.fromStack(build(false).stack), validationError: (err as Error).message };
  }
}

describe('TraceIngestFunction behind TracePipeline', () => {
  const { template, validationError } = synth();

  it('runs functions/trace-ingest on Node 24 arm64 behind a buffered Function URL, with both secrets by ARN', () => {
    const functions = resourcesOfType(template, 'AWS::Lambda::Function').map(([, f]) => renderCfn(f) as Record<string, any>);
    const fn = functions.find((f) => f.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'sluice-trace-ingest')!;
    expect(fn).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler', MemorySize: 512, Timeout: 60 });
    expect(fn.Environment.Variables.SLUICE_INGEST_ACCESS_KEY_SECRET_ARN).toMatch(/^\$\{AccessKey[0-9A-F]+\}$/);
    expect(fn.Environment.Variables.CLICKHOUSE_URL_SECRET_ARN).toMatch(/^\$\{ClickHouseUrl[0-9A-F]+\}$/);
    // No secret value in the template: only ARNs.
    expect(JSON.stringify(fn.Environment)).not.toMatch(/api_key|password/);
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE', InvokeMode: 'BUFFERED' });
  });

  it('Firehose delivers to that Function URL with the shared secret, buffers at most 3 MiB', () => {
    const [[, stream]] = resourcesOfType(template, 'AWS::KinesisFirehose::DeliveryStream') as [[string, Record<string, unknown>]];
    const http = renderCfn(stream.HttpEndpointDestinationConfiguration) as Record<string, any>;
    expect(http.EndpointConfiguration.Url).toMatch(/^\$\{IngestFunctionFunctionUrl[0-9A-F]+\.FunctionUrl\}$/);
    expect(http.SecretsManagerConfiguration.SecretARN).toMatch(/^\$\{AccessKey[0-9A-F]+\}$/);
    expect(http.BufferingHints.SizeInMBs).toBeLessThanOrEqual(MAX_TRACE_BUFFER_MIB);
    expect(http.S3BackupMode).toBe('FailedDataOnly');
  });

  it('the function may read exactly its two secrets', () => {
    const policies = resourcesOfType(template, 'AWS::IAM::Policy').map(([id, p]) => [id, renderCfn(p)] as [string, Record<string, any>]);
    const [, ingestPolicy] = policies.find(([id]) => id.startsWith('IngestFunctionServiceRoleDefaultPolicy'))!;
    const statements = ingestPolicy.PolicyDocument.Statement as { Action: string[]; Resource: string }[];
    expect(statements.map((s) => s.Resource).sort()).toEqual([expect.stringMatching(/^\$\{AccessKey/), expect.stringMatching(/^\$\{ClickHouseUrl/)].sort());
    for (const s of statements) expect(s.Action).toEqual(['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret']);
  });

  it('cdk-nag findings', () => {
    expect(validationError ?? '').toBe('');
  });
});
