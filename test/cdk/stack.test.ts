import { beforeAll, describe, expect, it } from 'vitest';
import { Match } from 'aws-cdk-lib/assertions';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoResponseCacheStore } from '../../functions/cache/dynamodb-store.js';
import { renderCfn, resourcesOfType, synthesizeApp, type Synthesized } from './helpers.js';

/**
 * The IAM actions the DynamoDB response cache sends (`dynamodb:<Command>`), recorded from a
 * client that answers every call (one key on a Query, so a purge reaches BatchWriteItem).
 */
async function responseCacheDynamoActions(): Promise<string[]> {
  const sent = new Set<string>();
  const client = {
    send: async (command: object) => {
      const name = command.constructor.name.replace(/Command$/, '');
      sent.add(`dynamodb:${name}`);
      if (name === 'Query') return { Items: [{ pk: { S: 'rcache#x' }, sk: { S: 'd' } }] };
      return {};
    },
  } as unknown as DynamoDBClient;
  const store = new DynamoResponseCacheStore({ client, tableName: 'state', now: () => 1_000 });
  const key = { orgId: 'acme', proxyId: 'p', digest: 'a'.repeat(64) };
  await store.get(key);
  await store.set(key, { storedAt: 1_000, expiresAt: 2_000, payload: new Uint8Array([1]) });
  await store.set(key, { storedAt: 1_000, expiresAt: 500, payload: new Uint8Array([1]) }); // dead: a delete
  await store.purge({ orgId: 'acme', proxyId: 'p', digest: key.digest });
  await store.purge({ orgId: 'acme', proxyId: 'p' });
  return [...sent].sort();
}

/** Statements of the gateway role's policy, rendered to strings. */
function gatewayStatements(s: Synthesized): Record<string, unknown>[] {
  const roleId = s.stack.getLogicalId(s.stack.gateway!.function.role!.node.defaultChild as never);
  const policies = resourcesOfType(s.template, 'AWS::IAM::Policy').filter(([, p]) =>
    (p.Roles as { Ref: string }[]).some((r) => r.Ref === roleId),
  );
  expect(policies).toHaveLength(1);
  const doc = renderCfn(policies[0]![1].PolicyDocument) as { Statement: Record<string, unknown>[] };
  return doc.Statement;
}

