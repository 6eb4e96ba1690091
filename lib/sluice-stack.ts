import { CfnOutput, Duration, Stack, Token, Validations, type RemovalPolicy, type StackProps } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ILogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { BedrockModelAccess } from './bedrock-arns.js';
import { Cache, type CacheProps } from './cache.js';
import { ControlTables } from './control-tables.js';
import { fargateHealth, FargateRuntime, type FargateRuntimeProps } from './fargate-runtime.js';
import { GatewayFunction } from './gateway-function.js';
import { GatewayMonitoring, lambdaHealth } from './gateway-monitoring.js';
import type { GatewayRuntimeProps } from './gateway-runtime.js';
import { TraceLossAlarm } from './trace-loss-alarm.js';
import { Governance, type GovernanceProps } from './governance.js';
import { SpendAlarms } from './spend-alarms.js';
import { emfRequestMetrics } from './request-metrics.js';
import { OPTIONAL_STACK_OUTPUTS, STACK_OUTPUTS } from './stack-outputs.js';
import { TraceIngestFunction } from './trace-ingest-function.js';
import { TracePipeline } from './trace-pipeline.js';

export interface SluiceStackProps extends StackProps {
  /**
   * Opt into the shared ElastiCache Serverless (Valkey) cache. This puts the gateway in a
   * VPC with a NAT gateway and VPC endpoints, which cost money at idle.
   * @default false (in-process caches; no VPC at all)
   */
  readonly cache?: boolean | CacheProps;
  /** Bedrock models the gateway may invoke. @default - none */
  readonly bedrock?: BedrockModelAccess;
  /** Gateway function timeout. @default Duration.minutes(5) */
  readonly timeout?: Duration;
  /** Gateway function memory in MB. @default 1024 */
  readonly memorySize?: number;
  /** Reserved concurrency of the gateway. @default - unreserved */
  readonly reservedConcurrency?: number;
  /** Active X-Ray tracing. @default false */
  readonly xrayTracing?: boolean;
  /** CORS origins. @default ['*'] */
  readonly allowedOrigins?: string[];
  /** Gateway log level. @default 'INFO' */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** Log retention of the gateway's logs. @default one month */
  readonly logRetention?: RetentionDays;
  /** Removal policy of the tables. @default RETAIN */
  readonly tableRemovalPolicy?: RemovalPolicy;
  /**
   * Traces through Firehose: to ClickHouse via trace-ingest when `clickhouseUrlSecretArn`
   * names the secret holding the ClickHouse URL (with credentials), else to S3 only.
   * @default - trace rows go to the gateway's log stream (the stdout sink)
   */
  readonly traces?: { clickhouseUrlSecretArn?: string; bufferSizeMiB?: number; bufferInterval?: Duration };
  /**
   * Governance resources: the holds/escalations SNS topic, the reference intent scorer
   * (functions/guardrail) and alarms on policy errors and holds (lib/governance.ts).
   * @default false
   */
  readonly governance?: boolean | Pick<GovernanceProps, 'judgeModel' | 'judgeModelId' | 'holdsThreshold'>;
  /**
   * OpenTelemetry export of every trace from the gateway (beside the trace path above):
   * OTLP/HTTP to `endpoint`, headers (API keys) from the secret with that complete ARN.
   * @default - no OTLP export
   */
  readonly otlp?: OtlpExportProps;
  /**
   * Where the gateway runs: a Lambda behind a streaming Function URL, or the container
   * server on ECS Fargate behind an Application Load Balancer (lib/fargate-runtime.ts).
   * @default 'lambda'
   */
  readonly runtime?: 'lambda' | 'fargate';
  /** Settings of the Fargate runtime (with `runtime: 'fargate'`). @default - HTTPS needs `certificateArn` */
  readonly fargate?: Pick<FargateRuntimeProps, 'certificateArn' | 'allowHttp' | 'cpu' | 'memoryLimitMiB' | 'minTasks' | 'maxTasks' | 'cpuTargetPercent' | 'requestsPerTaskPerMinute'>;
}

/** What the stack grants to and configures on the gateway, whichever runtime carries it. */
type GatewayTarget = IGrantable & { addToRolePolicy(statement: PolicyStatement): void; addEnvironment(name: string, value: string): unknown };

