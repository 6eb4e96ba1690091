/**
 * The gateway's own esbuild step: the handler bundled with code splitting, so that what is
 * loaded through dynamic `import()` (AWS SDK clients off the hot path and their credential
 * providers, ioredis, the intent scorer's clients, …) lands in chunks beside `index.mjs`
 * that are evaluated only on first use, not at Lambda init.
 *
 * NodejsFunction bundles into a single `--outfile`, which esbuild cannot combine with
 * `--splitting`; BundledFunction (`splitting: true`) therefore runs this as its first
 * afterBundling step, replacing that file with the split build in the same directory and
 * with the same options (ESM, node24, minified, source maps without sources, the require banner).
 *
 * Usage: node --import tsx lib/split-bundle.ts <entry.ts> <out dir>
 */
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Bundled CommonJS dependencies call require(); give the ESM bundle (and every chunk) one. */
export const REQUIRE_BANNER = "import { createRequire as __sluiceCreateRequire } from 'node:module'; const require = __sluiceCreateRequire(import.meta.url);";

export async function splitBundle(entry: string, outDir: string): Promise<import('esbuild').Metafile> {
  const esbuild = await import('esbuild');
  for (const f of readdirSync(outDir)) if (/\.mjs(\.map)?$/.test(f)) rmSync(join(outDir, f));
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    mainFields: ['module', 'main'],
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    outdir: outDir,
    entryNames: 'index',
    chunkNames: '[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    banner: { js: REQUIRE_BANNER },
    metafile: true,
    logLevel: 'warning',
  });
  return result.metafile;
}

export interface InitCode {
  /** Bytes of `index.mjs` and every chunk it imports statically: the code evaluated at init. */
  initBytes: number;
  initFiles: string[];
  /** Chunks reached only through dynamic import() (or not at all from index.mjs), loaded on first use. */
  lazy: { file: string; bytes: number }[];
}

/** Static imports of a minified ESM chunk: `import…from"./x.mjs"` and `import"./x.mjs"`, not `import("./x.mjs")`. */
function staticImports(code: string): string[] {
  const out: string[] = [];
  for (const m of code.matchAll(/(?:\bfrom|\bimport)\s*["']\.\/([^"']+\.mjs)["']/g)) out.push(m[1]!);
  return out;
}

/** What of a bundle directory is evaluated at init (from `index.mjs` through static imports), and what is lazy. */
export function initCode(dir: string, entry = 'index.mjs'): InitCode {
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    queue.push(...staticImports(readFileSync(join(dir, file), 'utf8')));
  }
  const initFiles = [...seen];
  const initBytes = initFiles.reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  const lazy = readdirSync(dir)
    .filter((f) => f.endsWith('.mjs') && !seen.has(f))
    .map((file) => ({ file, bytes: statSync(join(dir, file)).size }))
    .sort((a, b) => b.bytes - a.bytes);
  return { initBytes, initFiles, lazy };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [entry, out] = process.argv.slice(2);
  if (!entry || !out) {
    process.stderr.write('usage: split-bundle.ts <entry.ts> <out dir>\n');
    process.exit(2);
  }
  splitBundle(entry, out).catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
