/**
 * The console on its AWS data path, in Debian's Chromium: the gateway built from the
 * environment as Lambda builds it (SLUICE_STORE=dynamodb), so proxies, keys, admin keys,
 * console sessions, approvals, the audit log and spend live in DynamoDB (dynalite, the
 * stack's table layout); traces are written to a real clickhouse-server and read back by the
 * console as the read-only ClickHouse user, whose URL comes from its own secret
 * (SLUICE_CLICKHOUSE_READER_SECRET_ARN, through a Secrets Manager stand-in), as in AWS.
 * Not covered here: the https Function URL itself (`__Host-` Secure cookie; the site stays local).
 */
import '../../functions/local/awslambda.js';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { migrate } from '../../functions/clickhouse/migrate.js';
import { ClickHouseClient } from '../../functions/clickhouse/client.js';
import { generateAdminKey } from '../../functions/console/admin-keys.js';
import { DynamoAdminStore } from '../../functions/console/admin-store-dynamodb.js';
import { createGatewayHandler } from '../../functions/gateway/handler.js';
import { depsFromEnv } from '../../functions/gateway/deps.js';
import { setPolicy } from '../../functions/governance/policy-admin.js';
import { startLocalServer, type LocalServer } from '../../functions/local/server.js';
import { DynamoControlStore } from '../../functions/stores/dynamodb-store.js';
import { generateGatewayKey } from '../../functions/stores/keys.js';
import { READER_PASSWORD, READER_USER, startClickHouse, type RunningClickHouse } from '../support/clickhouse.js';
import { createSluiceTables, localDynamoClient, startDynalite, type RunningDynalite } from '../support/dynalite.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { startSecretsManagerStandIn, type SecretsManagerStandIn } from '../support/secrets-manager-standin.js';

const READER_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:111111111111:secret:sluice/clickhouse-reader-AbCdEf';
const XSS = '<img src=x onerror=alert(1)>';

let ch: RunningClickHouse;
let dynalite: RunningDynalite;
let dynamo: DynamoDBClient;
let sm: SecretsManagerStandIn;
let upstream: OpenAIUpstream;
let server: LocalServer;
let dataDir: string;
let profileDir: string;
let context: BrowserContext;
let page: Page;
let base: string;
let key: string;
let heldKey: string;
let admin: DynamoAdminStore;
let adminKeyId: string;
let adminKey: string;
const dialogs: string[] = [];
const pageErrors: string[] = [];
const saved: Record<string, string | undefined> = {};

