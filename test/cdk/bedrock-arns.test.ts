import { describe, expect, it } from 'vitest';
import { bedrockInvokeResourceArns, modelIdOfInferenceProfile } from '../../lib/bedrock-arns.js';

const scope = { partition: 'aws', region: 'us-east-1', account: '123456789012' };

describe('bedrockInvokeResourceArns', () => {
  it('grants nothing when no model is configured', () => {
    expect(bedrockInvokeResourceArns({}, scope)).toEqual([]);
  });

  it('grants a foundation model in the stack Region only', () => {
    expect(bedrockInvokeResourceArns({ foundationModelIds: ['amazon.nova-lite-v1:0'] }, scope)).toEqual([
      'arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0',
    ]);
  });

  it('grants a cross-Region profile and its model in every Region it routes to', () => {
    const arns = bedrockInvokeResourceArns(
      { inferenceProfiles: [{ id: 'eu.anthropic.claude-3-haiku-20240307-v1:0', regions: ['eu-west-1', 'eu-central-1'] }] },
      { ...scope, region: 'eu-west-1' },
    );
    expect(arns).toEqual([
      'arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.anthropic.claude-3-haiku-20240307-v1:0',
      'arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0',
      'arn:aws:bedrock:eu-central-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0',
    ]);
  });

  it('adds the Region-less foundation-model ARN for global profiles', () => {
    const arns = bedrockInvokeResourceArns(
      { inferenceProfiles: [{ id: 'global.anthropic.claude-sonnet-4-5-20250929-v1:0', regions: ['us-east-1'] }] },
      scope,
    );
    expect(arns).toContain('arn:aws:bedrock:::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0');
  });

  it('accepts application inference profile ARNs and rejects anything else', () => {
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123def456';
    expect(bedrockInvokeResourceArns({ applicationInferenceProfileArns: [arn] }, scope)).toEqual([arn]);
    expect(() => bedrockInvokeResourceArns({ applicationInferenceProfileArns: ['arn:aws:bedrock:*:*:*'] }, scope)).toThrow(
      /not an application inference profile ARN/,
    );
  });

  it('deduplicates overlapping grants', () => {
    const arns = bedrockInvokeResourceArns(
      {
        foundationModelIds: ['anthropic.claude-3-haiku-20240307-v1:0'],
        inferenceProfiles: [{ id: 'us.anthropic.claude-3-haiku-20240307-v1:0', regions: ['us-east-1'] }],
      },
      scope,
    );
    expect(arns).toHaveLength(2);
  });

  it('refuses a profile without geo prefix or routing Regions', () => {
    expect(() => modelIdOfInferenceProfile('anthropic.claude-3-haiku-20240307-v1:0')).toThrow(/no geo prefix/);
    expect(() => bedrockInvokeResourceArns({ inferenceProfiles: [{ id: 'us.x', regions: [] }] }, scope)).toThrow(
      /no routing Regions/,
    );
  });
});