export interface OtlpExportProps {
  /** OTEL_EXPORTER_OTLP_ENDPOINT: the base URL (`/v1/traces` is appended). */
  readonly endpoint: string;
  /** @default 'http/protobuf' */
  readonly protocol?: 'http/protobuf' | 'http/json';
  /** Complete ARN of a secret holding the headers, `key=value,key2=value2` (OTEL_EXPORTER_OTLP_HEADERS format). */
  readonly headersSecretArn?: string;
  /** SLUICE_OTEL_CAPTURE_CONTENT: prompt and completion text (redacted) on the spans. @default false */
  readonly captureContent?: boolean;
}

export { STACK_OUTPUTS };

/**
 * The base Sluice deployment: the gateway behind a streaming Function URL, its two
 * DynamoDB tables, the identity signing key, alarms and a dashboard, and (opt-in) the
 * ElastiCache cache with its VPC. The stack only wires the constructs.
 */
export class SluiceStack extends Stack {
  readonly tables: ControlTables;
  /** The gateway Lambda (runtime 'lambda', the default). */
  readonly gateway?: GatewayFunction;
  /** The gateway on ECS Fargate behind a load balancer (runtime 'fargate'). */
  readonly fargate?: FargateRuntime;
  /** Dashboard and alarms: the runtime's health (Lambda, or load balancer and tasks on Fargate) and the gateway's EMF request metrics. */
  readonly monitoring: GatewayMonitoring;
  /** Metrics and the alarm on budget and rate-limit refusals (429). */
  readonly spendAlarms: SpendAlarms;
  /** `trace_rows_lost` from the gateway's logs: a metric and an alarm on any. */
  readonly traceLoss: TraceLossAlarm;
  /** Notifications topic, reference intent scorer, approvals access and governance alarms (with `governance` on). */
  readonly governance?: Governance;
  readonly identitySigningKey: Secret;
  readonly cache?: Cache;
  readonly traces?: TracePipeline;
  readonly traceIngest?: TraceIngestFunction;
  private readonly xrayTracing: boolean;

