/**
 * `sluice cache purge` run as a user runs it (bin/sluice.ts in a child process): locally on a
 * real redis-server shared through REDIS_URL, and with --aws on dynalite found through the
 * stack outputs (CloudFormation stand-in); the cases it cannot reach are refused by name.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoResponseCacheStore } from '../../functions/cache/dynamodb-store.js';
import { RedisResponseCacheStore } from '../../functions/cache/redis-store.js';
import type { CachedAnswer } from '../../functions/cache/store.js';
import { DynamoControlStore } from '../../functions/stores/dynamodb-store.js';
import { startCloudFormationStandIn, type CloudFormationStandIn } from '../support/cloudformation-standin.js';
import { createSluiceTables, localDynamoClient, startDynalite, type RunningDynalite, type SluiceTables } from '../support/dynalite.js';
import { startRedis, type RunningRedis } from '../support/redis.js';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const digest = (s: string) => createHash('sha256').update(s).digest('hex');
const entry = (): CachedAnswer => ({ storedAt: Date.now(), expiresAt: Date.now() + 600_000, payload: new Uint8Array([31, 139, 8, 0]) });

let redis: RunningRedis;
let ddb: RunningDynalite;
let cfn: CloudFormationStandIn;
let tables: SluiceTables;
let dataDir: string;
let baseEnv: NodeJS.ProcessEnv;

async function sluice(env: NodeJS.ProcessEnv, ...args: string[]) {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['--import', 'tsx', 'bin/sluice.ts', ...args], { cwd: ROOT, env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  [redis, ddb] = await Promise.all([startRedis(), startDynalite()]);
  tables = await createSluiceTables(ddb.endpoint);
  const outputs = { ControlTableName: tables.controlTable, StateTableName: tables.stateTable, FunctionUrl: 'https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws/' };
  cfn = await startCloudFormationStandIn([
    { name: 'Sluice', outputs: { ...outputs, ResponseCacheStore: 'dynamodb' } },
    { name: 'WithValkey', outputs: { ...outputs, ResponseCacheStore: 'redis' } },
  ]);
  dataDir = await mkdtemp(join(tmpdir(), 'sluice-cache-cli-'));
  baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('SLUICE_') && k !== 'REDIS_URL'));
}, 60_000);
afterAll(async () => {
  await Promise.all([redis?.stop(), ddb?.close(), cfn?.close()]);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('sluice cache purge', () => {
  it('locally with REDIS_URL: one entry by --key, then the whole proxy; other proxies keep theirs', async () => {
    const env = { ...baseEnv, REDIS_URL: redis.url };
    expect((await sluice(env, '--data-dir', dataDir, 'proxies', 'create', 'cached', '--provider', 'openai', '--org', 'acme', '--cache-ttl', '600')).code).toBe(0);
    expect((await sluice(env, '--data-dir', dataDir, 'proxies', 'create', 'other', '--provider', 'openai', '--org', 'acme')).code).toBe(0);
    const store = new RedisResponseCacheStore({ url: redis.url });
    try {
      for (const q of ['a', 'b', 'c']) await store.set({ orgId: 'acme', proxyId: 'cached', digest: digest(q) }, entry());
      await store.set({ orgId: 'acme', proxyId: 'other', digest: digest('a') }, entry());
      const one = await sluice(env, '--data-dir', dataDir, 'cache', 'purge', '--proxy', 'cached', '--key', digest('a'));
      expect(one).toMatchObject({ code: 0, stderr: '' });
      expect(one.stdout).toContain(`Purged 1 response-cache entry of proxy cached (key ${digest('a').slice(0, 8)}…).`);
      expect(await store.get({ orgId: 'acme', proxyId: 'cached', digest: digest('a') })).toBeUndefined();
      const all = await sluice(env, '--data-dir', dataDir, 'cache', 'purge', '--proxy', 'cached');
      expect(all.stdout).toContain('Purged 2 response-cache entries of proxy cached.');
      expect(await store.get({ orgId: 'acme', proxyId: 'cached', digest: digest('b') })).toBeUndefined();
      expect(await store.get({ orgId: 'acme', proxyId: 'other', digest: digest('a') })).toBeDefined();
    } finally {
      store.close();
    }
  }, 60_000);

  it('refuses a bad digest, an unknown proxy, and the embedded store it cannot reach', async () => {
    const env = { ...baseEnv, REDIS_URL: redis.url };
    const bad = await sluice(env, '--data-dir', dataDir, 'cache', 'purge', '--proxy', 'cached', '--key', 'ABC');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--key takes a key digest: 64 lowercase hex characters');
    const unknown = await sluice(env, '--data-dir', dataDir, 'cache', 'purge', '--proxy', 'nope');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("unknown proxy 'nope'");
    const embedded = await sluice(baseEnv, '--data-dir', dataDir, 'cache', 'purge', '--proxy', 'cached');
    expect(embedded.code).toBe(1);
    expect(embedded.stderr).toContain('the embedded response cache lives in the memory of the running gateway');
    expect((await sluice(baseEnv, 'cache', 'purge', '--help')).stdout).toContain('purge --proxy <id> [--key <digest>]');
  }, 60_000);

  it('locally with SLUICE_RESPONSE_CACHE_STORE=dynamodb: purges the state table SLUICE_STATE_TABLE names', async () => {
    const env = {
      ...baseEnv,
      SLUICE_RESPONSE_CACHE_STORE: 'dynamodb',
      SLUICE_STATE_TABLE: tables.stateTable,
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint,
      AWS_ACCESS_KEY_ID: 'AKIATESTSTANDIN00000',
      AWS_SECRET_ACCESS_KEY: 'test-secret-for-the-stand-in',
      AWS_CONFIG_FILE: '/nonexistent/aws-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    expect((await sluice(env, '--data-dir', dataDir, 'proxies', 'create', 'local-ddb', '--provider', 'openai', '--org', 'acme', '--cache-ttl', '60')).code).toBe(0);
    const client = localDynamoClient(ddb.endpoint);
    try {
      const store = new DynamoResponseCacheStore({ client, tableName: tables.stateTable });
      for (const q of ['a', 'b', 'c']) await store.set({ orgId: 'acme', proxyId: 'local-ddb', digest: digest(q) }, entry());
      const one = await sluice(env, '--data-dir', dataDir, 'cache', 'purge', '--proxy', 'local-ddb', '--key', digest('c'));
      expect(one).toMatchObject({ code: 0, stderr: '' });
      expect(one.stdout).toContain('Purged 1 response-cache entry of proxy local-ddb');
      const again = await sluice(env, '--data-dir', dataDir, 'cache', 'purge', '--proxy', 'local-ddb', '--key', digest('c'));
      expect(again.stdout).toContain('Purged 0 response-cache entries of proxy local-ddb');
      const all = await sluice(env, '--data-dir', dataDir, 'cache', 'purge', '--proxy', 'local-ddb');
      expect(all.stdout).toContain('Purged 2 response-cache entries of proxy local-ddb.');
      expect(await store.get({ orgId: 'acme', proxyId: 'local-ddb', digest: digest('a') })).toBeUndefined();
    } finally {
      client.destroy();
    }
  }, 60_000);

  it('--aws: purges the DynamoDB store found through the stack outputs; a Valkey stack is refused by name', async () => {
    const env = {
      ...baseEnv,
      AWS_ENDPOINT_URL_CLOUDFORMATION: cfn.url,
      AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint,
      AWS_ACCESS_KEY_ID: 'AKIATESTSTANDIN00000',
      AWS_SECRET_ACCESS_KEY: 'test-secret-for-the-stand-in',
      AWS_CONFIG_FILE: '/nonexistent/aws-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const client = localDynamoClient(ddb.endpoint);
    try {
      await new DynamoControlStore({ client, tableName: tables.controlTable }).putProxy({
        id: 'deployed', orgId: 'acme', name: 'deployed', provider: 'openai', baseUrl: 'https://api.openai.com/v1', byok: false, allowPrivateNetwork: false, createdAt: '2026-12-07T00:00:00.000Z', cache: { ttlSeconds: 60 },
      });
      const store = new DynamoResponseCacheStore({ client, tableName: tables.stateTable });
      for (const q of ['a', 'b']) await store.set({ orgId: 'acme', proxyId: 'deployed', digest: digest(q) }, entry());
      const purged = await sluice(env, 'cache', 'purge', '--proxy', 'deployed', '--aws', '--region', 'eu-west-1');
      expect(purged).toMatchObject({ code: 0 });
      expect(purged.stdout).toContain('Purged 2 response-cache entries of proxy deployed.');
      expect(await store.get({ orgId: 'acme', proxyId: 'deployed', digest: digest('b') })).toBeUndefined();
      const valkey = await sluice(env, 'cache', 'purge', '--proxy', 'deployed', '--aws', '--stack', 'WithValkey', '--region', 'eu-west-1');
      expect(valkey.code).toBe(1);
      expect(valkey.stderr).toContain('ElastiCache inside its VPC, which the CLI cannot reach');
    } finally {
      client.destroy();
    }
  }, 60_000);
});
