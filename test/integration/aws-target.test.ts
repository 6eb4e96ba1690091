import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsTargetError, resolveAwsTarget } from '../../bin/commands/aws-target.js';
import { startCloudFormationStandIn, type CloudFormationStandIn } from '../support/cloudformation-standin.js';

const OUTPUTS = {
  ControlTableName: 'Sluice-TablesControlDF2E6BDD-1A2B3C4D5E6F',
  StateTableName: 'Sluice-TablesState705891C2-6F5E4D3C2B1A',
  FunctionUrl: 'https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws/',
};

const ENV_KEYS = [
  'AWS_ENDPOINT_URL_CLOUDFORMATION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_PROFILE',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_EC2_METADATA_DISABLED',
] as const;

describe('resolveAwsTarget against a CloudFormation stand-in', () => {
  let cfn: CloudFormationStandIn;
  let saved: Partial<Record<string, string>>;

  beforeAll(async () => {
    cfn = await startCloudFormationStandIn([
      { name: 'Sluice', outputs: OUTPUTS },
      { name: 'SluiceStaging', outputs: { ...OUTPUTS, ControlTableName: 'staging-control' } },
      { name: 'HalfDeployed', status: 'ROLLBACK_COMPLETE', outputs: { ControlTableName: 'x' } },
    ]);
  });
  afterAll(async () => {
    await cfn.close();
  });

  beforeEach(() => {
    saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
    for (const k of ENV_KEYS) delete process.env[k];
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_CLOUDFORMATION: cfn.url,
      AWS_ACCESS_KEY_ID: 'AKIATESTSTANDIN00000',
      AWS_SECRET_ACCESS_KEY: 'test-secret-for-the-stand-in',
      AWS_CONFIG_FILE: '/nonexistent/aws-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    cfn.calls.length = 0;
  });
  afterEach(() => {
    for (const k of ENV_KEYS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it('reads the table names and Function URL of the default stack "Sluice"', async () => {
    const target = await resolveAwsTarget({ region: 'eu-west-1' });
    expect(target).toEqual({
      controlTable: OUTPUTS.ControlTableName,
      stateTable: OUTPUTS.StateTableName,
      functionUrl: OUTPUTS.FunctionUrl,
      region: 'eu-west-1',
      // No ProviderSecretPrefix output (a stack deployed before it existed): the default grant.
      providerSecretPrefix: 'sluice/providers/',
    });
    expect(cfn.calls).toEqual([{ stackName: 'Sluice', region: 'eu-west-1', service: 'cloudformation' }]);
  });

  it('takes the stack name from the option and the Region from AWS_REGION', async () => {
    process.env.AWS_REGION = 'us-east-2';
    const target = await resolveAwsTarget({ stackName: 'SluiceStaging' });
    expect(target.controlTable).toBe('staging-control');
    expect(target.region).toBe('us-east-2');
    expect(cfn.calls).toEqual([{ stackName: 'SluiceStaging', region: 'us-east-2', service: 'cloudformation' }]);
  });

  it('says how to fix an unknown stack', async () => {
    const err = await resolveAwsTarget({ stackName: 'Nope', region: 'eu-west-1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AwsTargetError);
    expect((err as Error).message).toBe(
      'Stack "Nope" not found in eu-west-1. Deploy it with `npx cdk deploy`, or pass --stack NAME / --region R.',
    );
  });

  it('names the missing outputs and the stack status', async () => {
    await expect(resolveAwsTarget({ stackName: 'HalfDeployed', region: 'eu-west-1' })).rejects.toThrow(
      'Stack "HalfDeployed" in eu-west-1 (status ROLLBACK_COMPLETE) lacks the output(s) StateTableName, FunctionUrl',
    );
  });

  it('asks for a Region when none is configured', async () => {
    await expect(resolveAwsTarget({})).rejects.toThrow(/No AWS Region/);
    expect(cfn.calls).toEqual([]);
  });
});
