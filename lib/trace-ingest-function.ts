import { Duration } from 'aws-cdk-lib';
import { FunctionUrlAuthType, InvokeMode, type FunctionUrl } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { BundledFunction } from './bundled-function.js';

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
  readonly function: BundledFunction;
  readonly functionUrl: FunctionUrl;

  constructor(scope: Construct, id: string, props: TraceIngestFunctionProps) {
    super(scope, id);
    const logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention ?? RetentionDays.ONE_MONTH });
    this.function = new BundledFunction(this, 'Function', {
      entry: TRACE_INGEST_ENTRY,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(60),
      logGroup,
      environment: {
        POWERTOOLS_SERVICE_NAME: 'sluice-trace-ingest',
        SLUICE_INGEST_ACCESS_KEY_SECRET_ARN: props.accessKeySecret.secretArn,
        CLICKHOUSE_URL_SECRET_ARN: props.clickhouseUrlSecret.secretArn,
      },
    });
    props.accessKeySecret.grantRead(this.function);
    props.clickhouseUrlSecret.grantRead(this.function);
    this.functionUrl = this.function.addFunctionUrl({ authType: FunctionUrlAuthType.NONE, invokeMode: InvokeMode.BUFFERED });
    this.function.acknowledgeBasicExecutionPolicy();
  }
}
