import { Arn, ArnFormat, Duration, RemovalPolicy, Stack, Token, Validations, type CfnElement } from 'aws-cdk-lib';
import { Effect, Grant, Policy, PolicyStatement, Role, ServicePrincipal, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { CfnDeliveryStream } from 'aws-cdk-lib/aws-kinesisfirehose';
import { LogGroup, LogStream, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** What Firehose needs on its bucket (AWS's documented list; no delete, no wildcard actions). */
const FIREHOSE_BUCKET_ACTIONS = [
  's3:AbortMultipartUpload',
  's3:GetBucketLocation',
  's3:GetObject',
  's3:ListBucket',
  's3:ListBucketMultipartUploads',
  's3:PutObject',
];

/**
 * Largest buffer Firehose may send to a Function URL. Firehose base64-encodes every record
 * in its JSON request body (×4/3), and a Function URL refuses bodies over 6 MB with a 413,
 * which Firehose treats as permanent: the batch is neither retried nor backed up. 3 MiB
 * of records is about 4 MiB on the wire, inside the limit with room for the envelope.
 */
export const MAX_TRACE_BUFFER_MIB = 3;

export interface TracePipelineProps {
  /**
   * HTTPS URL of the trace-ingest endpoint (its Function URL). Without it the pipeline
   * delivers to S3 only.
   * @default - S3 only
   */
  readonly endpointUrl?: string;
  /**
   * Secret holding the access key Firehose sends in `X-Amz-Firehose-Access-Key`, which
   * the endpoint checks: a JSON object `{"api_key": "…"}`. Only with `endpointUrl`.
   * @default - a generated secret
   */
  readonly accessKeySecret?: ISecret;
  /**
   * Buffer size before a delivery, in MiB: 1..3 for the HTTP endpoint (see
   * MAX_TRACE_BUFFER_MIB), 1..128 for S3 only.
   * @default 1
   */
  readonly bufferSizeMiB?: number;
  /**
   * Longest wait before a delivery (0..900 s for the HTTP endpoint, 60..900 s for S3): the
   * delay between a request and its trace being queryable.
   * @default Duration.seconds(60)
   */
  readonly bufferInterval?: Duration;
  /**
   * How long Firehose retries the HTTP endpoint before backing records up to S3.
   * @default Duration.minutes(5)
   */
  readonly retryDuration?: Duration;
  /**
   * With the HTTP endpoint: back up only failed records (default) or every record (an archive).
   * @default 'failed'
   */
  readonly backup?: 'failed' | 'all';
  /**
   * Bucket receiving backups (or every record in S3-only mode).
   * @default - a new encrypted, private bucket, retained on stack deletion
   */
  readonly bucket?: IBucket;
  /**
   * Days before archived objects expire (new bucket only).
   * @default 90
   */
  readonly archiveRetentionDays?: number;
}

/**
 * Traces from the gateway to their store: Firehose (encrypted at rest) delivers batches
 * to the trace-ingest Function URL, which writes them to ClickHouse; records it cannot
 * deliver are backed up to S3. Without an endpoint, Firehose writes the records, gzipped, to S3.
 */
export class TracePipeline extends Construct {
  readonly deliveryStream: CfnDeliveryStream;
  readonly bucket: IBucket;
  /** The access key secret (HTTP endpoint mode only). */
  readonly accessKeySecret?: ISecret;

  constructor(scope: Construct, id: string, props: TracePipelineProps = {}) {
    super(scope, id);
    const sizeMiB = props.bufferSizeMiB ?? 1;
    const maxMiB = props.endpointUrl ? MAX_TRACE_BUFFER_MIB : 128;
    if (!Number.isInteger(sizeMiB) || sizeMiB < 1 || sizeMiB > maxMiB) {
      throw new Error(
        `TracePipeline bufferSizeMiB must be an integer 1..${maxMiB}${props.endpointUrl ? ' (a larger batch exceeds the Function URL 6 MB request limit once base64-encoded)' : ''}, got ${sizeMiB}`,
      );
    }
    if (props.endpointUrl && !Token.isUnresolved(props.endpointUrl) && !props.endpointUrl.startsWith('https://')) {
      throw new Error(`TracePipeline endpointUrl must be https, got ${props.endpointUrl}`);
    }
    const interval = props.bufferInterval ?? Duration.seconds(60);

    if (props.bucket) {
      this.bucket = props.bucket;
    } else {
      const bucket = new Bucket(this, 'Bucket', {
        encryption: BucketEncryption.S3_MANAGED,
        enforceSSL: true,
        blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
        removalPolicy: RemovalPolicy.RETAIN,
        lifecycleRules: [{ expiration: Duration.days(props.archiveRetentionDays ?? 90) }],
      });
      Validations.of(bucket).acknowledge({
        id: 'AwsSolutions-S1',
        reason:
          'Only the Firehose role writes this bucket; server access logs would need a second bucket for a trail CloudTrail data events already give.',
      });
      this.bucket = bucket;
    }

    const stack = Stack.of(this);
    const role = new Role(this, 'Role', {
      description: 'Sluice trace pipeline: Firehose delivery',
      // Confused-deputy guard: only Firehose acting for this account may assume the role.
      assumedBy: new ServicePrincipal('firehose.amazonaws.com', {
        conditions: { StringEquals: { 'sts:ExternalId': stack.account } },
      }),
    });
    const policyStatements: PolicyStatement[] = [
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: FIREHOSE_BUCKET_ACTIONS,
        resources: [this.bucket.bucketArn, this.bucket.arnForObjects('*')],
      }),
    ];
    // Delivery errors are logged, so a failing endpoint shows up without reading S3.
    const logGroup = new LogGroup(this, 'DeliveryErrors', { retention: RetentionDays.ONE_MONTH });
    const loggingOptions = (name: string) => {
      new LogStream(this, `${name}Stream`, { logGroup, logStreamName: name });
      return { enabled: true, logGroupName: logGroup.logGroupName, logStreamName: name };
    };
    policyStatements.push(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['logs:PutLogEvents'],
        resources: ['HttpDelivery', 'S3Delivery'].map((name) =>
          Arn.format(
            { service: 'logs', resource: 'log-group', resourceName: `${logGroup.logGroupName}:log-stream:${name}`, arnFormat: ArnFormat.COLON_RESOURCE_NAME },
            stack,
          ),
        ),
      }),
    );

    const s3Logging = loggingOptions('S3Delivery');
    const s3Config = (prefix: string, sizeInMBs: number, intervalInSeconds: number) => ({
      bucketArn: this.bucket.bucketArn,
      roleArn: role.roleArn,
      compressionFormat: 'GZIP',
      // Firehose appends the UTC `YYYY/MM/DD/HH/` itself.
      prefix: `${prefix}/`,
      errorOutputPrefix: `${prefix}-errors/`,
      bufferingHints: { sizeInMBs, intervalInSeconds },
      cloudWatchLoggingOptions: s3Logging,
    });

    let streamProps: Partial<ConstructorParameters<typeof CfnDeliveryStream>[2]>;
    if (props.endpointUrl) {
      this.accessKeySecret =
        props.accessKeySecret ??
        new Secret(this, 'AccessKey', {
          description: 'Sluice: access key Firehose presents to the trace-ingest endpoint',
          // Firehose reads the access key of an HTTP endpoint from the JSON field `api_key`.
          generateSecretString: {
            secretStringTemplate: '{}',
            generateStringKey: 'api_key',
            passwordLength: 48,
            excludePunctuation: true,
          },
        });
      if (!props.accessKeySecret) {
        Validations.of(this.accessKeySecret).acknowledge({
          id: 'AwsSolutions-SMG4',
          reason: 'An access key shared by Firehose and trace-ingest; rotating it means updating both, done by re-deploying.',
        });
      }
      policyStatements.push(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['secretsmanager:GetSecretValue'],
          resources: [this.accessKeySecret.secretArn],
        }),
      );
      streamProps = {
        httpEndpointDestinationConfiguration: {
          endpointConfiguration: { url: props.endpointUrl, name: 'sluice-trace-ingest' },
          secretsManagerConfiguration: { enabled: true, secretArn: this.accessKeySecret.secretArn, roleArn: role.roleArn },
          // Uncompressed: the size bound above is computed on the base64 body, and a gzip
          // body would reach the function base64-encoded as well.
          requestConfiguration: { contentEncoding: 'NONE' },
          bufferingHints: { sizeInMBs: sizeMiB, intervalInSeconds: interval.toSeconds() },
          retryOptions: { durationInSeconds: (props.retryDuration ?? Duration.minutes(5)).toSeconds() },
          roleArn: role.roleArn,
          s3BackupMode: props.backup === 'all' ? 'AllData' : 'FailedDataOnly',
          s3Configuration: s3Config('traces-backup', 5, 300),
          cloudWatchLoggingOptions: loggingOptions('HttpDelivery'),
        },
      };
    } else {
      streamProps = {
        extendedS3DestinationConfiguration: s3Config('traces', sizeMiB, interval.toSeconds()),
      };
    }

    const policy = new Policy(this, 'Policy', { statements: policyStatements, roles: [role] });
    if (!props.bucket) {
      const bucketId = stack.getLogicalId(this.bucket.node.defaultChild as CfnElement);
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`,
        reason: 'Firehose names the objects it writes (time-based keys), so the grant covers the objects of this one bucket.',
      });
    }

    this.deliveryStream = new CfnDeliveryStream(this, 'Stream', {
      deliveryStreamType: 'DirectPut',
      deliveryStreamEncryptionConfigurationInput: { keyType: 'AWS_OWNED_CMK' },
      ...streamProps,
    });
    // Firehose validates its role's permissions at creation.
    this.deliveryStream.node.addDependency(policy);
  }

  /** PutRecord / PutRecordBatch on this stream (the gateway's trace writer). */
  grantPutRecords(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: ['firehose:PutRecord', 'firehose:PutRecordBatch'],
      resourceArns: [this.deliveryStream.attrArn],
    });
  }
}
