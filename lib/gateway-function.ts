import { Duration } from 'aws-cdk-lib';
import type { ISecurityGroup, IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import { FunctionUrlAuthType, HttpMethod, InvokeMode, Tracing, type FunctionUrl } from 'aws-cdk-lib/aws-lambda';
import type { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BundledFunction, PROJECT_ROOT } from './bundled-function.js';
import { gatewayRuntimeBase, type GatewayRuntimeProps } from './gateway-runtime.js';
import { CORS_MAX_AGE_SECONDS, EXPOSED_HEADERS } from '../functions/local/cors.js';

export { PROJECT_ROOT };
/** The module Lambda runs, relative to the project root; the local runtime serves the same one. */
export const GATEWAY_HANDLER_ENTRY = 'functions/gateway/handler.ts';
/** The export of that module Lambda invokes. */
export const GATEWAY_HANDLER_EXPORT = 'handler';

/** Response headers browsers may read: one list for the Function URL and the container server's CORS. */
export { EXPOSED_HEADERS };

export interface GatewayFunctionProps extends GatewayRuntimeProps {
  /**
   * The handler module: relative to the project root, or absolute.
   * @default 'functions/gateway/handler.ts'
   */
  readonly entry?: string;
  /**
   * Maximum duration of one request, streams included. A Function URL stream can last
   * 15 minutes at most; a client that disconnects is still billed until the function returns.
   * @default Duration.minutes(5)
   */
  readonly timeout?: Duration;
  /**
   * Memory in MB (CPU scales with it; JSON and SSE relaying is CPU-bound at high rates).
   * @default 1024
   */
  readonly memorySize?: number;
  /**
   * Reserved concurrency: caps the gateway (and the spend it can cause) and guarantees it
   * that much of the account's pool.
   * @default - unreserved (account pool)
   */
  readonly reservedConcurrency?: number;
  /**
   * Active X-Ray tracing.
   * @default false
   */
  readonly xrayTracing?: boolean;
  /**
   * VPC to join; only set when the cache is on (a VPC needs a NAT to reach providers).
   * @default - no VPC
   */
  readonly vpc?: IVpc;
  /** Subnets in `vpc`. @default - the VPC's private subnets */
  readonly vpcSubnets?: SubnetSelection;
  /** Security groups in `vpc`. @default - a new one */
  readonly securityGroups?: ISecurityGroup[];
}

/**
 * The gateway Lambda behind a Function URL: Node 24 on arm64, one split ESM bundle, response
 * streaming, no IAM auth on the URL (the gateway authenticates its own keys).
 */
export class GatewayFunction extends Construct {
  readonly function: BundledFunction;
  readonly functionUrl: FunctionUrl;
  readonly logGroup: LogGroup;
  readonly timeout: Duration;
  /** The name prefix of the provider-key secrets the function may read (`secret:<prefix><name>`). */
  readonly providerSecretPrefix: string;

  constructor(scope: Construct, id: string, props: GatewayFunctionProps = {}) {
    super(scope, id);
    this.timeout = props.timeout ?? Duration.minutes(5);
    const base = gatewayRuntimeBase(this, props);
    this.logGroup = base.logGroup;
    this.providerSecretPrefix = base.providerSecretPrefix;

    this.function = new BundledFunction(this, 'Function', {
      entry: props.entry ?? GATEWAY_HANDLER_ENTRY,
      handler: GATEWAY_HANDLER_EXPORT,
      // The console (server module and static files) beside the bundle: functions/console/build.ts;
      // the Rego engine's lazily loaded builtins (rego-graphql.mjs): functions/rego/build-lazy.ts.
      // Code splitting: AWS SDK clients off the hot path, ioredis, … load on first use (lib/split-bundle.ts).
      splitting: true,
      afterBundling: (outputDir) => [
        `cd "${PROJECT_ROOT}" && node --import tsx functions/console/build.ts "${outputDir}/console"`,
        `cd "${PROJECT_ROOT}" && node --import tsx functions/rego/build-lazy.ts "${outputDir}"`,
      ],
      memorySize: props.memorySize ?? 1024,
      timeout: this.timeout,
      reservedConcurrentExecutions: props.reservedConcurrency,
      tracing: props.xrayTracing ? Tracing.ACTIVE : Tracing.DISABLED,
      logGroup: this.logGroup,
      vpc: props.vpc,
      vpcSubnets: props.vpc ? props.vpcSubnets : undefined,
      securityGroups: props.vpc ? props.securityGroups : undefined,
      environment: base.environment,
    });

    this.functionUrl = this.function.addFunctionUrl({
      authType: FunctionUrlAuthType.NONE,
      invokeMode: InvokeMode.RESPONSE_STREAM,
      cors: {
        allowedOrigins: props.allowedOrigins ?? ['*'],
        allowedMethods: [HttpMethod.ALL],
        allowedHeaders: ['*'],
        exposedHeaders: [...EXPOSED_HEADERS],
        maxAge: Duration.seconds(CORS_MAX_AGE_SECONDS),
      },
    });

    for (const statement of base.statements) this.function.addToRolePolicy(statement);
  }

  /** The Function URL, the customers' `base_url` host. */
  get url(): string {
    return this.functionUrl.url;
  }
}
