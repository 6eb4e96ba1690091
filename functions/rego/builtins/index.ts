/** The builtin registry: every builtin this engine implements, plus the names it refuses or lacks. */
import { aggregateBuiltins } from './aggregates.js';
import { collectionBuiltins } from './collections.js';
import { documentBuiltins } from './documents.js';
import { encodingBuiltins } from './encoding.js';
import { globBuiltins } from './glob.js';
import { graphqlBuiltins } from './graphql.js';
import { hostBuiltins } from './host.js';
import { jsonBuiltins } from './json.js';
import { jsonSchemaBuiltins } from './jsonschema.js';
import { jwtBuiltins } from './jwt.js';
import { miscBuiltins } from './misc.js';
import { netBuiltins } from './net.js';
import { numberBuiltins } from './numbers.js';
import { purlBuiltins } from './purl.js';
import { regexBuiltins } from './regex.js';
import { stringBuiltins } from './strings.js';
import { semverBuiltins } from './semver.js';
import { templateBuiltins } from './template.js';
import { timeBuiltins } from './time.js';
import { typeBuiltins } from './typeops.js';
import { unitBuiltins } from './units.js';
import { x509Builtins } from './x509.js';
import type { BuiltinDef } from './types.js';

export type { BuiltinContext, BuiltinDef, TypeSpec } from './types.js';
export { BuiltinError } from './types.js';

const all: ReadonlyArray<readonly BuiltinDef[]> = [numberBuiltins, aggregateBuiltins, collectionBuiltins, typeBuiltins, stringBuiltins, regexBuiltins, globBuiltins, jsonBuiltins, encodingBuiltins, timeBuiltins, netBuiltins, unitBuiltins, semverBuiltins, miscBuiltins, documentBuiltins, jwtBuiltins, jsonSchemaBuiltins, templateBuiltins, hostBuiltins, purlBuiltins, graphqlBuiltins, x509Builtins];

function register(groups: ReadonlyArray<readonly BuiltinDef[]>): Map<string, BuiltinDef> {
  const map = new Map<string, BuiltinDef>();
  for (const group of groups) {
    for (const b of group) {
      if (map.has(b.name)) throw new Error(`builtin ${b.name} registered twice`);
      map.set(b.name, b);
    }
  }
  return map;
}

export const builtins: ReadonlyMap<string, BuiltinDef> = register(all);

/**
 * Builtins OPA marks deprecated. Rego v1 rejects calls to them at compile time with
 * `rego_type_error: deprecated built-in function calls in expression: <name>`; the
 * implementations stay registered for callers that accept them.
 */
export const deprecatedBuiltins: ReadonlySet<string> = new Set([
  'any',
  'all',
  're_match',
  'set_diff',
  'net.cidr_overlap',
  'cast_array',
  'cast_set',
  'cast_string',
  'cast_boolean',
  'cast_null',
  'cast_object',
]);

/**
 * Builtins refused by design (the compiler rejects them): they read policy sources or
 * metadata the gateway does not keep, or sign requests with credentials. http.send,
 * net.lookup_ip_addr and opa.runtime exist but never leave the process (host.ts).
 */
export const refusedBuiltins: ReadonlySet<string> = new Set([
  'providers.aws.sign_req',
  'rego.parse_module',
  'rego.metadata.chain',
  'rego.metadata.rule',
]);

/** OPA builtins not implemented yet (part 2 of the engine); the conformance runner skips cases needing them. */
export const laterBuiltins: ReadonlySet<string> = new Set([
]);
