import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, GraphWidget, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { Effect, PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Alias } from 'aws-cdk-lib/aws-kms';
import { FunctionUrlAuthType, InvokeMode, type FunctionUrl } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { bedrockInvokeResourceArns, type BedrockModelAccess } from './bedrock-arns.js';
import { BundledFunction } from './bundled-function.js';
import type { GatewayMonitoring } from './gateway-monitoring.js';
import type { RequestMetricSource } from './request-metrics.js';

/** The module Lambda runs for the reference intent scorer, relative to the project root. */
export const GUARDRAIL_ENTRY = 'functions/guardrail/handler.ts';
export const DEFAULT_JUDGE_MODEL_ID = 'anthropic.claude-3-5-haiku-20241022-v1:0';

export interface GovernanceProps {
  /** The gateway (Lambda function or Fargate task role): publishes notices, writes approvals, calls the scorer. */
  readonly gateway: IGrantable & { addToRolePolicy(statement: PolicyStatement): void };
  /** The gateway's request metrics: `PolicyErrors` and `Policy_hold` (lib/request-metrics.ts). */
  readonly metrics: RequestMetricSource;
  readonly controlTable: ITable;
  readonly monitoring: GatewayMonitoring;
  /**
   * The judge model of the reference scorer.
   * @default { foundationModelIds: [DEFAULT_JUDGE_MODEL_ID] }
   */
  readonly judgeModel?: BedrockModelAccess;
  /** Model id (or inference profile id) the scorer sends to Converse. @default DEFAULT_JUDGE_MODEL_ID */
  readonly judgeModelId?: string;
  /** Holds per 5 minutes that alarm (a flood of holds means a policy or an attack). @default 20 */
  readonly holdsThreshold?: number;
}

/**
 * Governance resources: the SNS topic operators subscribe to (holds and escalations), the
 * reference intent scorer (functions/guardrail) with its secret and Bedrock permission,
 * the gateway's narrow write access to approvals on the control table, and alarms on
 * policy errors and holds.
 */
export class Governance extends Construct {
  readonly topic: Topic;
  readonly scorer: BundledFunction;
  readonly scorerUrl: FunctionUrl;
  readonly scorerSecret: Secret;
  readonly policyErrors: IMetric;
  readonly holds: IMetric;
  readonly policyErrorAlarm: Alarm;
  readonly holdAlarm: Alarm;

  constructor(scope: Construct, id: string, props: GovernanceProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.topic = new Topic(this, 'Notifications', {
      displayName: 'Sluice holds and escalations',
      masterKey: Alias.fromAliasName(this, 'SnsKey', 'alias/aws/sns'),
      enforceSSL: true,
    });
    this.topic.grantPublish(props.gateway);

    this.scorerSecret = new Secret(this, 'ScorerSecret', {
      description: 'Sluice: shared secret between the gateway and the intent scorer',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    Validations.of(this.scorerSecret).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'A shared bearer secret between two functions of this stack; rotate by redeploying (both read it on cold start).' });

    const judgeModel = props.judgeModel ?? { foundationModelIds: [DEFAULT_JUDGE_MODEL_ID] };
    const logGroup = new LogGroup(this, 'ScorerLogs', { retention: RetentionDays.ONE_MONTH });
    this.scorer = new BundledFunction(this, 'Scorer', {
      entry: GUARDRAIL_ENTRY,
      memorySize: 256,
      // The gateway gives up after 15 s.
      timeout: Duration.seconds(15),
      logGroup,
      environment: {
        GUARDRAIL_SECRET_ARN: this.scorerSecret.secretArn,
        GUARDRAIL_MODEL_ID: props.judgeModelId ?? DEFAULT_JUDGE_MODEL_ID,
      },
    });
    this.scorerSecret.grantRead(this.scorer);
    this.scorer.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['bedrock:InvokeModel'],
        resources: bedrockInvokeResourceArns(judgeModel, { partition: stack.partition, region: stack.region, account: stack.account }),
      }),
    );
    // The gateway presents the shared secret (it cannot SigV4-sign a fetch cheaply); the scorer checks it on every call.
    this.scorerUrl = this.scorer.addFunctionUrl({ authType: FunctionUrlAuthType.NONE, invokeMode: InvokeMode.BUFFERED });
    this.scorer.acknowledgeBasicExecutionPolicy();
    this.scorerSecret.grantRead(props.gateway);

    // Approvals: the gateway writes only APPROVAL#… and HOLD#… items of the control table.
    props.gateway.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: [props.controlTable.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['APPROVAL#*', 'HOLD#*'] } },
      }),
    );

    const period = Duration.minutes(5);
    this.policyErrors = props.metrics.sum('PolicyErrors', period);
    this.holds = props.metrics.sum('Policy_hold', period);
    this.policyErrorAlarm = new Alarm(this, 'PolicyErrorAlarm', {
      alarmDescription: 'Sluice gateway: policies failed to compile or evaluate (requests passed unchecked in fail-open, or got 503 in fail-closed)',
      metric: this.policyErrors,
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.holdAlarm = new Alarm(this, 'HoldAlarm', {
      alarmDescription: 'Sluice gateway: many requests held for approval',
      metric: this.holds,
      threshold: props.holdsThreshold ?? 20,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    props.monitoring.addAlarm(this.policyErrorAlarm);
    props.monitoring.addAlarm(this.holdAlarm);
    props.monitoring.addWidgets(new GraphWidget({ title: 'Policy errors and holds', left: [this.policyErrors, this.holds], width: 12 }));
  }

  /** The gateway's environment for governance. */
  gatewayEnvironment(): Record<string, string> {
    return {
      SLUICE_NOTIFY_TOPIC_ARN: this.topic.topicArn,
      GUARDRAIL_URL: this.scorerUrl.url,
      GUARDRAIL_SECRET_ARN: this.scorerSecret.secretArn,
    };
  }
}
