import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_HANDLER_ENTRY, GATEWAY_HANDLER_EXPORT, PROJECT_ROOT } from '../../lib/gateway-function.js';
import { installAwsLambdaGlobal } from '../../functions/local/awslambda.js';
import { initCode } from '../../lib/split-bundle.js';
import { setPolicy } from '../../functions/governance/policy-admin.js';
import { FileControlStore } from '../../functions/stores/file-store.js';
import { generateGatewayKey } from '../../functions/stores/keys.js';
import { startLocalServer } from '../../functions/local/server.js';

const run = promisify(execFile);
// The code evaluated at Lambda init: index.mjs and the chunks it imports statically (esbuild
// code splitting, lib/split-bundle.ts). Chunks reached only through dynamic import() and the
// modules built beside the bundle (rego-*.mjs, console/) are loaded on first use and reported
// apart. The sustained-load issue's goal is 1,000,000 bytes; measured 908,613 when set.
const MAX_INIT_BYTES = 940_000;

interface CfnResource {
  Type: string;
  Properties: Record<string, unknown>;
  Metadata?: Record<string, string>;
}

/** The one full synthesis: `cdk synth` of bin/app.ts with real esbuild bundling, offline, no credentials. */
describe('cdk synth of bin/app.ts (real bundling)', () => {
  let outDir: string;
  let dataDir: string;
  let fn: CfnResource;
  let assetDir: string;

  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'sluice-synth-'));
    dataDir = await mkdtemp(join(tmpdir(), 'sluice-synth-data-'));
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('CDK_')));
    await run('npx', ['cdk', 'synth', '--quiet', '--no-notices', '--output', outDir], {
      cwd: PROJECT_ROOT,
      env: { ...env, AWS_EC2_METADATA_DISABLED: 'true', CDK_DISABLE_CLI_TELEMETRY: 'true' },
      maxBuffer: 16 * 1024 * 1024,
    });
    const template = JSON.parse(await readFile(join(outDir, 'Sluice.template.json'), 'utf8')) as {
      Resources: Record<string, CfnResource>;
    };
    const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions).toHaveLength(1);
    fn = functions[0]!;
    assetDir = join(outDir, fn.Metadata!['aws:asset:path']!);
  }, 120_000);

  afterAll(async () => {
    await rm(outDir, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
  });

  it('bundles the handler into split ESM chunks with source maps; the code evaluated at init is within the budget', async () => {
    expect(fn.Properties.Handler).toBe(`index.${GATEWAY_HANDLER_EXPORT}`);
    const init = initCode(assetDir);
    for (const file of init.initFiles) expect((await stat(join(assetDir, `${file}.map`))).size).toBeGreaterThan(0);
    const lazyBytes = init.lazy.reduce((n, c) => n + c.bytes, 0);
    console.info(
      `gateway bundle: ${init.initBytes} bytes at init (${init.initFiles.length} files); lazy: ${lazyBytes} bytes in ${init.lazy.length} files, largest ${init.lazy
        .slice(0, 5)
        .map((c) => `${c.file} ${c.bytes}`)
        .join(', ')}`,
    );
    expect(init.initBytes).toBeLessThanOrEqual(MAX_INIT_BYTES);
    // What the splitting is for: these are not evaluated at init.
    const initText = (await Promise.all(init.initFiles.map((f) => readFile(join(assetDir, f), 'utf8')))).join('\n');
    for (const lazy of ['SNSClient', 'SecretsManagerClient', 'BedrockRuntimeClient', 'FirehoseClient']) expect(initText).not.toContain(`${lazy}"`);
  });

  it('the OTLP exporter is in a lazily loaded chunk (imported on first export), not evaluated at init', async () => {
    const init = initCode(assetDir);
    const initText = (await Promise.all(init.initFiles.map((f) => readFile(join(assetDir, f), 'utf8')))).join('\n');
    // The span builder's GenAI provider table lives only in the exporter's chunk.
    expect(initText).not.toContain('gcp.vertex_ai');
    const lazyTexts = await Promise.all(init.lazy.map(async (c) => ({ file: c.file, text: await readFile(join(assetDir, c.file), 'utf8') })));
    const chunk = lazyTexts.find((c) => c.text.includes('gcp.vertex_ai'));
    expect(chunk, 'a lazy chunk holds the OTLP exporter').toBeDefined();
    const exporter = (await import(pathToFileURL(join(assetDir, chunk!.file)).href)) as Record<string, unknown>;
    expect(Object.values(exporter).some((v) => typeof v === 'function')).toBe(true);
  });

  it('Powertools Metrics (the EMF emitter) is in a lazily loaded chunk (imported on the first request metric), not evaluated at init', async () => {
    const init = initCode(assetDir);
    const initText = (await Promise.all(init.initFiles.map((f) => readFile(join(assetDir, f), 'utf8')))).join('\n');
    // Powertools' own warning text: only its Metrics class carries it.
    const marker = 'Namespace should be defined, default used';
    expect(initText).not.toContain(marker);
    const lazyTexts = await Promise.all(init.lazy.map(async (c) => ({ file: c.file, text: await readFile(join(assetDir, c.file), 'utf8') })));
    expect(lazyTexts.some((c) => c.text.includes(marker)), 'a lazy chunk holds Powertools Metrics').toBe(true);
  });

  it('the deployed artifact is the handler the local runtime serves: the bundle answers /healthz through it', async () => {
    process.env.SLUICE_STORE = 'file';
    process.env.SLUICE_DATA_DIR = dataDir;
    installAwsLambdaGlobal();
    // A proxy whose action policy denies delete_database, for a check answered by the bundle (its code is a lazy chunk).
    const store = new FileControlStore({ dataDir });
    await store.putProxy({ id: 'synth', orgId: 'org-synth', name: 'synth', provider: 'openai-compatible', baseUrl: 'https://api.openai.com/v1', byok: false, allowPrivateNetwork: false, createdAt: new Date().toISOString(), governance: { enabled: true } });
    await setPolicy(store, 'synth', 'action', 'package sluice.policy\n\ndeny contains "no deleting databases" if input.action == "delete_database"\n');
    const gatewayKey = generateGatewayKey();
    await store.putKey({ id: gatewayKey.id, hash: gatewayKey.hash, proxyId: 'synth', orgId: 'org-synth', createdAt: new Date().toISOString() });
    const bundle = (await import(pathToFileURL(join(assetDir, 'index.mjs')).href)) as Record<string, unknown>;
    expect(typeof bundle[GATEWAY_HANDLER_EXPORT]).toBe('function');
    const server = await startLocalServer({ handler: bundle[GATEWAY_HANDLER_EXPORT] });
    try {
      const res = await fetch(`${server.url}/healthz`);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-sluice-trace-id')).toMatch(/^[0-9a-f-]{36}$/);
      await res.arrayBuffer();
      // The console is shipped beside the bundle (console/serve.mjs, console/static/) and loaded on its first request.
      const page = await fetch(`${server.url}/console/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('/console/console.js');
      const js = await fetch(`${server.url}/console/console.js`);
      expect(js.status).toBe(200);
      expect((await js.text()).length).toBeGreaterThan(1000);
      const api = await fetch(`${server.url}/admin/v1/traces`);
      expect(api.status).toBe(401);
      await api.arrayBuffer();
      // graphql.* and crypto.x509.* load their parsers from rego-graphql.mjs / rego-x509.mjs beside the bundle, on first use.
      const gql = (await import(pathToFileURL(join(assetDir, 'rego-graphql.mjs')).href)) as { parseQuery(q: string): unknown };
      expect(gql.parseQuery('{ a }')).toMatchObject({ Operations: [{ Operation: 'query', SelectionSet: [{ Alias: 'a', Name: 'a' }] }] });
      const x509 = (await import(pathToFileURL(join(assetDir, 'rego-x509.mjs')).href)) as { pemBlocks(s: string): unknown[] };
      expect(x509.pemBlocks('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')).toHaveLength(1);
      // The action check (POST /v1/actions/check) is a lazily loaded chunk, imported on the first check, not evaluated at init.
      const init = initCode(assetDir);
      const marker = 'an action check takes action, arguments';
      const initText = (await Promise.all(init.initFiles.map((f) => readFile(join(assetDir, f), 'utf8')))).join('\n');
      expect(initText).not.toContain(marker);
      const lazyTexts = await Promise.all(init.lazy.map((c) => readFile(join(assetDir, c.file), 'utf8')));
      expect(lazyTexts.some((t) => t.includes(marker)), 'a lazy chunk holds the action check').toBe(true);
      const unauthenticated = await fetch(`${server.url}/v1/actions/check`, { method: 'POST', body: '{"action":"delete_database"}' });
      expect(unauthenticated.status).toBe(401);
      await unauthenticated.arrayBuffer();
      const checkAction = (action: string) =>
        fetch(`${server.url}/v1/actions/check`, { method: 'POST', headers: { authorization: `Bearer ${gatewayKey.key}` }, body: JSON.stringify({ action }) });
      const denied = await checkAction('delete_database');
      expect(denied.status).toBe(403);
      expect(await denied.json()).toMatchObject({ error: { type: 'policy_violation' }, decision: 'deny', reasons: ['no deleting databases'] });
      const allowed = await checkAction('list_tables');
      expect(allowed.status).toBe(200);
      expect(await allowed.json()).toMatchObject({ decision: 'allow' });
    } finally {
      await server.close();
    }
  });
});

describe('handler entry parity (source)', () => {
  it('functions/local/dev.ts imports the module and export the Lambda function is built from', async () => {
    const devPath = join(PROJECT_ROOT, 'functions/local/dev.ts');
    const source = await readFile(devPath, 'utf8');
    const match = /const \{ (\w+) \} = await import\('([^']+)'\)/.exec(source);
    expect(match, 'dev.ts loads the handler with a dynamic import').not.toBeNull();
    const [, exportName, specifier] = match!;
    const imported = relative(PROJECT_ROOT, resolve(dirname(devPath), specifier!)).replace(/\.js$/, '.ts');
    expect(imported).toBe(GATEWAY_HANDLER_ENTRY);
    expect(exportName).toBe(GATEWAY_HANDLER_EXPORT);
    const handlerSource = await readFile(join(PROJECT_ROOT, GATEWAY_HANDLER_ENTRY), 'utf8');
    expect(handlerSource).toMatch(new RegExp(`export const ${GATEWAY_HANDLER_EXPORT} = `));
  });
});