  constructor(scope: Construct, id: string, props: SluiceStackProps = {}) {
    super(scope, id, props);
    this.xrayTracing = props.xrayTracing ?? false;

    this.tables = new ControlTables(this, 'Tables', {
      ...(props.tableRemovalPolicy ? { removalPolicy: props.tableRemovalPolicy } : {}),
    });

    // HMAC key of the cached identity blobs; generated at deploy, never in the template.
    this.identitySigningKey = new Secret(this, 'IdentitySigningKey', {
      description: 'Sluice: HMAC key signing cached gateway-key identities',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    Validations.of(this.identitySigningKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The identity signing key only signs short-lived cache entries (SLUICE_AUTH_CACHE_TTL_MS); it is replaced by re-creating the secret, and a rotation Lambda would add cost and a VPC dependency for no gain.',
    });

    if (props.cache) {
      this.cache = new Cache(this, 'Cache', props.cache === true ? {} : props.cache);
    }

    const environment = {
      SLUICE_STORE: 'dynamodb',
      SLUICE_CONTROL_TABLE: this.tables.controlTable.tableName,
      SLUICE_STATE_TABLE: this.tables.stateTable.tableName,
      SLUICE_IDENTITY_SIGNING_KEY_SECRET_ARN: this.identitySigningKey.secretArn,
      ...(this.cache ? { REDIS_URL: this.cache.redisUrl } : {}),
      // The response cache (docs/cache.md): Valkey when the cache context is on, else the state table.
      SLUICE_RESPONSE_CACHE_STORE: this.cache ? 'redis' : 'dynamodb',
    };
    const network = this.cache
      ? { vpc: this.cache.vpc, vpcSubnets: this.cache.clientSubnets, securityGroups: [this.cache.clientSecurityGroup] }
      : {};
    let fn: GatewayTarget;
    let logGroup: ILogGroup;
    // What both runtimes take the same way (lib/gateway-runtime.ts), then each its own.
    const shared: GatewayRuntimeProps & typeof network = {
      ...(props.allowedOrigins ? { allowedOrigins: props.allowedOrigins } : {}),
      ...(props.bedrock ? { bedrock: props.bedrock } : {}),
      ...(props.logLevel ? { logLevel: props.logLevel } : {}),
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      ...network,
      environment,
    };
    if (props.runtime === 'fargate') {
      this.fargate = new FargateRuntime(this, 'Fargate', {
        ...props.fargate,
        ...(props.timeout ? { requestTimeout: props.timeout } : {}),
        ...shared,
      });
      fn = this.fargate;
      logGroup = this.fargate.logGroup;
    } else {
      this.gateway = new GatewayFunction(this, 'Gateway', {
        ...(props.timeout ? { timeout: props.timeout } : {}),
        ...(props.memorySize ? { memorySize: props.memorySize } : {}),
        ...(props.reservedConcurrency !== undefined ? { reservedConcurrency: props.reservedConcurrency } : {}),
        ...(props.xrayTracing ? { xrayTracing: true } : {}),
        ...shared,
      });
      fn = this.gateway.function;
      logGroup = this.gateway.logGroup;
    }
    if (props.traces) {
      ({ pipeline: this.traces, ingest: this.traceIngest } = this.wireTraces(props.traces, fn));
    } else {
      // No pipeline: trace rows go to the gateway's log stream (the default JSONL file
      // store needs a writable data directory, which Lambda does not have).
      fn.addEnvironment('SLUICE_TRACE_SINK', 'stdout');
    }
    if (props.otlp) this.wireOtlp(props.otlp, fn, props.traces ? 'firehose' : 'stdout');
    this.tables.grantControlRead(fn);
    this.tables.grantStateReadWrite(fn);
    this.identitySigningKey.grantRead(fn);

    // The gateway's EMF metrics, in both runtimes (docs/deploy.md "Request metrics").
    const metrics = emfRequestMetrics();
    const health = this.fargate
      ? fargateHealth(this.fargate)
      : lambdaHealth({ function: this.gateway!.function, timeout: props.timeout ?? this.gateway!.timeout });
    this.monitoring = new GatewayMonitoring(this, 'Monitoring', { health, metrics });
    this.spendAlarms = new SpendAlarms(this, 'SpendAlarms', { metrics, monitoring: this.monitoring });
    this.traceLoss = new TraceLossAlarm(this, 'TraceLoss', { logGroup, monitoring: this.monitoring });
    if (props.governance) {
      this.governance = new Governance(this, 'Governance', {
        gateway: fn,
        metrics,
        controlTable: this.tables.controlTable,
        monitoring: this.monitoring,
        ...(props.governance === true ? {} : props.governance),
      });
      for (const [name, value] of Object.entries(this.governance.gatewayEnvironment())) fn.addEnvironment(name, value);
    }

    new CfnOutput(this, STACK_OUTPUTS.controlTable, {
      value: this.tables.controlTable.tableName,
      description: 'Control table (proxies, key hashes, policies)',
    });
    new CfnOutput(this, STACK_OUTPUTS.stateTable, {
      value: this.tables.stateTable.tableName,
      description: 'State table (sessions, counters)',
    });
    new CfnOutput(this, STACK_OUTPUTS.functionUrl, {
      // The same output name in both runtimes: the CLI and `npm run smoke` read it.
      value: this.fargate ? this.fargate.url : this.gateway!.url,
      description: this.fargate ? 'Gateway base URL, the load balancer (OpenAI SDK base_url: <url>v1)' : 'Gateway base URL (OpenAI SDK base_url: <url>v1)',
    });

    new CfnOutput(this, OPTIONAL_STACK_OUTPUTS.providerSecretPrefix, {
      value: (this.fargate ?? this.gateway!).providerSecretPrefix,
      description: 'Provider keys are read from secrets named <prefix><name> (--credential secret:<prefix><name>)',
    });

    new CfnOutput(this, OPTIONAL_STACK_OUTPUTS.responseCacheStore, {
      value: this.cache ? 'redis' : 'dynamodb',
      description: 'Where the response cache keeps answers (sluice cache purge --aws purges the dynamodb store)',
    });

    if (props.traces?.clickhouseUrlSecretArn) {
      new CfnOutput(this, OPTIONAL_STACK_OUTPUTS.clickhouseUrlSecretArn, {
        value: props.traces.clickhouseUrlSecretArn,
        description: 'Secret holding the ClickHouse URL traces go to (sluice traces list --aws)',
      });
    }

    this.acknowledgeNagFindings();
  }

  /** Firehose (and trace-ingest when ClickHouse is configured); the gateway writes to the stream. */
  private wireTraces(traces: NonNullable<SluiceStackProps['traces']>, fn: GatewayTarget): { pipeline: TracePipeline; ingest?: TraceIngestFunction } {
    const buffering = {
      ...(traces.bufferSizeMiB !== undefined ? { bufferSizeMiB: traces.bufferSizeMiB } : {}),
      ...(traces.bufferInterval ? { bufferInterval: traces.bufferInterval } : {}),
    };
    if (traces.clickhouseUrlSecretArn) {
      // One access key for both ends, created here: the pipeline needs the function's URL.
      const accessKey = new Secret(this, 'TraceAccessKey', {
        description: 'Sluice: access key Firehose presents to trace-ingest',
        generateSecretString: { secretStringTemplate: '{}', generateStringKey: 'api_key', passwordLength: 48, excludePunctuation: true },
      });
      Validations.of(accessKey).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: 'An access key shared by Firehose and trace-ingest; rotating it means updating both, done by re-deploying.',
      });
      const clickhouseUrl = Secret.fromSecretCompleteArn(this, 'ClickHouseUrl', traces.clickhouseUrlSecretArn);
      const ingest = new TraceIngestFunction(this, 'TraceIngest', { accessKeySecret: accessKey, clickhouseUrlSecret: clickhouseUrl });
      const pipeline = new TracePipeline(this, 'Traces', { endpointUrl: ingest.functionUrl.url, accessKeySecret: accessKey, ...buffering });
      this.useTraceStream(pipeline, fn);
      return { pipeline, ingest };
    }
    const pipeline = new TracePipeline(this, 'Traces', buffering);
    this.useTraceStream(pipeline, fn);
    return { pipeline };
  }

  /**
   * OTLP from the gateway itself (its exporter is loaded on first use, after the client's
   * last byte): it works with every trace mode and adds no Firehose buffering delay.
   */
  private wireOtlp(otlp: OtlpExportProps, fn: GatewayTarget, base: string): void {
    fn.addEnvironment('SLUICE_TRACE_SINK', `${base},otlp`);
    fn.addEnvironment('OTEL_EXPORTER_OTLP_ENDPOINT', otlp.endpoint);
    fn.addEnvironment('OTEL_EXPORTER_OTLP_PROTOCOL', otlp.protocol ?? 'http/protobuf');
    fn.addEnvironment('OTEL_SERVICE_NAME', 'sluice');
    if (otlp.captureContent) fn.addEnvironment('SLUICE_OTEL_CAPTURE_CONTENT', 'true');
    if (otlp.headersSecretArn) {
      const headers = Secret.fromSecretCompleteArn(this, 'OtlpHeaders', otlp.headersSecretArn);
      headers.grantRead(fn);
      fn.addEnvironment('SLUICE_OTLP_HEADERS_SECRET_ARN', otlp.headersSecretArn);
    }
  }

  private useTraceStream(pipeline: TracePipeline, fn: GatewayTarget): void {
    fn.addEnvironment('SLUICE_TRACE_SINK', 'firehose');
    fn.addEnvironment('SLUICE_TRACE_STREAM', pipeline.deliveryStream.ref);
    pipeline.grantPutRecords(fn);
  }

  /** cdk-nag findings that are deliberate, each with its reason. */
  private acknowledgeNagFindings(): void {
    const role = this.fargate ? this.fargate.taskDefinition.taskRole : this.gateway!.function.role;
    this.gateway?.function.acknowledgeBasicExecutionPolicy();
    if (!role) return;
    const v = Validations.of(role);
    if (this.cache && this.gateway) {
      v.acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        reason: 'AWS-managed VPC access policy: the ENI actions the function needs to run in the cache VPC, nothing more.',
      });
    }
    if (this.xrayTracing && this.gateway) {
      v.acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray PutTraceSegments/PutTelemetryRecords do not support resource-level permissions (added by active tracing only).',
      });
    }
    // cdk-nag names the resource as synthesized: pseudo parameters while the stack is
    // environment-agnostic, the literal Region and account once `env` pins them.
    const region = Token.isUnresolved(this.region) ? '<AWS::Region>' : this.region;
    const account = Token.isUnresolved(this.account) ? '<AWS::AccountId>' : this.account;
    v.acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:${region}:${account}:secret:sluice/providers/*]`,
      reason:
        'Provider keys are referenced by name (secret:sluice/providers/<name>) and added after deploy; the grant is read-only and limited to that name prefix.',
    });
  }
}