/** The SDK clients the gateway builds from the environment find the stand-ins through these. */
function setEnv(vars: Record<string, string>): void {
  for (const [k, v] of Object.entries(vars)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
}

beforeAll(async () => {
  [ch, dynalite, upstream] = await Promise.all([startClickHouse(), startDynalite(), startOpenAIUpstream()]);
  await migrate(new ClickHouseClient({ url: ch.url }));
  const readerUrl = new URL(ch.url);
  readerUrl.username = READER_USER;
  readerUrl.password = READER_PASSWORD;
  sm = await startSecretsManagerStandIn({ [READER_SECRET_ARN]: JSON.stringify({ url: ch.url, username: READER_USER, password: READER_PASSWORD }) });
  dynamo = localDynamoClient(dynalite.endpoint);
  const tables = await createSluiceTables(dynamo);
  setEnv({
    AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIATESTSTANDIN00000',
    AWS_SECRET_ACCESS_KEY: 'test-secret-for-the-stand-in',
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  dataDir = await mkdtemp(join(tmpdir(), 'sluice-console-aws-'));
  profileDir = await mkdtemp(join(tmpdir(), 'sluice-chromium-aws-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SLUICE_DATA_DIR: dataDir,
    SLUICE_STORE: 'dynamodb',
    SLUICE_CONTROL_TABLE: tables.controlTable,
    SLUICE_STATE_TABLE: tables.stateTable,
    SLUICE_TRACE_SINK: 'clickhouse',
    CLICKHOUSE_URL: ch.url,
    SLUICE_CLICKHOUSE_READER_SECRET_ARN: READER_SECRET_ARN,
    SLUICE_IDENTITY_SIGNING_KEY: 'test-signing-key',
    SLUICE_LOG_LEVEL: 'SILENT',
  };
  delete env.SLUICE_CLICKHOUSE_READER_URL;
  delete env.GUARDRAIL_URL;
  server = await startLocalServer({ handler: createGatewayHandler(depsFromEnv(env)) });
  base = server.url.replace(/\/$/, '');

  const store = new DynamoControlStore({ client: dynamo, tableName: tables.controlTable });
  const now = new Date().toISOString();
  const proxy = { orgId: 'default', provider: 'openai-compatible' as const, baseUrl: upstream.url, byok: false, allowPrivateNetwork: true, createdAt: now };
  await store.putProxy({ ...proxy, id: 'app', name: 'app' });
  await store.putProxy({ ...proxy, id: 'held', name: 'held', governance: { enabled: true } });
  await setPolicy(store, 'held', 'request', 'package sluice.policy\n\nhold contains "wire transfers need a human" if {\n  some m in input.messages\n  contains(m.text, "transfer")\n}\n');
  const addKey = async (proxyId: string) => {
    const g = generateGatewayKey();
    await store.putKey({ id: g.id, hash: g.hash, proxyId, orgId: 'default', createdAt: now });
    return g.key;
  };
  key = await addKey('app');
  heldKey = await addKey('held');
  admin = new DynamoAdminStore(dynamo, tables.controlTable);
  const k = generateAdminKey();
  await admin.putKey({ id: k.id, hash: k.hash, role: 'admin', createdAt: now });
  adminKeyId = k.id;
  adminKey = k.key;

  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 860 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
}, 90_000);

afterAll(async () => {
  await context?.close();
  await server?.close();
  await upstream?.close();
  await sm?.close();
  dynamo?.destroy();
  await dynalite?.close();
  await ch?.close();
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await rm(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  await rm(profileDir, { recursive: true, force: true });
});

const client = (k: string) => new OpenAI({ baseURL: `${base}/a/${k === key ? 'app' : 'held'}/openai/v1`, apiKey: k, maxRetries: 0 });

describe('the console in Chromium on DynamoDB (dynalite) and ClickHouse (read-only user from its secret)', () => {
  const sessionId = randomUUID();
  const traceIds: string[] = [];

  it('signs in with an admin key kept in DynamoDB; the page says traces come through Firehose', async () => {
    await page.goto(`${base}/console/`);
    await page.locator('#admin-key').fill(adminKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#who').textContent()).toContain('(admin)');
    const who = (await (await page.request.get(`${base}/admin/v1/session`)).json()) as { trace_source: string; trace_delay_s: number };
    expect(who).toMatchObject({ trace_source: 'clickhouse', trace_delay_s: 60 });
    await page.goto(`${base}/console/#/traces`);
    await page.locator('input[name=tail]').check();
    await expect.poll(() => page.locator('.filters .note').textContent()).toContain('Firehose, which buffers up to 60 s');
    await page.locator('input[name=tail]').uncheck();
    // The Traces page read ClickHouse with the URL from the reader's own secret; the console
    // session is in DynamoDB, none of the console's state on local disk.
    expect(sm.calls).toContain(READER_SECRET_ARN);
    expect(existsSync(join(dataDir, 'admin.json'))).toBe(false);
  });

  it('three SDK turns of one session, written to ClickHouse, are found in Traces; a trace shows its steps and bodies; the session its turns', async () => {
    for (const text of ['first on aws', 'second on aws', XSS]) {
      const { response } = await client(key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }] }, { headers: { 'x-sluice-session-id': sessionId } }).withResponse();
      traceIds.push(response.headers.get('x-sluice-trace-id')!);
    }
    // The rows are in ClickHouse (the writer's user) before the page looks.
    await expect.poll(async () => Number((await ch.query(`SELECT count() FROM sluice_trace_steps WHERE session_id = '${sessionId}' AND name = 'request_finished'`)).trim()), { timeout: 15_000 }).toBe(3);
    await page.goto(`${base}/console/#/traces`);
    await page.locator('input[name=session]').fill(sessionId);
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(async () => (await page.locator('#trace-results tbody tr').allTextContents()).length, { timeout: 10_000 }).toBe(3);
    const rows = (await page.locator('#trace-results tbody tr').allTextContents()).join('\n');
    for (const id of traceIds) expect(rows).toContain(id);

    await page.goto(`${base}/console/#/trace/${traceIds[0]}`);
    await page.locator('#waterfall').waitFor();
    const steps = await page.locator('#waterfall .wf-row').evaluateAll((els) => els.map((r) => r.getAttribute('data-step')));
    expect(steps).toEqual(expect.arrayContaining(['request_received', 'llm', 'request_finished']));
    expect(await page.locator('#request-body').textContent()).toContain('first on aws');
    expect(await page.locator('#response-body').textContent()).toContain('first on aws');

    await page.goto(`${base}/console/#/session/${sessionId}`);
    await page.getByRole('heading', { name: `Session ${sessionId}` }).waitFor();
    const turns = await page.locator('#main tbody tr').allTextContents();
    expect(turns).toHaveLength(3);
    traceIds.forEach((id, i) => expect(turns[i]).toContain(id));
  });

  it('a response body of <img src=x onerror=alert(1)> read from ClickHouse is shown as text', async () => {
    await page.goto(`${base}/console/#/trace/${traceIds[2]}`);
    await expect.poll(() => page.locator('#response-body').textContent()).toContain(XSS);
    expect(await page.locator('#main img').count()).toBe(0);
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('spend from the ClickHouse traces shows the requests, with a chart', async () => {
    await page.goto(`${base}/console/#/spend`);
    await page.locator('#spend-chart').waitFor();
    await expect.poll(async () => (await page.locator('#main table').first().textContent()) ?? '').toContain('gpt-4o-mini');
    expect(await page.locator('#spend-chart rect').count()).toBeGreaterThan(0);
  });

  it('approves a hold kept in DynamoDB (its request body read from ClickHouse); the re-sent request succeeds; the decision is audited in DynamoDB', async () => {
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'transfer 100 EUR to Bob' }] };
    const held = (await client(heldKey).chat.completions.create(body).catch((e: unknown) => e)) as { status: number; headers: Headers };
    expect(held.status).toBe(409);
    const approvalId = held.headers.get('x-sluice-approval-id')!;
    const card = page.locator(`[data-approval-id="${approvalId}"]`);
    // The held request's body comes from its trace: reload until ClickHouse has it.
    await expect
      .poll(
        async () => {
          await page.goto(`${base}/console/#/approvals`);
          await page.reload();
          await card.waitFor();
          return (await card.locator('pre').textContent()) ?? '';
        },
        { timeout: 15_000 },
      )
      .toContain('transfer 100 EUR');
    await card.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => card.textContent()).toContain(`approved by console:${adminKeyId}`);
    const resent = await client(heldKey).chat.completions.create(body, { headers: { 'x-sluice-approval-id': approvalId } });
    expect(resent.choices[0]!.message.content).toContain('transfer 100 EUR');
    const audit = await admin.listAudit(50);
    expect(audit).toEqual(expect.arrayContaining([expect.objectContaining({ action: 'approval.approve', target: approvalId, actor: adminKeyId, outcome: 'ok' })]));
  });

  it('the console writes nothing to ClickHouse: its reader user may only read', async () => {
    const before = Number((await ch.query('SELECT count() FROM sluice_trace_steps')).trim());
    await page.goto(`${base}/console/#/traces`);
    await page.locator('#trace-results').waitFor();
    await page.goto(`${base}/console/#/sessions`);
    await page.locator('#main table, #main .note').first().waitFor();
    expect(Number((await ch.query('SELECT count() FROM sluice_trace_steps')).trim())).toBe(before);
    const write = await fetch(`${ch.url.replace(/\/$/, '')}/?user=${READER_USER}&password=${READER_PASSWORD}`, { method: 'POST', body: 'CREATE TABLE console_must_not_write (x UInt8) ENGINE = Memory' });
    expect(write.ok).toBe(false);
  });
});