describe('SluiceStack, cache off (default)', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthesizeApp();
  });

  it('is cdk-nag (AwsSolutions) clean', () => {
    expect(s.validationError).toBeUndefined();
  });

  it('runs the gateway on Node 24, arm64, from the bundled handler export', () => {
    s.template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 1024,
      Timeout: 300,
      Environment: {
        Variables: Match.objectLike({
          SLUICE_STORE: 'dynamodb',
          POWERTOOLS_SERVICE_NAME: 'sluice-gateway',
          POWERTOOLS_METRICS_NAMESPACE: 'Sluice',
          NODE_OPTIONS: '--enable-source-maps',
          SLUICE_CONTROL_TABLE: Match.anyValue(),
          SLUICE_STATE_TABLE: Match.anyValue(),
          SLUICE_IDENTITY_SIGNING_KEY_SECRET_ARN: Match.anyValue(),
          SLUICE_RESPONSE_CACHE_STORE: 'dynamodb',
        }),
      },
    });
    s.template.resourceCountIs('AWS::Lambda::Function', 1);
    const [[, fn]] = resourcesOfType(s.template, 'AWS::Lambda::Function') as [[string, Record<string, unknown>]];
    expect((fn.Environment as { Variables: Record<string, unknown> }).Variables).not.toHaveProperty('REDIS_URL');
    expect(fn).not.toHaveProperty('VpcConfig');
    expect(fn).not.toHaveProperty('TracingConfig.Mode', 'Active');
  });

  it('serves a streaming Function URL without IAM auth, exposing the X-Sluice headers', () => {
    s.template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'NONE',
      InvokeMode: 'RESPONSE_STREAM',
      Cors: Match.objectLike({
        ExposeHeaders: ['X-Sluice-Session-Id', 'X-Sluice-Trace-Id', 'X-Sluice-Approval-Id', 'X-Sluice-Overhead-Ms', 'X-Sluice-Attempts', 'X-Sluice-Served-By', 'X-Sluice-Cache'],
      }),
    });
  });

  // The table logical ids are pinned on purpose: a changed id replaces the table (and loses its data).
  it('grants the gateway exactly the configured models, its tables and its secrets', () => {
    expect(gatewayStatements(s)).toEqual([
      {
        Sid: 'InvokeConfiguredBedrockModels',
        Effect: 'Allow',
        Action: ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'],
        Resource: [
          'arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0',
          'arn:${AWS::Partition}:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0',
          'arn:${AWS::Partition}:bedrock:us-east-2::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0',
          'arn:${AWS::Partition}:bedrock:us-west-2::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0',
        ],
      },
      {
        Sid: 'ReadProviderSecrets',
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: 'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:sluice/providers/*',
      },
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'],
        Resource: ['${TablesControlDF2E6BDD.Arn}', '${TablesControlDF2E6BDD.Arn}/index/gsi1'],
      },
      {
        Effect: 'Allow',
        Action: [
          'dynamodb:GetItem',
          'dynamodb:BatchGetItem',
          'dynamodb:Query',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:BatchWriteItem',
          'dynamodb:ConditionCheckItem',
        ],
        Resource: ['${TablesState705891C2.Arn}'],
      },
      {
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: '${IdentitySigningKey9E1C146B}',
      },
    ]);
  });

  it('the DynamoDB response cache (the store without the cache context) needs only the state-table grant', async () => {
    const actions = await responseCacheDynamoActions();
    expect(actions).toEqual(['dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query']);
    const state = gatewayStatements(s).find((st) => JSON.stringify(st.Resource) === JSON.stringify(['${TablesState705891C2.Arn}']))!;
    expect(state.Action).toEqual(expect.arrayContaining(actions));
  });

  it('keeps the control table layout of the contract: pk/sk, gsi1, TTL, PITR, encryption, on demand', () => {
    s.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      GlobalSecondaryIndexes: [
        {
          IndexName: 'gsi1',
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
  });

  it('keeps the state table layout: pk/sk, TTL, PITR, no index', () => {
    const tables = resourcesOfType(s.template, 'AWS::DynamoDB::Table');
    expect(tables).toHaveLength(2);
    const state = tables.find(([id]) => id.startsWith('TablesState'))![1];
    expect(state).toMatchObject({
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
    });
    expect(state).not.toHaveProperty('GlobalSecondaryIndexes');
    s.template.allResources('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain' });
  });

  it('creates no VPC, NAT gateway, endpoint or cache', () => {
    for (const type of ['AWS::EC2::VPC', 'AWS::EC2::NatGateway', 'AWS::EC2::VPCEndpoint', 'AWS::ElastiCache::ServerlessCache']) {
      s.template.resourceCountIs(type, 0);
    }
  });

  it('generates the identity signing key at deploy time', () => {
    s.template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
    });
  });

  it('alarms on errors, throttles and p99 duration, and has a dashboard', () => {
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Namespace: 'AWS/Lambda' });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Throttles', Namespace: 'AWS/Lambda' });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Duration',
      ExtendedStatistic: 'p99',
      Threshold: 240_000,
    });
    s.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it('the dashboard graphs the gateway EMF request metrics (namespace Sluice, dimension service)', () => {
    const [[, dashboard]] = resourcesOfType(s.template, 'AWS::CloudWatch::Dashboard') as [[string, { DashboardBody: unknown }]];
    const body = String(renderCfn(dashboard.DashboardBody));
    for (const name of ['Requests', 'Errors', 'LatencyMs', 'TtftMs', 'InputTokens', 'OutputTokens', 'CostUsd', 'Attempts', 'Fallbacks']) {
      expect(body).toContain(`"Sluice","${name}","service","sluice-gateway"`);
    }
    expect(body).toContain('"stat":"p99"');
  });

  it('outputs the names the CLI reads', () => {
    const outputs = s.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs).sort()).toEqual(['ControlTableName', 'FunctionUrl', 'ProviderSecretPrefix', 'ResponseCacheStore', 'StateTableName']);
    expect(outputs.ProviderSecretPrefix!.Value).toBe('sluice/providers/');
    expect(outputs.ResponseCacheStore!.Value).toBe('dynamodb');
    expect(renderCfn(outputs.FunctionUrl!.Value)).toMatch(/^\$\{GatewayFunctionFunctionUrl[0-9A-F]+\.FunctionUrl\}$/);
  });
});

