/**
 * Builds the Rego engine's lazily loaded modules beside a gateway bundle (run after bundling,
 * see lib/gateway-function.ts):
 *   <out>/rego-graphql.mjs   the GraphQL parser and validator behind graphql.* (loaded on the
 *                            first graphql.* call by functions/rego/builtins/graphql.ts)
 * Usage: node --import tsx functions/rego/build-lazy.ts <out dir>
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

export async function buildLazyRego(outDir: string): Promise<void> {
  await esbuild.build({
    entryPoints: [fileURLToPath(new URL('./builtins/graphql-impl.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    outfile: join(outDir, 'rego-graphql.mjs'),
    logLevel: 'warning',
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write('usage: build-lazy.ts <out dir>\n');
    process.exit(2);
  }
  await buildLazyRego(out);
}
