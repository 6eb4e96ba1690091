import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Role, AccountRootPrincipal } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { MAX_TRACE_BUFFER_MIB, TracePipeline, type TracePipelineProps } from '../../lib/trace-pipeline.js';
import { renderCfn, resourcesOfType } from './helpers.js';

const INGEST_URL = 'https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws/';

/** A stack holding only the pipeline (the construct stands alone), checked by cdk-nag. */
function synth(props: TracePipelineProps): { template: Template; pipeline: TracePipeline; stack: Stack } {
  const app = new App();
  const stack = new Stack(app, 'Traces');
  const pipeline = new TracePipeline(stack, 'Pipeline', props);
  const writer = new Role(stack, 'Writer', { assumedBy: new AccountRootPrincipal() });
  pipeline.grantPutRecords(writer);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth(); // throws on an unacknowledged cdk-nag finding
  return { template: Template.fromJSON(assembly.getStackByName('Traces').template), pipeline, stack };
}

describe('TracePipeline', () => {
  it('delivers to the trace-ingest URL in batches of at most 3 MiB, backing up failures to S3', () => {
    const { template } = synth({ endpointUrl: INGEST_URL, bufferSizeMiB: 3, bufferInterval: Duration.seconds(30) });
    const [[, stream]] = resourcesOfType(template, 'AWS::KinesisFirehose::DeliveryStream') as [[string, Record<string, unknown>]];
    const http = renderCfn(stream.HttpEndpointDestinationConfiguration) as Record<string, any>;
    expect(http.EndpointConfiguration.Url).toBe(INGEST_URL);
    expect(http.BufferingHints).toEqual({ SizeInMBs: 3, IntervalInSeconds: 30 });
    expect(http.BufferingHints.SizeInMBs).toBeLessThanOrEqual(MAX_TRACE_BUFFER_MIB);
    expect(http.RequestConfiguration).toEqual({ ContentEncoding: 'NONE' });
    expect(http.S3BackupMode).toBe('FailedDataOnly');
    expect(http.S3Configuration.BucketARN).toMatch(/^\$\{PipelineBucket[0-9A-F]+\.Arn\}$/);
    expect(http.SecretsManagerConfiguration).toMatchObject({ Enabled: true, SecretARN: expect.stringMatching(/^\$\{PipelineAccessKey/) });
    expect(stream.DeliveryStreamEncryptionConfigurationInput).toEqual({ KeyType: 'AWS_OWNED_CMK' });
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { GenerateStringKey: 'api_key', SecretStringTemplate: '{}' },
    });
  });

  it('refuses a buffer that would exceed the Function URL request limit once base64-encoded', () => {
    expect(() => synth({ endpointUrl: INGEST_URL, bufferSizeMiB: 4 })).toThrow(/bufferSizeMiB must be an integer 1\.\.3/);
    expect(() => synth({ endpointUrl: 'http://ingest.example/' })).toThrow(/must be https/);
  });

  it('writes to S3 only without an endpoint, with larger buffers allowed', () => {
    const { template } = synth({ bufferSizeMiB: 64 });
    const [[, stream]] = resourcesOfType(template, 'AWS::KinesisFirehose::DeliveryStream') as [[string, Record<string, unknown>]];
    expect(stream).not.toHaveProperty('HttpEndpointDestinationConfiguration');
    expect(renderCfn(stream.ExtendedS3DestinationConfiguration)).toMatchObject({
      BufferingHints: { SizeInMBs: 64, IntervalInSeconds: 60 },
      CompressionFormat: 'GZIP',
      Prefix: 'traces/',
    });
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
  });

  it('gives Firehose exactly the bucket, log and secret permissions it needs, and writers PutRecord only', () => {
    const { template } = synth({ endpointUrl: INGEST_URL, backup: 'all' });
    const policies = resourcesOfType(template, 'AWS::IAM::Policy').map(([, p]) => renderCfn(p) as Record<string, any>);
    const firehose = policies.find((p) => p.Roles[0].startsWith('${PipelineRole'))!;
    expect(firehose.PolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: ['s3:AbortMultipartUpload', 's3:GetBucketLocation', 's3:GetObject', 's3:ListBucket', 's3:ListBucketMultipartUploads', 's3:PutObject'],
        Resource: [expect.stringMatching(/^\$\{PipelineBucket\w+\.Arn\}$/), expect.stringMatching(/^\$\{PipelineBucket\w+\.Arn\}\/\*$/)],
      },
      {
        Effect: 'Allow',
        Action: 'logs:PutLogEvents',
        Resource: [
          expect.stringMatching(/:log-group:\$\{PipelineDeliveryErrors\w+\}:log-stream:HttpDelivery$/),
          expect.stringMatching(/:log-group:\$\{PipelineDeliveryErrors\w+\}:log-stream:S3Delivery$/),
        ],
      },
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: expect.stringMatching(/^\$\{PipelineAccessKey\w+\}$/) },
    ]);
    const writer = policies.find((p) => p.Roles[0].startsWith('${Writer'))!;
    expect(writer.PolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: ['firehose:PutRecord', 'firehose:PutRecordBatch'],
        Resource: expect.stringMatching(/^\$\{PipelineStream\w+\.Arn\}$/),
      },
    ]);
    const [[, stream]] = resourcesOfType(template, 'AWS::KinesisFirehose::DeliveryStream') as [[string, Record<string, any>]];
    expect(stream.HttpEndpointDestinationConfiguration.S3BackupMode).toBe('AllData');
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { Service: 'firehose.amazonaws.com' },
            Condition: { StringEquals: { 'sts:ExternalId': { Ref: 'AWS::AccountId' } } },
          },
        ],
      },
    });
  });
});
