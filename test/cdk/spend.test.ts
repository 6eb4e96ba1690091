import { beforeAll, describe, expect, it } from 'vitest';
import { Match } from 'aws-cdk-lib/assertions';
import { renderCfn, resourcesOfType, synthesizeApp, type Synthesized } from './helpers.js';

describe('SluiceStack: budgets and rate limits', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthesizeApp();
  });

  it('stays cdk-nag clean', () => {
    expect(s.validationError).toBeUndefined();
  });

  it('counts budget and rate-limit refusals from the gateway EMF metrics, not from a log metric filter', () => {
    const names = resourcesOfType(s.template, 'AWS::Logs::MetricFilter').map(([, f]) => (renderCfn(f) as any).MetricTransformations[0].MetricName);
    expect(names).toEqual(['TraceRowsLost']);
  });

  it('alarms when more than 10% of requests are refused with 429, over two 5-minute periods', () => {
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp('budgets or rate limits'),
      Threshold: 10,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: Match.stringLikeRegexp('100 \\* \\(b \\+ r \\+ t\\) / inv') }),
        Match.objectLike({ Id: 'b', MetricStat: Match.objectLike({ Metric: { MetricName: 'Errors_budget_exceeded', Namespace: 'Sluice', Dimensions: [{ Name: 'service', Value: 'sluice-gateway' }] } }) }),
        Match.objectLike({ Id: 'r', MetricStat: Match.objectLike({ Metric: { MetricName: 'Errors_rate_limit_exceeded', Namespace: 'Sluice', Dimensions: [{ Name: 'service', Value: 'sluice-gateway' }] } }) }),
        Match.objectLike({ Id: 't', MetricStat: Match.objectLike({ Metric: { MetricName: 'Errors_request_too_large', Namespace: 'Sluice', Dimensions: [{ Name: 'service', Value: 'sluice-gateway' }] } }) }),
        Match.objectLike({ Id: 'inv', MetricStat: Match.objectLike({ Metric: { MetricName: 'Requests', Namespace: 'Sluice', Dimensions: [{ Name: 'service', Value: 'sluice-gateway' }] } }) }),
      ]),
    });
  });

  it('lets the gateway keep counters in the state table and read definitions from the control table', () => {
    const roleId = s.stack.getLogicalId(s.stack.gateway!.function.role!.node.defaultChild as never);
    const policies = resourcesOfType(s.template, 'AWS::IAM::Policy').filter(([, p]) => (p.Roles as { Ref: string }[]).some((r) => r.Ref === roleId));
    const statements = (renderCfn(policies[0]![1].PolicyDocument) as { Statement: Array<{ Action: string | string[]; Resource: unknown }> }).Statement;
    const stateId = s.stack.getLogicalId(s.stack.tables.stateTable.node.defaultChild as never);
    const controlId = s.stack.getLogicalId(s.stack.tables.controlTable.node.defaultChild as never);
    const actionsOn = (id: string) => statements.filter((st) => JSON.stringify(st.Resource).includes(id)).flatMap((st) => [st.Action].flat());
    // Reservations and settlements are conditional UpdateItems; refusals read the counter back.
    expect(actionsOn(stateId)).toEqual(expect.arrayContaining(['dynamodb:UpdateItem', 'dynamodb:GetItem']));
    expect(actionsOn(controlId)).toEqual(expect.arrayContaining(['dynamodb:BatchGetItem']));
    expect(actionsOn(controlId)).not.toContain('dynamodb:PutItem');
  });
});
