import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The console's static files (index.html, console.js, console.css): from `static/` beside
 * this module when it runs as the deployed bundle (build.ts wrote them there after
 * bundling), else built from the sources in console/ with esbuild on the first request
 * (the local runtime, running from source). Held in memory once loaded: a few tens of KiB.
 */
export interface Asset {
  contentType: string;
  body: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

let loaded: Promise<Map<string, Asset>> | undefined;

export function consoleAssets(): Promise<Map<string, Asset>> {
  loaded ??= load();
  loaded.catch(() => {
    loaded = undefined;
  });
  return loaded;
}

async function load(): Promise<Map<string, Asset>> {
  const beside = fileURLToPath(new URL('./static/', import.meta.url));
  if (existsSync(beside)) {
    const out = new Map<string, Asset>();
    for (const name of await readdir(beside)) {
      const type = TYPES[extname(name)];
      if (type) out.set(name, { contentType: type, body: await readFile(join(beside, name), 'utf8') });
    }
    return out;
  }
  return buildConsoleAssets();
}

/** The console's sources: console/ at the repository root. */
export const CONSOLE_SOURCE_DIR = fileURLToPath(new URL('../../console/', import.meta.url));

/** Builds the frontend with esbuild (a dev dependency: never loaded in Lambda, where the files are prebuilt). */
export async function buildConsoleAssets(sourceDir = CONSOLE_SOURCE_DIR): Promise<Map<string, Asset>> {
  const specifier = 'esbuild'; // a variable: the console bundle must not pull esbuild in
  const esbuild = (await import(specifier)) as typeof import('esbuild');
  const result = await esbuild.build({
    entryPoints: [join(sourceDir, 'main.ts'), join(sourceDir, 'console.css')],
    bundle: true,
    minify: true,
    write: false,
    format: 'iife',
    target: 'es2022',
    outdir: '/out',
    entryNames: '[name]',
    logLevel: 'silent',
  });
  const out = new Map<string, Asset>();
  for (const file of result.outputFiles) {
    const name = file.path.slice(file.path.lastIndexOf('/') + 1).replace(/^main\.js$/, 'console.js');
    out.set(name, { contentType: TYPES[extname(name)]!, body: file.text });
  }
  out.set('index.html', { contentType: TYPES['.html']!, body: await readFile(join(sourceDir, 'index.html'), 'utf8') });
  return out;
}
