/**
 * Builtin families loaded on their first call, so that rarely used code (graphql.*,
 * crypto.x509.*) is neither in the gateway bundle nor evaluated at Lambda init. The registry
 * holds only their signatures; the first call loads the family's module synchronously
 * (builtins are synchronous): `<bundled>` beside the deployed bundle or one folder up (the
 * console's server module lives in console/; both built by functions/rego/build-lazy.ts), else
 * the `<source>` module, which Node 24 loads with its built-in type stripping. Specifiers are
 * computed, so no bundler follows them.
 *
 * The module exports `builtins`, one function per name, and receives the engine's value
 * helpers as `host` (it imports nothing from the engine at run time).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { fromJSON, RNumber, RObject, RSet, toJSON, typeName, type Value } from '../value.js';
import { CorruptInput, decodeBase64Std } from './encoding.js';
import { builtinError, typeError } from './operands.js';
import { BuiltinError, type BuiltinContext, type BuiltinDef, type TypeSpec } from './types.js';

export const host = { fromJSON, toJSON, typeName, RNumber, RObject, RSet, BuiltinError, builtinError, typeError, CorruptInput, decodeBase64Std };
export type Host = typeof host;
export type LazyBuiltin = (args: readonly Value[], ctx: BuiltinContext, host: Host) => Value | undefined;
export type Signature = readonly [name: string, args: readonly TypeSpec[], result: TypeSpec];

export function lazyBuiltins(bundled: string, source: string, signatures: readonly Signature[]): BuiltinDef[] {
  let fns: Record<string, LazyBuiltin> | undefined;
  const load = (): Record<string, LazyBuiltin> => {
    if (fns !== undefined) return fns;
    // Beside this module (the gateway bundle), one folder up (console/serve.mjs, built beside it), else the source.
    const candidates = [`./${bundled}`, `../${bundled}`, `./${source}`].map((c) => new URL(c, import.meta.url));
    const found = candidates.find((u) => existsSync(u));
    if (found === undefined) throw new Error(`${bundled} is missing beside ${fileURLToPath(import.meta.url)} (functions/rego/build-lazy.ts builds it)`);
    const file = fileURLToPath(found);
    fns = (createRequire(import.meta.url)(file) as { builtins: Record<string, LazyBuiltin> }).builtins;
    return fns;
  };
  return signatures.map(([name, args, result]) => ({ name, args, result, fn: (a, ctx) => load()[name]!(a, ctx, host) }));
}
