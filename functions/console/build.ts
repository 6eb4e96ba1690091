/**
 * Builds the console beside a gateway bundle (run after bundling, see lib/bundled-function.ts):
 *   <out>/serve.mjs       the console and admin API server module (the gateway imports it
 *                         on the first /console or /admin request, never at init)
 *   <out>/static/…        index.html, console.js, console.css
 * Usage: node --import tsx functions/console/build.ts <out dir>
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { buildConsoleAssets } from './assets.js';

export async function buildConsole(outDir: string): Promise<void> {
  await esbuild.build({
    entryPoints: [fileURLToPath(new URL('./serve.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    mainFields: ['module', 'main'],
    outfile: join(outDir, 'serve.mjs'),
    logLevel: 'warning',
    banner: { js: "import { createRequire as __sluiceCreateRequire } from 'node:module'; const require = __sluiceCreateRequire(import.meta.url);" },
  });
  const assets = await buildConsoleAssets();
  await mkdir(join(outDir, 'static'), { recursive: true });
  for (const [name, asset] of assets) await writeFile(join(outDir, 'static', name), asset.body);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write('usage: build.ts <out dir>\n');
    process.exit(2);
  }
  await buildConsole(out);
}
