import { CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { DEFAULT_PROVIDER_SECRET_PREFIX, DEFAULT_STACK_NAME, OPTIONAL_STACK_OUTPUTS, STACK_OUTPUTS } from '../../lib/stack-outputs.js';

export interface AwsTarget {
  controlTable: string;
  stateTable: string;
  functionUrl: string;
  region: string;
  /** The secret holding the ClickHouse URL (stacks deployed with `sluice:traces=clickhouse`). */
  clickhouseUrlSecretArn?: string;
  /** The provider-secret name prefix the gateway may read (the output, else the default older stacks grant). */
  providerSecretPrefix: string;
  /** The response cache's store (output ResponseCacheStore); absent on stacks deployed before it. */
  responseCacheStore?: 'redis' | 'dynamodb';
}

export interface AwsTargetOptions {
  /** CloudFormation stack name. @default 'Sluice' */
  stackName?: string;
  /** Region of the stack. @default the SDK's (AWS_REGION, AWS_DEFAULT_REGION, profile) */
  region?: string;
}

/** Why `--aws` cannot be used; the message says what to do. */
export class AwsTargetError extends Error {
  override readonly name = 'AwsTargetError';
}

/**
 * The deployed stack's table names and Function URL, read from its CloudFormation
 * outputs (DescribeStacks), so the CLI works after `cdk deploy` with nothing copied by
 * hand. The SDK honours AWS_ENDPOINT_URL_CLOUDFORMATION (tests point it at a stand-in).
 */
export async function resolveAwsTarget(opts: AwsTargetOptions): Promise<AwsTarget> {
  const stackName = opts.stackName ?? DEFAULT_STACK_NAME;
  const client = new CloudFormationClient(opts.region ? { region: opts.region } : {});
  try {
    const region = await regionOf(client);
    const stack = await describeStack(client, stackName, region);
    return { ...outputsOf(stack, stackName, region), region };
  } finally {
    client.destroy();
  }
}

async function regionOf(client: CloudFormationClient): Promise<string> {
  try {
    return await client.config.region();
  } catch {
    throw new AwsTargetError('No AWS Region: pass --region, or set AWS_REGION (or a profile with a region).');
  }
}

async function describeStack(client: CloudFormationClient, stackName: string, region: string): Promise<Stack> {
  let stacks: Stack[] | undefined;
  try {
    ({ Stacks: stacks } = await client.send(new DescribeStacksCommand({ StackName: stackName })));
  } catch (err) {
    const e = err as { name?: string; message?: string };
    if (e.name === 'ValidationError' && /does not exist/.test(e.message ?? '')) {
      throw new AwsTargetError(
        `Stack "${stackName}" not found in ${region}. Deploy it with \`npx cdk deploy\`, or pass --stack NAME / --region R.`,
      );
    }
    throw new AwsTargetError(`Could not read stack "${stackName}" in ${region}: ${e.name ?? 'Error'}: ${e.message ?? String(err)}`);
  }
  const stack = stacks?.[0];
  if (!stack) throw new AwsTargetError(`Stack "${stackName}" not found in ${region}.`);
  return stack;
}

function outputsOf(stack: Stack, stackName: string, region: string): Omit<AwsTarget, 'region'> {
  const outputs = new Map((stack.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
  const read = (key: string) => outputs.get(key);
  const controlTable = read(STACK_OUTPUTS.controlTable);
  const stateTable = read(STACK_OUTPUTS.stateTable);
  const functionUrl = read(STACK_OUTPUTS.functionUrl);
  if (!controlTable || !stateTable || !functionUrl) {
    const missing = Object.values(STACK_OUTPUTS).filter((k) => !read(k));
    throw new AwsTargetError(
      `Stack "${stackName}" in ${region} (status ${stack.StackStatus ?? 'unknown'}) lacks the output(s) ${missing.join(', ')}: is it a Sluice stack, fully deployed?`,
    );
  }
  const clickhouseUrlSecretArn = read(OPTIONAL_STACK_OUTPUTS.clickhouseUrlSecretArn);
  const providerSecretPrefix = read(OPTIONAL_STACK_OUTPUTS.providerSecretPrefix) ?? DEFAULT_PROVIDER_SECRET_PREFIX;
  const responseCacheStore = read(OPTIONAL_STACK_OUTPUTS.responseCacheStore);
  return {
    controlTable,
    stateTable,
    functionUrl,
    providerSecretPrefix,
    ...(clickhouseUrlSecretArn ? { clickhouseUrlSecretArn } : {}),
    ...(responseCacheStore === 'redis' || responseCacheStore === 'dynamodb' ? { responseCacheStore } : {}),
  };
}
