/**
 * The Lambda artifact: functions/gateway/handler.ts bundled as the stack bundles it
 * (lib/split-bundle.ts: ESM, node24, minified, AWS SDK bundled, createRequire banner, code
 * splitting; the Rego engine's lazy modules beside it), the bytes evaluated at init (index.mjs
 * and its static imports) and those loaded lazily, and how long a fresh Node process takes to
 * import it as deployed (`--enable-source-maps`, as lib/bundled-function.ts sets NODE_OPTIONS)
 * — the handler module's share of a cold start.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, version as esbuildVersion } from 'esbuild';
import { buildLazyRego } from '../../functions/rego/build-lazy.js';
import { initCode, splitBundle } from '../../lib/split-bundle.js';

export { esbuildVersion };
import { median } from './stats.js';

export interface ArtifactResult {
  /** Bytes evaluated at init: index.mjs and the chunks it imports statically. */
  bundleBytes: number;
  initFiles: number;
  /** Chunks and modules loaded on first use only. */
  lazyBytes: number;
  lazyLargest: { file: string; bytes: number }[];
  /** Bytes in the bundle per npm package (or per top-level source folder), largest first. */
  largestInputs: { name: string; bytes: number }[];
  sourceMapBytes: number;
  initMs: number[];
  initMedianMs: number;
  processMs: number[];
  processMedianMs: number;
}

/** Sums the metafile's per-file output bytes by npm package, or by `functions/<folder>` for our code. */
function bytesByPackage(inputs: Record<string, { bytesInOutput: number }>): { name: string; bytes: number }[] {
  const totals = new Map<string, number>();
  for (const [file, info] of Object.entries(inputs)) {
    const pkg = file.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1];
    const name = pkg ?? file.split('/').slice(0, 2).join('/');
    totals.set(name, (totals.get(name) ?? 0) + info.bytesInOutput);
  }
  return [...totals].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

export async function bundleHandler(
  root: string,
  outDir: string,
): Promise<{ bundle: string; lambdaGlobal: string; largestInputs: { name: string; bytes: number }[] }> {
  mkdirSync(outDir, { recursive: true });
  const bundle = join(outDir, 'index.mjs');
  const metafile = await splitBundle(join(root, 'functions/gateway/handler.ts'), outDir);
  await buildLazyRego(outDir);
  const init = new Set(initCode(outDir).initFiles);
  const inputs: Record<string, { bytesInOutput: number }> = {};
  for (const [file, output] of Object.entries(metafile.outputs)) {
    if (!init.has(basename(file))) continue;
    for (const [input, info] of Object.entries(output.inputs)) inputs[input] = { bytesInOutput: (inputs[input]?.bytesInOutput ?? 0) + info.bytesInOutput };
  }
  const largestInputs = bytesByPackage(inputs).slice(0, 12);
  // The Lambda runtime installs `awslambda` before it loads the handler; so does this stand-in.
  const lambdaGlobal = join(outDir, 'awslambda.mjs');
  await build({
    absWorkingDir: root,
    entryPoints: ['functions/local/awslambda.ts'],
    outfile: lambdaGlobal,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    logLevel: 'silent',
  });
  return { bundle, lambdaGlobal, largestInputs };
}

/** Imports the bundle in `samples` fresh processes; reports import time and whole-process time. */
export function measureInit(bundle: string, lambdaGlobal: string, workDir: string, samples: number): { initMs: number[]; processMs: number[] } {
  const probe = join(workDir, 'init-probe.mjs');
  writeFileSync(
    probe,
    [
      `const started = performance.now();`,
      `await import(${JSON.stringify(pathToFileURL(bundle).href)});`,
      `const imported = performance.now();`,
      // performance.now() counts from process start, so `imported` includes Node's own boot.
      `process.stdout.write(JSON.stringify({ initMs: imported - started, processMs: imported }));`,
    ].join('\n'),
  );
  const initMs: number[] = [];
  const processMs: number[] = [];
  for (let i = 0; i < samples; i++) {
    const out = execFileSync(process.execPath, ['--enable-source-maps', '--import', pathToFileURL(lambdaGlobal).href, probe], {
      cwd: workDir,
      env: {
        PATH: process.env.PATH,
        SLUICE_STORE: 'file',
        SLUICE_DATA_DIR: join(workDir, 'init-data'),
        SLUICE_IDENTITY_SIGNING_KEY: 'bench-init-probe',
        AWS_REGION: 'us-east-1',
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    const parsed = JSON.parse(out) as { initMs: number; processMs: number };
    initMs.push(parsed.initMs);
    processMs.push(parsed.processMs);
  }
  return { initMs, processMs };
}

export async function measureArtifact(root: string, workDir: string, samples = 9): Promise<ArtifactResult> {
  const { bundle, lambdaGlobal, largestInputs } = await bundleHandler(root, join(workDir, 'artifact'));
  const { initMs, processMs } = measureInit(bundle, lambdaGlobal, workDir, samples);
  const init = initCode(dirname(bundle));
  return {
    bundleBytes: init.initBytes,
    initFiles: init.initFiles.length,
    lazyBytes: init.lazy.reduce((n, c) => n + c.bytes, 0),
    lazyLargest: init.lazy.slice(0, 6),
    largestInputs,
    sourceMapBytes: statSync(`${bundle}.map`).size,
    initMs,
    initMedianMs: median(initMs),
    processMs,
    processMedianMs: median(processMs),
  };
}
