import { Duration, Validations } from 'aws-cdk-lib';
import { ComparisonOperator, GraphWidget, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import {
  FlowLogDestination,
  GatewayVpcEndpointAwsService,
  Peer,
  Port,
  SecurityGroup,
  SubnetType,
  Vpc,
  type ISecurityGroup,
  type IVpc,
  type SubnetSelection,
} from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import {
  Cluster,
  ContainerImage,
  ContainerInsights,
  CpuArchitecture,
  FargateService,
  FargateTaskDefinition,
  LogDrivers,
  AwsLogDriverMode,
  OperatingSystemFamily,
  type ContainerDefinition,
} from 'aws-cdk-lib/aws-ecs';
import {
  ApplicationLoadBalancer,
  ApplicationProtocol,
  ApplicationTargetGroup,
  HttpCodeElb,
  ListenerAction,
  ListenerCertificate,
  SslPolicy,
  TargetType,
  type ApplicationListener,
} from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type { IGrantable, IPrincipal, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DRAIN_GRACE_MS } from '../functions/local/shutdown.js';
import { PROJECT_ROOT } from './bundled-function.js';
import { gatewayRuntimeBase, type GatewayRuntimeProps } from './gateway-runtime.js';
import type { RuntimeHealth } from './gateway-monitoring.js';

/** The port the container server listens on (Dockerfile `ENV PORT`, `EXPOSE`). */
export const CONTAINER_PORT = 8080;

/**
 * The build context: only what the Dockerfile COPYs (an allow-list, `.dockerignore`
 * syntax). `cdk synth` copies these into cdk.out and hashes them; the hash, hence the
 * image, changes only when an input of the image does, not with tests, docs or lib/.
 */
export const IMAGE_CONTEXT_EXCLUDES = ['*', '!Dockerfile', '!package.json', '!package-lock.json', '!tsconfig.json', '!functions', '!console', '**/node_modules', '**/*.test.ts'];

export interface FargateRuntimeProps extends GatewayRuntimeProps {
  /**
   * HTTPS listener certificate (ACM, same Region). Without one the load balancer listens
   * on plain HTTP only, which carries gateway keys in clear text: only `allowHttp` allows it.
   * @default - none
   */
  readonly certificateArn?: string;
  /** Accept a listener without TLS (a throwaway test stack). @default false */
  readonly allowHttp?: boolean;
  /**
   * The longest request the gateway serves (streams included): the load balancer's idle
   * timeout and the targets' deregistration delay are set from it.
   * @default Duration.minutes(5) (as the Lambda timeout)
   */
  readonly requestTimeout?: Duration;
  /**
   * The VPC to run in (the cache's, when the cache is on). Tasks go in its private subnets
   * with egress (a NAT reaches the providers).
   * @default - a new VPC: 2 AZs, one NAT gateway, flow logs, a DynamoDB gateway endpoint
   */
  readonly vpc?: IVpc;
  /** @default - the VPC's private subnets with egress */
  readonly vpcSubnets?: SubnetSelection;
  /** Extra security groups of the tasks (the cache's client group). @default - none */
  readonly securityGroups?: ISecurityGroup[];
  /** Task vCPU units. @default 1024 (1 vCPU) */
  readonly cpu?: number;
  /** Task memory. @default 2048 */
  readonly memoryLimitMiB?: number;
  /** Fewest running tasks (two keep one per AZ). @default 2 */
  readonly minTasks?: number;
  /** Most running tasks (caps cost like the Lambda's reserved concurrency). @default 10 */
  readonly maxTasks?: number;
  /** Target average CPU of the tasks. @default 60 */
  readonly cpuTargetPercent?: number;
  /** Target requests per task per minute (ALB RequestCountPerTarget). @default 600 */
  readonly requestsPerTaskPerMinute?: number;
}

/**
 * The gateway on ECS Fargate behind an Application Load Balancer: the container server
 * (Dockerfile, functions/local/container.ts) built from the project at deploy time
 * (`cdk synth` only stages the build context; the image is built by `cdk deploy`, which
 * needs Docker there). Tasks run in private subnets without public IPs; only the load
 * balancer is public.
 */
export class FargateRuntime extends Construct implements IGrantable {
  readonly vpc: IVpc;
  readonly cluster: Cluster;
  readonly taskDefinition: FargateTaskDefinition;
  readonly container: ContainerDefinition;
  readonly service: FargateService;
  readonly loadBalancer: ApplicationLoadBalancer;
  readonly listener: ApplicationListener;
  readonly targetGroup: ApplicationTargetGroup;
  readonly logGroup: LogGroup;
  readonly requestTimeout: Duration;
  readonly providerSecretPrefix: string;
  /** The gateway's base URL (`https://<alb-dns>/`, or `http://` with `allowHttp`). */
  readonly url: string;

  constructor(scope: Construct, id: string, props: FargateRuntimeProps = {}) {
    super(scope, id);
    if (!props.certificateArn && !props.allowHttp) {
      throw new Error('FargateRuntime: a certificateArn is required (gateway keys would cross the internet in clear text); set allowHttp for a throwaway test stack');
    }
    this.requestTimeout = props.requestTimeout ?? Duration.minutes(5);
    const timeoutSeconds = this.requestTimeout.toSeconds();
    if (timeoutSeconds < 1 || timeoutSeconds > 3600) throw new Error('FargateRuntime: requestTimeout must be 1 s..1 h (the deregistration delay limit)');

    this.vpc = props.vpc ?? this.newVpc();
    const subnets = props.vpcSubnets ?? { subnetType: SubnetType.PRIVATE_WITH_EGRESS };

    this.cluster = new Cluster(this, 'Cluster', { vpc: this.vpc, containerInsightsV2: ContainerInsights.ENABLED });

    // The log group, environment and grants the Lambda gets too (lib/gateway-runtime.ts).
    const base = gatewayRuntimeBase(this, props);
    this.logGroup = base.logGroup;
    this.providerSecretPrefix = base.providerSecretPrefix;
    this.taskDefinition = new FargateTaskDefinition(this, 'Task', {
      cpu: props.cpu ?? 1024,
      memoryLimitMiB: props.memoryLimitMiB ?? 2048,
      // Graviton, as the Lambda (arm64): about 20 % cheaper per vCPU-hour than x86.
      runtimePlatform: { cpuArchitecture: CpuArchitecture.ARM64, operatingSystemFamily: OperatingSystemFamily.LINUX },
    });
    // The root filesystem is read-only; SLUICE_DATA_DIR and tsx's compile cache live in /tmp.
    this.taskDefinition.addVolume({ name: 'tmp' });
    this.container = this.taskDefinition.addContainer('Gateway', {
      image: ContainerImage.fromAsset(PROJECT_ROOT, { platform: Platform.LINUX_ARM64, exclude: IMAGE_CONTEXT_EXCLUDES }),
      // The image's USER, restated so an image change cannot make the task run as root.
      user: 'node',
      readonlyRootFilesystem: true,
      portMappings: [{ containerPort: CONTAINER_PORT }],
      environment: {
        ...base.environment,
        // What the Lambda gets from its runtime and Function URL, the container server does itself:
        // the request time limit, and CORS.
        SLUICE_REQUEST_TIMEOUT_SECONDS: String(timeoutSeconds),
        SLUICE_CORS_ALLOWED_ORIGINS: (props.allowedOrigins ?? ['*']).join(','),
      },
      logging: LogDrivers.awsLogs({
        logGroup: this.logGroup,
        streamPrefix: 'gateway',
        // Blocking: a slow CloudWatch Logs stalls writes instead of dropping lines, since
        // trace rows (SLUICE_TRACE_SINK=stdout) and metrics travel in them.
        mode: AwsLogDriverMode.BLOCKING,
      }),
      // SIGTERM starts the drain (DRAIN_GRACE_MS for in-flight requests), then the trace flush.
      stopTimeout: Duration.seconds(Math.min(120, DRAIN_GRACE_MS / 1000 + 20)),
    });
    this.container.addMountPoints({ containerPath: '/tmp', sourceVolume: 'tmp', readOnly: false });

    for (const statement of base.statements) this.addToRolePolicy(statement);

    const albSg = new SecurityGroup(this, 'LoadBalancerSg', { vpc: this.vpc, description: 'Sluice gateway load balancer', allowAllOutbound: false });
    const https = props.certificateArn !== undefined;
    albSg.addIngressRule(Peer.anyIpv4(), Port.tcp(https ? 443 : 80), https ? 'HTTPS from clients' : 'HTTP from clients (allowHttp)');
    if (https) albSg.addIngressRule(Peer.anyIpv4(), Port.tcp(80), 'HTTP, redirected to HTTPS');
    Validations.of(albSg).acknowledge({
      id: 'AwsSolutions-EC23',
      reason: 'The gateway is a public API: clients call it from anywhere and authenticate with their gateway key on every request.',
    });

    this.loadBalancer = new ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: this.vpc,
      internetFacing: true,
      securityGroup: albSg,
      vpcSubnets: { subnetType: SubnetType.PUBLIC },
      // A non-streamed completion sends nothing until it is done: the idle timeout must
      // outlast the longest request, not the 60 s default.
      idleTimeout: Duration.seconds(Math.min(4000, timeoutSeconds + 5)),
      dropInvalidHeaderFields: true,
    });
    this.loadBalancer.logAccessLogs(this.accessLogBucket(), 'alb');

    const taskSg = new SecurityGroup(this, 'TaskSg', { vpc: this.vpc, description: 'Sluice gateway tasks', allowAllOutbound: true });
    this.service = new FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: props.minTasks ?? 2,
      assignPublicIp: false,
      vpcSubnets: subnets,
      securityGroups: [taskSg, ...(props.securityGroups ?? [])],
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { rollback: true },
      healthCheckGracePeriod: Duration.seconds(60),
    });
    this.service.connections.allowFrom(albSg, Port.tcp(CONTAINER_PORT), 'Gateway port from the load balancer');

    this.targetGroup = new ApplicationTargetGroup(this, 'Targets', {
      vpc: this.vpc,
      port: CONTAINER_PORT,
      protocol: ApplicationProtocol.HTTP,
      targetType: TargetType.IP,
      targets: [this.service],
      // ECS deregisters a stopping task, waits this long, then sends SIGTERM: streams in
      // flight finish within the request timeout before the drain starts.
      deregistrationDelay: this.requestTimeout,
      healthCheck: {
        path: '/healthz',
        healthyHttpCodes: '200',
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
      },
    });

    if (https) {
      this.listener = this.loadBalancer.addListener('Https', {
        port: 443,
        protocol: ApplicationProtocol.HTTPS,
        certificates: [ListenerCertificate.fromArn(props.certificateArn!)],
        sslPolicy: SslPolicy.RECOMMENDED_TLS,
        defaultTargetGroups: [this.targetGroup],
      });
      this.loadBalancer.addListener('HttpRedirect', {
        port: 80,
        protocol: ApplicationProtocol.HTTP,
        defaultAction: ListenerAction.redirect({ protocol: 'HTTPS', port: '443', permanent: true }),
      });
    } else {
      this.listener = this.loadBalancer.addListener('Http', {
        port: 80,
        protocol: ApplicationProtocol.HTTP,
        defaultTargetGroups: [this.targetGroup],
      });
    }
    this.url = `${https ? 'https' : 'http'}://${this.loadBalancer.loadBalancerDnsName}/`;

    const scaling = this.service.autoScaleTaskCount({ minCapacity: props.minTasks ?? 2, maxCapacity: props.maxTasks ?? 10 });
    scaling.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: props.cpuTargetPercent ?? 60 });
    scaling.scaleOnRequestCount('Requests', { requestsPerTarget: props.requestsPerTaskPerMinute ?? 600, targetGroup: this.targetGroup });

    this.acknowledgeNagFindings();
  }

  get grantPrincipal(): IPrincipal {
    return this.taskDefinition.taskRole.grantPrincipal;
  }

  /** Adds a statement to the task role (what the Lambda gets through `addToRolePolicy`). */
  addToRolePolicy(statement: PolicyStatement): void {
    this.taskDefinition.addToTaskRolePolicy(statement);
  }

  addEnvironment(name: string, value: string): void {
    this.container.addEnvironment(name, value);
  }

  /** Requests per 5 minutes at the load balancer (the Lambda's Invocations). */
  metricRequests(): IMetric {
    return this.loadBalancer.metrics.requestCount({ period: Duration.minutes(5), statistic: 'Sum' });
  }

  private newVpc(): IVpc {
    const vpc = new Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 1,
      subnetConfiguration: [
        { name: 'public', subnetType: SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
      flowLogs: {
        all: { destination: FlowLogDestination.toCloudWatchLogs(new LogGroup(this, 'FlowLogs', { retention: RetentionDays.ONE_MONTH })) },
      },
    });
    // Free, and keeps the hot path's DynamoDB calls off the NAT (billed per GB).
    vpc.addGatewayEndpoint('DynamoDb', { service: GatewayVpcEndpointAwsService.DYNAMODB });
    return vpc;
  }

  private accessLogBucket(): Bucket {
    const bucket = new Bucket(this, 'AccessLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(90) }],
    });
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket holds the load balancer access logs; logging access to the log bucket itself would need another bucket, and so on.',
    });
    return bucket;
  }

  private acknowledgeNagFindings(): void {
    const executionRole = this.taskDefinition.executionRole;
    if (executionRole) {
      Validations.of(executionRole).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'The execution role (image pull and log delivery, added by ECS) needs ecr:GetAuthorizationToken, which has no resource-level permission; its other actions name the image repository and the log group.',
      });
    }
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason: 'The environment holds only names, ARNs and settings (table names, secret ARNs, log level); secrets are read from Secrets Manager at run time, never placed in the task definition.',
    });
  }
}

