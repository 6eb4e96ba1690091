/**
 * graphql.*: OPA's GraphQL builtins (topdown/graphql.go) over Sluice's own gqlparser-faithful
 * parser and validator (graphql-parser.ts, graphql-validate.ts). Results are gqlparser's AST
 * as OPA returns it: Go field names, `Position` and empty fields pruned. Error texts are
 * OPA's: "<msg> in GraphQL string at location L:C" for parse errors, "<msg without its
 * final period> in GraphQL query string at location L:C" for validation errors.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { fromJSON, RObject, toJSON, typeName, type Value } from '../value.js';
import type * as Impl from './graphql-impl.ts';
import type { Node, Schema } from './graphql-impl.ts';
import { builtinError, def, str } from './operands.js';
import { BuiltinError, type BuiltinDef } from './types.js';

let impl: typeof Impl | undefined;

/**
 * The parser and validator, loaded synchronously on the first graphql.* call (builtins are
 * synchronous): `rego-graphql.mjs` beside the deployed bundle, else the source module, which
 * Node 24 loads with its built-in type stripping. Specifiers are variables, so no bundler
 * follows them into the gateway bundle.
 */
function gql(): typeof Impl {
  if (impl !== undefined) return impl;
  const beside = new URL('./rego-graphql.mjs', import.meta.url);
  const specifier = existsSync(beside) ? fileURLToPath(beside) : fileURLToPath(new URL('./graphql-impl.ts', import.meta.url));
  impl = createRequire(import.meta.url)(specifier) as typeof Impl;
  return impl;
}

/** OPA's pruneIrrelevantGraphQLASTNodes: drops `Position`, nulls, and empty arrays and objects (after pruning). */
function prune(x: unknown): Value | undefined {
  if (x === null || x === undefined) return undefined;
  if (Array.isArray(x)) {
    const out: Value[] = [];
    for (const e of x) {
      const v = prune(e);
      if (v !== undefined) out.push(v);
    }
    return out.length > 0 ? out : undefined;
  }
  if (typeof x === 'object') {
    const o = new RObject();
    let n = 0;
    for (const [k, e] of Object.entries(x as Record<string, unknown>)) {
      if (k === 'Position') continue;
      const v = prune(e);
      if (v !== undefined) {
        o.set(k, v);
        n++;
      }
    }
    return n > 0 ? o : undefined;
  }
  return fromJSON(x);
}

const ast = (doc: Node): Value => prune(doc) ?? new RObject();

function located(err: { message: string; line: number; column: number }, where: string): string {
  return `${err.message} in ${where} at location ${err.line}:${err.column}`;
}

/** A document operand: parsed from a string, or taken as an AST object (as OPA unmarshals one). */
function document(name: string, v: Value, pos: number, parse: (s: string) => Node): Node {
  if (typeof v === 'string') {
    try {
      return parse(v);
    } catch (err) {
      if (err instanceof gql().GraphQLSyntaxError) throw builtinError(name, located(err, 'GraphQL string'));
      throw err;
    }
  }
  if (v instanceof RObject) return toJSON(v) as Node;
  // OPA numbers these operands from 0 here (builtins.NewOperandTypeErr(0, …)).
  throw new BuiltinError(`${name}: operand ${pos} must be one of {string, object} but got ${typeName(v)}`, 'eval_type_error');
}

/** Built schemas of recent schema strings: policies pass the same schema text on every call. */
const schemaCache = new Map<string, Schema>();
const SCHEMA_CACHE_SIZE = 16;

function schemaOf(name: string, doc: Node, key: string | undefined): Schema {
  const hit = key !== undefined ? schemaCache.get(key) : undefined;
  if (hit !== undefined) return hit;
  let schema: Schema;
  try {
    schema = gql().buildSchema(doc);
  } catch (err) {
    if (err instanceof gql().GraphQLValidationError) {
      const at = err.line > 0 ? `input:${err.line}:${err.column}` : 'input';
      throw builtinError(name, `Error in gqlparser SchemaDocument to Schema conversion: ${at}: ${err.message}`);
    }
    throw err;
  }
  if (key !== undefined) {
    if (schemaCache.size >= SCHEMA_CACHE_SIZE) schemaCache.delete(schemaCache.keys().next().value!);
    schemaCache.set(key, schema);
  }
  return schema;
}

/** Parses and validates; throws OPA's builtin errors. */
function parseAndValidate(name: string, args: readonly Value[]): [Value, Value] {
  const query = document(name, args[0]!, 0, gql().parseQuery);
  const schemaDoc = document(name, args[1]!, 1, gql().parseSchema);
  const queryAST = ast(query);
  const schemaAST = ast(schemaDoc);
  const schema = schemaOf(name, schemaDoc, typeof args[1] === 'string' ? args[1] : undefined);
  try {
    gql().validateQuery(schema, query);
  } catch (err) {
    if (err instanceof gql().GraphQLValidationError) {
      const message = err.message.endsWith('.') ? err.message.slice(0, -1) : err.message;
      throw builtinError(name, `${message} in GraphQL query string at location ${err.line}:${err.column}`);
    }
    throw err;
  }
  return [queryAST, schemaAST];
}

/** Runs fn; OPA's builtin and type errors become `fallback`, as OPA's boolean variants answer. */
function orElse<T extends Value>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof BuiltinError) return fallback;
    throw err;
  }
}

export const graphqlBuiltins: readonly BuiltinDef[] = [
  def('graphql.parse_query', ['string'], 'object', (args) => ast(document('graphql.parse_query', str('graphql.parse_query', args, 0), 1, (q) => gql().parseQuery(q)))),
  def('graphql.parse_schema', ['string'], 'object', (args) => ast(document('graphql.parse_schema', str('graphql.parse_schema', args, 0), 1, (q) => gql().parseSchema(q)))),
  def('graphql.parse', ['string|object', 'string|object'], 'array', (args) => parseAndValidate('graphql.parse', args)),
  def('graphql.parse_and_verify', ['string|object', 'string|object'], 'array', (args) =>
    orElse((): Value[] => [true, ...parseAndValidate('graphql.parse_and_verify', args)], [false, new RObject(), new RObject()]),
  ),
  def('graphql.is_valid', ['string|object', 'string|object'], 'boolean', (args) =>
    orElse(() => {
      parseAndValidate('graphql.is_valid', args);
      return true;
    }, false),
  ),
  def('graphql.schema_is_valid', ['string|object'], 'boolean', (args) =>
    orElse(() => {
      const doc = document('graphql.schema_is_valid', args[0]!, 0, (q) => gql().parseSchema(q));
      schemaOf('graphql.schema_is_valid', doc, typeof args[0] === 'string' ? args[0] : undefined);
      return true;
    }, false),
  ),
];
