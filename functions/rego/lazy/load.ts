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
    const beside = new URL(`./${bundled}`, import.meta.url);
    const file = fileURLToPath(existsSync(beside) ? beside : new URL(`./${source}`, import.meta.url));
    mod = createRequire(import.meta.url)(file) as T;
    return mod;
  };
}

/** yaml (YAML 1.1 reading and writing for yaml.* builtins and bundle data files). */
export const yamlModule = lazyModule<typeof import('./yaml-entry.js')>('rego-yaml.mjs', 'yaml-entry.ts');
/** opa-wasm's loadPolicySync (wasm policies only). */
export const opaWasmModule = lazyModule<typeof import('./opa-wasm-entry.js')>('rego-opa-wasm.mjs', 'opa-wasm-entry.ts');
