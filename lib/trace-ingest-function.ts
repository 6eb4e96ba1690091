import { Duration, Validations } from 'aws-cdk-lib';
import { Architecture, FunctionUrlAuthType, InvokeMode, LoggingFormat, Runtime, type FunctionUrl } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { PROJECT_ROOT } from './gateway-function.js';

/** The module Lambda runs for trace-ingest, relative to the project root. */
export const TRACE_INGEST_ENTRY = 'functions/trace-ingest/index.ts';

export interface TraceIngestFunctionProps {
  /**
   * The access key Firehose presents (JSON `{"api_key": "…"}`): TracePipeline's
   * `accessKeySecret`.
   */
  readonly accessKeySecret: ISecret;
  /** The ClickHouse HTTP URL with its credentials (`https://user:pass@host:8443/?database=db`), plain or JSON `{"url": "…"}`. */
  readonly clickhouseUrlSecret: ISecret;
  /**
   * Memory in MB: a 3 MiB delivery decodes to a few thousand rows.
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Longest delivery handling; Firehose waits up to 3 minutes for an answer.
   * @default Duration.seconds(60)
   */
  readonly timeout?: Duration;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/**
 * trace-ingest: the Firehose HTTP-endpoint receiver (functions/trace-ingest) behind its
 * own buffered Function URL. The URL has no IAM auth because Firehose cannot sign its
 * requests; the function checks Firehose's access key on every call instead.
 */
export class TraceIngestFunction extends Construct {
  readonly function: NodejsFunction;
  readonly functionUrl: FunctionUrl;

  constructor(scope: Construct, id: string, props: TraceIngestFunctionProps) {
    super(scope, id);
    const logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention ?? RetentionDays.ONE_MONTH });
    this.function = new NodejsFunction(this, 'Function', {
      entry: `${PROJECT_ROOT}${TRACE_INGEST_ENTRY}`,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(60),
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      environment: {
        POWERTOOLS_SERVICE_NAME: 'sluice-trace-ingest',
        SLUICE_INGEST_ACCESS_KEY_SECRET_ARN: props.accessKeySecret.secretArn,
        CLICKHOUSE_URL_SECRET_ARN: props.clickhouseUrlSecret.secretArn,
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node24',
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: false,
        bundleAwsSDK: true,
        externalModules: [],
        banner: "import { createRequire as __sluiceCreateRequire } from 'node:module'; const require = __sluiceCreateRequire(import.meta.url);",
      },
    });
    props.accessKeySecret.grantRead(this.function);
    props.clickhouseUrlSecret.grantRead(this.function);
    this.functionUrl = this.function.addFunctionUrl({ authType: FunctionUrlAuthType.NONE, invokeMode: InvokeMode.BUFFERED });
    if (this.function.role) {
      Validations.of(this.function.role).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'AWS-managed basic execution policy: log writing only (CreateLogGroup/CreateLogStream/PutLogEvents).',
      });
    }
  }
}
