import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_HANDLER_ENTRY, GATEWAY_HANDLER_EXPORT, OTLP_EXPORTER_MODULE, PROJECT_ROOT } from '../../lib/gateway-function.js';
import { installAwsLambdaGlobal } from '../../functions/local/awslambda.js';
import { startLocalServer } from '../../functions/local/server.js';

const run = promisify(execFile);
// A regression guard on the single-file bundle, not the goal: the sustained-load issue's
// goal is 1,000,000 bytes evaluated at init, with lazy chunks (esbuild splitting) reported
// apart. Raised from 1.5 MiB (1,572,864) when caller AWS credentials and Vertex workload
// identity federation added 11 KB with nothing left to trim in one file.
const MAX_BUNDLE_BYTES = 1_600_000;

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

  it('bundles the handler into one ESM file with a source map, within the size budget', async () => {
    expect(fn.Properties.Handler).toBe(`index.${GATEWAY_HANDLER_EXPORT}`);
    const code = await stat(join(assetDir, 'index.mjs'));
    const map = await stat(join(assetDir, 'index.mjs.map'));
    console.info(`gateway bundle: index.mjs ${(code.size / 1024).toFixed(1)} KiB, index.mjs.map ${(map.size / 1024).toFixed(1)} KiB`);
    expect(code.size).toBeLessThanOrEqual(MAX_BUNDLE_BYTES);
  });

  it('the OTLP exporter is a file of its own beside the bundle (loaded on first export), not inlined into it', async () => {
    const exporter = (await import(pathToFileURL(join(assetDir, OTLP_EXPORTER_MODULE.outfile)).href)) as Record<string, unknown>;
    expect(typeof exporter.createOtlpExporter).toBe('function');
    const code = await readFile(join(assetDir, 'index.mjs'), 'utf8');
    expect(code).toContain(`"./${OTLP_EXPORTER_MODULE.outfile}"`);
    // The span builder's GenAI provider table lives only in the exporter file.
    expect(code).not.toContain('gcp.vertex_ai');
  });

  it('the deployed artifact is the handler the local runtime serves: the bundle answers /healthz through it', async () => {
    process.env.SLUICE_STORE = 'file';
    process.env.SLUICE_DATA_DIR = dataDir;
    installAwsLambdaGlobal();
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
