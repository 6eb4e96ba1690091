/**
 * The deploy validation step of docs/deploy.md: after `cdk deploy -c sluice:traces=clickhouse`,
 * `sluice traces list --aws` finds the ClickHouse URL secret through the stack outputs
 * (CloudFormation stand-in), reads it (Secrets Manager stand-in) and lists a trace the
 * gateway wrote to a real clickhouse-server.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../functions/clickhouse/migrate.js';
import { ClickHouseClient } from '../../functions/clickhouse/client.js';
import { startClickHouse, type RunningClickHouse } from '../support/clickhouse.js';
import { startCloudFormationStandIn, type CloudFormationStandIn } from '../support/cloudformation-standin.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { startSecretsManagerStandIn, type SecretsManagerStandIn } from '../support/secrets-manager-standin.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:sluice/clickhouse-url-AbCdEf';

describe('sluice traces list --aws', () => {
  let ch: RunningClickHouse;
  let cfn: CloudFormationStandIn;
  let sm: SecretsManagerStandIn;
  let upstream: OpenAIUpstream;
  let gw: TestGateway;
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
    ch = await startClickHouse();
    await migrate(new ClickHouseClient({ url: ch.url }));
    upstream = await startOpenAIUpstream();
    gw = await startTestGateway({ upstreamUrl: upstream.url, env: { SLUICE_TRACE_SINK: 'clickhouse', CLICKHOUSE_URL: ch.url } });
    const outputs = { ControlTableName: 'Sluice-Control', StateTableName: 'Sluice-State', FunctionUrl: 'https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws/' };
    cfn = await startCloudFormationStandIn([
      { name: 'Sluice', outputs: { ...outputs, ClickHouseUrlSecretArn: SECRET_ARN } },
      { name: 'NoTraces', outputs },
    ]);
    sm = await startSecretsManagerStandIn({ [SECRET_ARN]: JSON.stringify({ url: ch.url }) });
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('SLUICE_') && k !== 'CLICKHOUSE_URL'));
    env = {
      ...base,
      AWS_ENDPOINT_URL_CLOUDFORMATION: cfn.url,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url,
      AWS_ACCESS_KEY_ID: 'AKIATESTSTANDIN00000',
      AWS_SECRET_ACCESS_KEY: 'test-secret-for-the-stand-in',
      AWS_CONFIG_FILE: '/nonexistent/aws-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
    await cfn?.close();
    await sm?.close();
    await ch?.close();
  });

  it('reads back a trace written after deploy, through the stack output and its secret', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/a/test/openai/v1`, apiKey: gw.key, maxRetries: 0 });
    const { response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'after deploy' }] }).withResponse();
    const traceId = response.headers.get('x-sluice-trace-id')!;
    let listed: { traceId: string }[] = [];
    for (let i = 0; i < 40 && !listed.some((t) => t.traceId === traceId); i++) {
      const out = await sluice('traces', 'list', '--aws', '--region', 'eu-west-1', '--json');
      expect(out.code, out.stderr).toBe(0);
      listed = JSON.parse(out.stdout) as { traceId: string }[];
      if (!listed.some((t) => t.traceId === traceId)) await new Promise((r) => setTimeout(r, 100));
    }
    expect(listed.map((t) => t.traceId)).toContain(traceId);
    expect(sm.calls).toContain(SECRET_ARN);
    expect(cfn.calls.some((c) => c.stackName === 'Sluice' && c.region === 'eu-west-1')).toBe(true);
  });

  it('a stack without ClickHouse traces is a usage error saying how to deploy it, with no secret read', async () => {
    const before = sm.calls.length;
    const out = await sluice('traces', 'list', '--aws', '--stack', 'NoTraces', '--region', 'eu-west-1');
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/sluice:traces=clickhouse/);
    expect(sm.calls.length).toBe(before);
  });
});
