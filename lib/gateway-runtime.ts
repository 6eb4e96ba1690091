import { Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { bedrockInvokeResourceArns, type BedrockModelAccess } from './bedrock-arns.js';
import { DEFAULT_PROVIDER_SECRET_PREFIX } from './stack-outputs.js';

/**
 * What every gateway runtime is given the same way, the Lambda function
 * (lib/gateway-function.ts) and the Fargate tasks (lib/fargate-runtime.ts): one set of
 * props, one environment, one set of grants, one log group (`gatewayRuntimeBase`).
 */
export interface GatewayRuntimeProps {
  /**
   * CORS origins allowed to call the gateway from a browser (the Function URL's CORS on
   * Lambda; the container server's, `SLUICE_CORS_ALLOWED_ORIGINS`, on Fargate).
   * @default ['*'] (the gateway authenticates every call itself)
   */
  readonly allowedOrigins?: string[];
  /**
   * Bedrock models the gateway may invoke; nothing is granted when omitted.
   * @default - no Bedrock permission
   */
  readonly bedrock?: BedrockModelAccess;
  /**
   * Name prefix of the Secrets Manager secrets holding provider keys (`secret:` credential refs).
   * @default 'sluice/providers/'
   */
  readonly providerSecretPrefix?: string;
  /**
   * Extra environment (table names, secret ARNs, REDIS_URL…), set by the stack.
   * @default {}
   */
  readonly environment?: Record<string, string>;
  /**
   * Log level of the gateway's Powertools logger (`SLUICE_LOG_LEVEL`).
   * @default 'INFO'
   */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /**
   * Retention of the gateway's log group.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * CloudWatch metrics namespace of the gateway's EMF request metrics.
   * @default 'Sluice'
   */
  readonly metricsNamespace?: string;
}

/** What a runtime starts from: its log group, environment, provider-secret prefix and IAM statements. */
export interface GatewayRuntimeBase {
  readonly logGroup: LogGroup;
  readonly environment: Record<string, string>;
  readonly providerSecretPrefix: string;
  readonly statements: PolicyStatement[];
}

/** The shared part of a runtime construct; its log group is the child `Logs` of `scope`. */
export function gatewayRuntimeBase(scope: Construct, props: GatewayRuntimeProps): GatewayRuntimeBase {
  const providerSecretPrefix = props.providerSecretPrefix ?? DEFAULT_PROVIDER_SECRET_PREFIX;
  return {
    logGroup: new LogGroup(scope, 'Logs', { retention: props.logRetention ?? RetentionDays.ONE_MONTH }),
    environment: { ...gatewayBaseEnvironment(props), ...props.environment },
    providerSecretPrefix,
    statements: gatewayRoleStatements(Stack.of(scope), props.bedrock, providerSecretPrefix),
  };
}

/**
 * The gateway's own grants beyond tables and stack secrets, the same in every runtime
 * (Lambda role, Fargate task role): the configured Bedrock models, read access to the
 * provider-key secrets under `prefix`.
 */
export function gatewayRoleStatements(stack: Stack, bedrock: BedrockModelAccess | undefined, prefix: string): PolicyStatement[] {
  const statements: PolicyStatement[] = [];
  const modelArns = bedrockInvokeResourceArns(bedrock ?? {}, { partition: stack.partition, region: stack.region, account: stack.account });
  if (modelArns.length > 0) {
    statements.push(
      new PolicyStatement({
        sid: 'InvokeConfiguredBedrockModels',
        effect: Effect.ALLOW,
        actions: ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'],
        resources: modelArns,
      }),
    );
  }
  statements.push(
    new PolicyStatement({
      sid: 'ReadProviderSecrets',
      effect: Effect.ALLOW,
      actions: ['secretsmanager:GetSecretValue'],
      // Secrets Manager appends a random 6-character suffix to every secret ARN.
      resources: [`arn:${stack.partition}:secretsmanager:${stack.region}:${stack.account}:secret:${prefix}*`],
    }),
  );
  return statements;
}

/** The environment every gateway runtime starts with (the stack adds tables, sinks, secrets). */
export function gatewayBaseEnvironment(props: Pick<GatewayRuntimeProps, 'logLevel' | 'metricsNamespace'>): Record<string, string> {
  return {
    POWERTOOLS_SERVICE_NAME: 'sluice-gateway',
    POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? 'Sluice',
    SLUICE_LOG_LEVEL: props.logLevel ?? 'INFO',
  };
}
