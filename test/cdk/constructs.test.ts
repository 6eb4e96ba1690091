import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AccountRootPrincipal, Role } from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { ControlTables } from '../../lib/control-tables.js';
import { GatewayFunction } from '../../lib/gateway-function.js';
import { renderCfn, resourcesOfType } from './helpers.js';

/** Each construct works in a stack of its own, with its safe defaults. */
describe('constructs on their own', () => {
  it('ControlTables grants read-write on both tables, the control index by name', () => {
    const stack = new Stack(new App(), 'Tables');
    const tables = new ControlTables(stack, 'T');
    const admin = new Role(stack, 'Admin', { assumedBy: new AccountRootPrincipal() });
    tables.grantReadWriteData(admin);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::DynamoDB::Table', 2);
    const [[, policy]] = resourcesOfType(template, 'AWS::IAM::Policy') as [[string, Record<string, unknown>]];
    const statements = (renderCfn(policy.PolicyDocument) as { Statement: { Action: string[]; Resource: string[] | string }[] }).Statement;
    expect(statements.map((s) => s.Resource)).toEqual([
      [expect.stringMatching(/^\$\{TControl\w+\.Arn\}$/), expect.stringMatching(/^\$\{TControl\w+\.Arn\}\/index\/gsi1$/)],
      [expect.stringMatching(/^\$\{TState\w+\.Arn\}$/)],
    ]);
    for (const s of statements) {
      expect(s.Action).toContain('dynamodb:PutItem');
      expect(s.Action).not.toContain('dynamodb:Scan');
    }
  });

  it('GatewayFunction without models grants no Bedrock access and joins no VPC', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Fn');
    new GatewayFunction(stack, 'G');
    const template = Template.fromStack(stack);
    expect(JSON.stringify(template.toJSON())).not.toContain('bedrock:');
    const [[, fn]] = resourcesOfType(template, 'AWS::Lambda::Function') as [[string, Record<string, unknown>]];
    expect(fn).not.toHaveProperty('VpcConfig');
    expect(fn).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Timeout: 300, MemorySize: 1024 });
    template.hasResourceProperties('AWS::Lambda::Url', { InvokeMode: 'RESPONSE_STREAM', AuthType: 'NONE' });
  });
});
