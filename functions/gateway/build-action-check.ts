/**
 * Builds the action check beside a gateway bundle (run after bundling, see lib/gateway-function.ts):
 *   <out>/action-check.mjs   POST /v1/actions/check (functions/gateway/action-check.ts), imported
 *                            by action-route.ts on the first check, never at init
 * Usage: node --import tsx functions/gateway/build-action-check.ts <out dir>
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

export async function buildActionCheck(outDir: string): Promise<void> {
  await esbuild.build({
    entryPoints: [fileURLToPath(new URL('./action-check.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    outfile: join(outDir, 'action-check.mjs'),
    logLevel: 'warning',
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write('usage: build-action-check.ts <out dir>\n');
    process.exit(2);
  }
  await buildActionCheck(out);
}
