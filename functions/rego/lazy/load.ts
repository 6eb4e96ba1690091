/**
 * Rarely used dependencies of the Rego engine (yaml, @open-policy-agent/opa-wasm), loaded on
 * first use, so that they are neither evaluated at Lambda init nor counted in the init bundle.
 * The engine is synchronous, so the module is loaded with require(): `<bundled>` beside the
 * deployed bundle (built by functions/rego/build-lazy.ts), else the `<source>` entry next to
 * this file, which re-exports the package (Node 24 loads it with its built-in type stripping).
 * Specifiers are computed, so no bundler follows them.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export function lazyModule<T>(bundled: string, source: string): () => T {
  let mod: T | undefined;
  return () => {
    if (mod !== undefined) return mod;
    // Beside this module (the gateway bundle), one folder up (console/serve.mjs, built beside it), else the source.
    const candidates = [`./${bundled}`, `../${bundled}`, `./${source}`].map((c) => new URL(c, import.meta.url));
    const found = candidates.find((u) => existsSync(u));
    if (found === undefined) throw new Error(`${bundled} is missing beside ${fileURLToPath(import.meta.url)} (functions/rego/build-lazy.ts builds it)`);
    mod = createRequire(import.meta.url)(fileURLToPath(found)) as T;
    return mod;
  };
}

/** yaml (YAML 1.1 reading and writing for yaml.* builtins and bundle data files). */
export const yamlModule = lazyModule<typeof import('./yaml-entry.js')>('rego-yaml.mjs', 'yaml-entry.ts');
/** opa-wasm's loadPolicySync (wasm policies only). */
export const opaWasmModule = lazyModule<typeof import('./opa-wasm-entry.js')>('rego-opa-wasm.mjs', 'opa-wasm-entry.ts');
