import { beforeAll, describe, expect, it } from 'vitest';
import { Match } from 'aws-cdk-lib/assertions';
import { renderCfn, resourcesOfType, synthesizeApp, type Synthesized } from './helpers.js';

describe('SluiceStack: governance', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthesizeApp({ 'sluice:governance': true });
  });
  const gov = () => s.stack.governance!;
  const id = (construct: { node: { defaultChild?: unknown } }) => s.stack.getLogicalId(construct.node.defaultChild as never);

  it('stays cdk-nag clean', () => {
    expect(s.validationError).toBeUndefined();
  });

  it('is off by default: no topic, no scorer', () => {
    const plain = synthesizeApp();
    expect(plain.stack.governance).toBeUndefined();
    plain.template.resourceCountIs('AWS::SNS::Topic', 0);
  });

  it('an encrypted, TLS-only SNS topic the gateway publishes to and knows', () => {
    s.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    const topicId = s.stack.getLogicalId(gov().topic.node.defaultChild as never);
    const topicPolicies = resourcesOfType(s.template, 'AWS::SNS::TopicPolicy').map(([, p]) => JSON.stringify(renderCfn(p)));
    expect(topicPolicies.some((p) => p.includes('aws:SecureTransport') && p.includes(topicId))).toBe(true);
    const gateway = resourcesOfType(s.template, 'AWS::Lambda::Function').find(([lid]) => lid === id(s.stack.gateway!.function))![1];
    const env = renderCfn((gateway.Environment as { Variables: Record<string, unknown> }).Variables) as Record<string, string>;
    expect(env.SLUICE_NOTIFY_TOPIC_ARN).toBe(`\${${topicId}}`);
    expect(env.GUARDRAIL_URL).toContain(id(gov().scorerUrl as never));
    expect(env.GUARDRAIL_SECRET_ARN).toBe(`\${${id(gov().scorerSecret)}}`);
    const gatewayPolicies = policiesOf(id(s.stack.gateway!.function.role as never));
    expect(gatewayPolicies.some((st) => [st.Action].flat().includes('sns:Publish') && JSON.stringify(st.Resource).includes(topicId))).toBe(true);
  });

  it('the gateway writes only approval items of the control table', () => {
    const statements = policiesOf(id(s.stack.gateway!.function.role as never));
    const approvals = statements.find((st) => [st.Action].flat().includes('dynamodb:PutItem') && JSON.stringify(st.Resource).includes(id(s.stack.tables.controlTable)));
    expect(approvals).toBeDefined();
    expect(approvals!.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['APPROVAL#*', 'HOLD#*'] } });
    expect(JSON.stringify(approvals!.Resource)).toContain(id(s.stack.tables.controlTable));
    expect([approvals!.Action].flat()).not.toContain('dynamodb:DeleteItem');
  });

  it('the reference scorer: Node 24 arm64, buffered Function URL, its secret, InvokeModel on the judge model only', () => {
    const scorerId = id(gov().scorer);
    const fn = resourcesOfType(s.template, 'AWS::Lambda::Function').find(([lid]) => lid === scorerId)![1];
    expect(fn).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Timeout: 15 });
    s.template.hasResourceProperties('AWS::Lambda::Url', { TargetFunctionArn: { 'Fn::GetAtt': [scorerId, 'Arn'] }, InvokeMode: 'BUFFERED' });
    const statements = policiesOf(id(gov().scorer.role as never));
    const bedrock = statements.filter((st) => [st.Action].flat().some((a: string) => a.startsWith('bedrock:')));
    expect(bedrock).toHaveLength(1);
    expect([bedrock[0]!.Action].flat()).toEqual(['bedrock:InvokeModel']);
    expect(renderCfn(bedrock[0]!.Resource)).toEqual('arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0');
    expect(statements.some((st) => [st.Action].flat().includes('secretsmanager:GetSecretValue') && JSON.stringify(st.Resource).includes(id(gov().scorerSecret)))).toBe(true);
  });

  it('alarms on any policy error and on a flood of holds, from the gateway EMF metrics (no log metric filter)', () => {
    expect(resourcesOfType(s.template, 'AWS::Logs::MetricFilter').map(([, f]) => (renderCfn(f) as any).MetricTransformations[0].MetricName)).toEqual(['TraceRowsLost']);
    const emf = { Namespace: 'Sluice', Dimensions: [{ Name: 'service', Value: 'sluice-gateway' }], Statistic: 'Sum', Period: 300 };
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'PolicyErrors', ...emf, Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Policy_hold', ...emf, Threshold: 20, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
  });

  function policiesOf(roleId: string): Record<string, any>[] {
    return resourcesOfType(s.template, 'AWS::IAM::Policy')
      .filter(([, p]) => (p.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
      .flatMap(([, p]) => (p.PolicyDocument as { Statement: Record<string, any>[] }).Statement);
  }
});