/**
 * The Fargate runtime's health for GatewayMonitoring (lib/gateway-monitoring.ts): 5xx the
 * load balancer answered itself, unhealthy tasks, response time near the request timeout,
 * task CPU and memory.
 */
export function fargateHealth(runtime: FargateRuntime): RuntimeHealth {
  const period = Duration.minutes(5);
  const lb = runtime.loadBalancer.metrics;
  const tg = runtime.targetGroup.metrics;
  const elb5xx = lb.httpCodeElb(HttpCodeElb.ELB_5XX_COUNT, { period, statistic: 'Sum' });
  const unhealthy = tg.unhealthyHostCount({ period, statistic: 'Maximum' });
  const p99 = tg.targetResponseTime({ period, statistic: 'p99' });
  return {
    widgets: [
      [
        new GraphWidget({ title: 'Requests and load balancer 5xx', left: [runtime.metricRequests(), elb5xx], width: 12 }),
        new GraphWidget({ title: 'Target response time (s)', left: [tg.targetResponseTime({ period, statistic: 'p50' }), p99], width: 12 }),
      ],
      [
        new GraphWidget({ title: 'Healthy and unhealthy tasks', left: [tg.healthyHostCount({ period, statistic: 'Minimum' }), unhealthy], width: 12 }),
        new GraphWidget({ title: 'Task CPU and memory (%)', left: [runtime.service.metricCpuUtilization({ period }), runtime.service.metricMemoryUtilization({ period })], width: 12 }),
      ],
    ],
    alarms: [
      {
        id: 'LoadBalancer5xx',
        description: 'Sluice gateway: 5xx from the load balancer itself (no healthy task, task crashed or timed out), not answers of the gateway',
        metric: elb5xx,
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      },
      {
        id: 'UnhealthyTasks',
        description: 'Sluice gateway: a task fails its /healthz check',
        metric: unhealthy,
        threshold: 1,
        evaluationPeriods: 2,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      },
      {
        id: 'P99ResponseTime',
        description: 'Sluice gateway: p99 response time near the request timeout',
        metric: p99,
        threshold: Math.round(runtime.requestTimeout.toSeconds() * 0.8),
        evaluationPeriods: 3,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      },
    ],
  };
}