describe('SluiceStack, cache on (with X-Ray and sizing from context)', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthesizeApp({
      'sluice:cache': true,
      'sluice:xrayTracing': true,
      // String forms, as `cdk deploy -c key=value` passes them.
      'sluice:timeoutSeconds': '900',
      'sluice:memorySize': '2048',
      'sluice:reservedConcurrency': '20',
    });
  });

  it('sizes the function from context', () => {
    s.template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 900,
      MemorySize: 2048,
      ReservedConcurrentExecutions: 20,
    });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Duration', Threshold: 720_000 });
  });

  it('is cdk-nag (AwsSolutions) clean', () => {
    expect(s.validationError).toBeUndefined();
  });

  it('creates a Valkey serverless cache in the VPC and hands its TLS URL to the gateway', () => {
    s.template.hasResourceProperties('AWS::ElastiCache::ServerlessCache', { Engine: 'valkey', MajorEngineVersion: '8' });
    const [[, fn]] = resourcesOfType(s.template, 'AWS::Lambda::Function') as [[string, Record<string, unknown>]];
    const env = renderCfn((fn.Environment as { Variables: Record<string, unknown> }).Variables) as Record<string, string>;
    expect(env.REDIS_URL).toMatch(/^rediss:\/\/\$\{CacheValkey[0-9A-F]+\.Endpoint\.Address\}:\$\{CacheValkey[0-9A-F]+\.Endpoint\.Port\}$/);
    // The response cache goes to Valkey too; ElastiCache Serverless encrypts at rest and in transit, always.
    expect(env.SLUICE_RESPONSE_CACHE_STORE).toBe('redis');
    s.template.hasOutput('ResponseCacheStore', { Value: 'redis' });
    expect(fn).toHaveProperty('VpcConfig');
    expect(fn).toHaveProperty('TracingConfig', { Mode: 'Active' });
  });

  it('builds the VPC with one NAT gateway and endpoints for DynamoDB, Firehose, Bedrock, Secrets Manager, SNS', () => {
    s.template.resourceCountIs('AWS::EC2::VPC', 1);
    s.template.resourceCountIs('AWS::EC2::NatGateway', 1);
    const services = resourcesOfType(s.template, 'AWS::EC2::VPCEndpoint').map(([, p]) => String(renderCfn(p.ServiceName)));
    expect(services.sort()).toEqual([
      'com.amazonaws.${AWS::Region}.bedrock-runtime',
      'com.amazonaws.${AWS::Region}.dynamodb',
      'com.amazonaws.${AWS::Region}.kinesis-firehose',
      'com.amazonaws.${AWS::Region}.secretsmanager',
      'com.amazonaws.${AWS::Region}.sns',
    ]);
    s.template.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway' });
  });

  it('admits Valkey traffic from the gateway security group only', () => {
    const ingress = resourcesOfType(s.template, 'AWS::EC2::SecurityGroupIngress').map(([, p]) => renderCfn(p)) as Record<
      string,
      unknown
    >[];
    const valkey = ingress.filter((r) => r.FromPort === 6379);
    expect(valkey).toHaveLength(1);
    expect(valkey[0]).toMatchObject({ ToPort: 6380, SourceSecurityGroupId: expect.stringMatching(/^\$\{CacheClientSg/) });
    for (const rule of ingress) expect(rule).not.toHaveProperty('CidrIp');
  });

  it('adds the X-Ray statement and nothing else to the gateway role', () => {
    const statements = gatewayStatements(s);
    const xray = statements.filter((st) => JSON.stringify(st.Action).includes('xray:'));
    expect(xray).toEqual([
      { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' },
    ]);
    expect(statements.filter((st) => st.Resource === '*')).toEqual(xray);
  });
});
