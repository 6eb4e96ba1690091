import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoControlStore } from '../../functions/stores/dynamodb-store.js';
import { startCloudFormationStandIn, type CloudFormationStandIn } from '../support/cloudformation-standin.js';
import { createSluiceTables, localDynamoClient, startDynalite, type RunningDynalite, type SluiceTables } from '../support/dynalite.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * `sluice … --aws` after a deploy: the CLI finds the tables through the stack outputs
 * (CloudFormation stand-in) and writes to DynamoDB (dynalite), with nothing copied by hand.
 */
describe('sluice proxies/keys --aws against dynalite and a CloudFormation stand-in', () => {
  let ddb: RunningDynalite;
  let cfn: CloudFormationStandIn;
  let tables: SluiceTables;
  let env: NodeJS.ProcessEnv;

  const sluice = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'bin/sluice.ts', ...args], { cwd: ROOT, env });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  beforeAll(async () => {
    ddb = await startDynalite();
    tables = await createSluiceTables(ddb.endpoint);
    cfn = await startCloudFormationStandIn([
      {
        name: 'Sluice',
        outputs: {
          ControlTableName: tables.controlTable,
          StateTableName: tables.stateTable,
          FunctionUrl: 'https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws/',
        },
      },
    ]);
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('SLUICE_')));
    env = {
      ...base,
      AWS_ENDPOINT_URL_CLOUDFORMATION: cfn.url,
      AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint,
      AWS_ACCESS_KEY_ID: 'AKIATESTSTANDIN00000',
      AWS_SECRET_ACCESS_KEY: 'test-secret-for-the-stand-in',
      AWS_CONFIG_FILE: '/nonexistent/aws-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
  }, 60_000);

  afterAll(async () => {
    await cfn.close();
    await ddb.close();
  });

  it('creates a proxy and a key in the deployed stack tables', async () => {
    const created = await sluice(
      'proxies', 'create', 'acme', '--provider', 'openai', '--credential', 'secret:sluice/providers/openai', '--aws', '--region', 'eu-west-1',
    );
    expect(created, created.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(cfn.calls).toContainEqual({ stackName: 'Sluice', region: 'eu-west-1', service: 'cloudformation' });

    const store = new DynamoControlStore({ client: localDynamoClient(ddb.endpoint), tableName: tables.controlTable });
    expect(await store.getProxy('acme')).toMatchObject({
      id: 'acme',
      provider: 'openai',
      credentialRef: 'secret:sluice/providers/openai',
    });

    const key = await sluice('keys', 'create', '--proxy', 'acme', '--aws', '--region', 'eu-west-1');
    expect(key.code).toBe(0);
    const printed = /sk-sluice-[A-Za-z0-9_-]+/.exec(key.stdout)?.[0];
    expect(printed).toBeDefined();
    expect(await store.listKeys('acme')).toHaveLength(1);

    const listed = await sluice('proxies', 'list', '--json', '--aws', '--region', 'eu-west-1');
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as { id: string }[]).map((p) => p.id)).toEqual(['acme']);
  });

  it('explains an unknown stack and changes nothing', async () => {
    const out = await sluice('proxies', 'create', 'other', '--provider', 'openai', '--aws', '--stack', 'Missing', '--region', 'eu-west-1');
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('Stack "Missing" not found in eu-west-1');
    const store = new DynamoControlStore({ client: localDynamoClient(ddb.endpoint), tableName: tables.controlTable });
    expect(await store.getProxy('other')).toBeUndefined();
  });
});
