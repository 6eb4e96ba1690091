import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoCache, cachePk } from '../../functions/stores/dynamodb-cache.js';
import { DynamoControlStore } from '../../functions/stores/dynamodb-store.js';
import { LayeredCache } from '../../functions/stores/layered-cache.js';
import { startTestGateway } from '../support/gateway.js';
import { startOpenAIUpstream } from '../support/openai-upstream.js';
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
      {
        // A stack deployed with its own provider-secret prefix (the ProviderSecretPrefix output).
        name: 'Team',
        outputs: {
          ControlTableName: tables.controlTable,
          StateTableName: tables.stateTable,
          FunctionUrl: 'https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws/',
          ProviderSecretPrefix: 'team/llm/',
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

  it('proxies create refuses a secret the stack does not grant, reading the prefix from its outputs', async () => {
    const outside = await sluice('proxies', 'create', 'team', '--provider', 'openai', '--credential', 'secret:sluice/providers/openai', '--aws', '--stack', 'Team', '--region', 'eu-west-1');
    expect(outside.code).toBe(2);
    expect(outside.stderr).toContain('the deployed gateway may read only secrets named team/llm/<name>');
    const legacy = await sluice('proxies', 'create', 'team', '--provider', 'openai', '--credential', 'secret:prod/openai', '--aws', '--region', 'eu-west-1');
    expect(legacy.code).toBe(2);
    expect(legacy.stderr).toContain('only secrets named sluice/providers/<name>'); // a stack without the output: the default grant
    const store = new DynamoControlStore({ client: localDynamoClient(ddb.endpoint), tableName: tables.controlTable });
    expect(await store.getProxy('team')).toBeUndefined();
    const inside = await sluice('proxies', 'create', 'team', '--provider', 'openai', '--credential', 'secret:team/llm/openai', '--aws', '--stack', 'Team', '--region', 'eu-west-1');
    expect(inside, inside.stderr).toMatchObject({ code: 0, stderr: '' });
  });

  it('budgets and limits say when the deployed gateway applies them', async () => {
    const budget = await sluice('budgets', 'set', '--proxy', 'acme', '--limit', '5', '--period', 'month', '--aws', '--region', 'eu-west-1');
    expect(budget, budget.stderr).toMatchObject({ code: 0 });
    expect(budget.stdout).toContain('In AWS this applies within 5 seconds');
    const limit = await sluice('limits', 'delete', '--proxy', 'nothing-here', '--aws', '--region', 'eu-west-1');
    expect(limit.code).toBe(1);
    expect(limit.stdout).not.toContain('In AWS'); // nothing changed, nothing to apply
  });

  it('keys revoke deletes the key from the DynamoDB cache layer: a gateway on that layer refuses it on the next request', async () => {
    const upstream = await startOpenAIUpstream();
    const client = localDynamoClient(ddb.endpoint);
    // The deployed gateway's stores: the control table, and the cache stack with the DynamoDB layer only
    // (SLUICE_CACHE_LAYERS=dynamodb), so no memory layer can hide what the CLI deletes.
    const store = new DynamoControlStore({ client, tableName: tables.controlTable });
    const cache = new LayeredCache([{ name: 'dynamodb', cache: new DynamoCache({ client, tableName: tables.stateTable }), timeoutMs: 5000 }]);
    const gw = await startTestGateway({ upstreamUrl: upstream.url, deps: { store, cache } });
    try {
      const proxy = await sluice('proxies', 'create', 'cached', '--provider', 'openai-compatible', '--base-url', upstream.url, '--allow-private-network', '--aws', '--region', 'eu-west-1');
      expect(proxy.code, proxy.stderr).toBe(0);
      const created = await sluice('keys', 'create', '--proxy', 'cached', '--aws', '--region', 'eu-west-1');
      const key = /sk-sluice-[A-Za-z0-9_-]+/.exec(created.stdout)![0];
      const keyId = /key_[A-Za-z0-9]+/.exec(created.stdout)![0];
      const chat = async () => {
        const res = await fetch(`${gw.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
        });
        const body = (await res.json()) as { error?: { code?: string } };
        return { status: res.status, code: body.error?.code };
      };
      const cachedIdentity = async () => {
        const { hash } = (await store.listKeys('cached')).find((k) => k.id === keyId)!;
        return (await client.send(new GetItemCommand({ TableName: tables.stateTable, Key: { pk: { S: cachePk(`auth:${hash}`) }, sk: { S: 'cache' } } }))).Item;
      };
      expect(await chat()).toEqual({ status: 200, code: undefined });
      expect(await cachedIdentity()).toBeDefined(); // the gateway cached the key's identity in the state table

      const revoked = await sluice('keys', 'revoke', keyId, '--aws', '--region', 'eu-west-1');
      expect(revoked, revoked.stderr).toMatchObject({ code: 0, stderr: '' });
      expect(revoked.stdout).toContain(`Revoked key ${keyId}.`);
      expect(revoked.stdout).toContain('may still accept it until its cached identity (memory, and Redis when the cache is on) expires');
      expect(await cachedIdentity()).toBeUndefined();
      expect(await chat()).toEqual({ status: 401, code: 'key_revoked' });
    } finally {
      await gw.close();
      await upstream.close();
      client.destroy();
    }
  });
});
