/**
 * Builds the Rego engine's lazily loaded modules beside a gateway bundle (run after bundling,
 * see lib/gateway-function.ts):
 *   <out>/rego-graphql.mjs   the GraphQL parser, validator and builtins behind graphql.* and
 *   <out>/rego-x509.mjs      the certificate and key parsing behind crypto.x509.* (both loaded
 *                            on their first call by functions/rego/builtins/lazy.ts)
 *   <out>/rego-yaml.mjs      yaml (yaml.* builtins, bundle data.yaml) and
 *   <out>/rego-opa-wasm.mjs  opa-wasm (wasm policies): functions/rego/lazy/load.ts
 * Usage: node --import tsx functions/rego/build-lazy.ts <out dir>
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const LAZY: Record<string, string> = {
  'rego-graphql.mjs': './builtins/graphql-impl.ts',
  'rego-x509.mjs': './builtins/x509-entry.ts',
  'rego-yaml.mjs': './lazy/yaml-entry.ts',
  'rego-opa-wasm.mjs': './lazy/opa-wasm-entry.ts',
};

export async function buildLazyRego(outDir: string): Promise<void> {
  for (const [out, entry] of Object.entries(LAZY)) {
    await esbuild.build({
      entryPoints: [fileURLToPath(new URL(entry, import.meta.url))],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      minify: true,
      outfile: join(outDir, out),
      // Bundled CommonJS code (yaml, opa-wasm) calls require() for Node builtins; give the module one.
      banner: { js: "import { createRequire as __sluiceCreateRequire } from 'node:module'; const require = __sluiceCreateRequire(import.meta.url);" },
      logLevel: 'warning',
    });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write('usage: build-lazy.ts <out dir>\n');
    process.exit(2);
  }
  await buildLazyRego(out);
}
