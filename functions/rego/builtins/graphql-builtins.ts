/**
 * graphql.*: OPA's GraphQL builtins (topdown/graphql.go) over the gqlparser-faithful parser and
 * validator. Results are gqlparser's AST as OPA returns it: Go field names, `Position` and empty
 * fields pruned. Error texts are OPA's: "<msg> in GraphQL string at location L:C" for parse
 * errors, "<msg without its final period> in GraphQL query string at location L:C" for
 * validation errors. Loaded on first use (lazy.ts); values are built through `host`.
 */
import type { Value } from '../value.js';
import type { Host, LazyBuiltin } from './lazy.js';
import type { BuiltinContext } from './types.js';
import { GraphQLSyntaxError } from './graphql-lexer.ts';
import { parseQuery, parseSchema, type Node } from './graphql-parser.ts';
import { buildSchema, GraphQLValidationError, validateQuery, type Schema } from './graphql-validate.ts';

/** OPA's pruneIrrelevantGraphQLASTNodes: drops `Position`, nulls, and empty arrays and objects (after pruning). */
function prune(x: unknown): unknown {
  if (x === null || x === undefined) return undefined;
  if (Array.isArray(x)) {
    const out = x.map(prune).filter((v) => v !== undefined);
    return out.length > 0 ? out : undefined;
  }
  if (typeof x === 'object') {
    const out: Record<string, unknown> = {};
    let n = 0;
    for (const [k, e] of Object.entries(x as Record<string, unknown>)) {
      const v = k === 'Position' ? undefined : prune(e);
      if (v !== undefined) {
        out[k] = v;
        n++;
      }
    }
    return n > 0 ? out : undefined;
  }
  return x;
}

const ast = (h: Host, doc: Node): Value => h.fromJSON(prune(doc) ?? {});

const located = (err: { message: string; line: number; column: number }, where: string): string => `${err.message} in ${where} at location ${err.line}:${err.column}`;

/** A document operand: parsed from a string, or taken as an AST object (as OPA unmarshals one). */
function document(h: Host, name: string, v: Value, pos: number, parse: (s: string) => Node): Node {
  if (typeof v === 'string') {
    try {
      return parse(v);
    } catch (err) {
      if (err instanceof GraphQLSyntaxError) throw h.builtinError(name, located(err, 'GraphQL string'));
      throw err;
    }
  }
  if (v instanceof h.RObject) return h.toJSON(v) as Node;
  // OPA numbers these operands from 0 (builtins.NewOperandTypeErr(0, …)).
  throw new h.BuiltinError(`${name}: operand ${pos} must be one of {string, object} but got ${h.typeName(v)}`, 'eval_type_error');
}

/** Built schemas of recent schema strings: policies pass the same schema text on every call. */
const schemaCache = new Map<string, Schema>();
const SCHEMA_CACHE_SIZE = 16;

function schemaOf(h: Host, name: string, doc: Node, key: string | undefined): Schema {
  const hit = key !== undefined ? schemaCache.get(key) : undefined;
  if (hit !== undefined) return hit;
  let schema: Schema;
  try {
    schema = buildSchema(doc);
  } catch (err) {
    if (err instanceof GraphQLValidationError) {
      const at = err.line > 0 ? `input:${err.line}:${err.column}` : 'input';
      throw h.builtinError(name, `Error in gqlparser SchemaDocument to Schema conversion: ${at}: ${err.message}`);
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
function parseAndValidate(h: Host, name: string, args: readonly Value[], ctx: BuiltinContext): [Value, Value] {
  const query = document(h, name, args[0]!, 0, parseQuery);
  const schemaDoc = document(h, name, args[1]!, 1, parseSchema);
  const result: [Value, Value] = [ast(h, query), ast(h, schemaDoc)];
  const schema = schemaOf(h, name, schemaDoc, typeof args[1] === 'string' ? args[1] : undefined);
  try {
    validateQuery(schema, query, () => ctx.checkDeadline());
  } catch (err) {
    if (err instanceof GraphQLValidationError) {
      const message = err.message.endsWith('.') ? err.message.slice(0, -1) : err.message;
      throw h.builtinError(name, `${message} in GraphQL query string at location ${err.line}:${err.column}`);
    }
    throw err;
  }
  return result;
}

/** Runs fn; OPA's builtin and type errors become `fallback`, as OPA's boolean variants answer. */
function orElse(h: Host, fn: () => Value, fallback: Value): Value {
  try {
    return fn();
  } catch (err) {
    if (err instanceof h.BuiltinError) return fallback;
    throw err;
  }
}

function str(h: Host, name: string, v: Value): string {
  if (typeof v !== 'string') throw h.typeError(name, 1, v, 'string');
  return v;
}

export const builtins: Record<string, LazyBuiltin> = {
  'graphql.parse_query': (args, _ctx, h) => ast(h, document(h, 'graphql.parse_query', str(h, 'graphql.parse_query', args[0]!), 1, parseQuery)),
  'graphql.parse_schema': (args, _ctx, h) => ast(h, document(h, 'graphql.parse_schema', str(h, 'graphql.parse_schema', args[0]!), 1, parseSchema)),
  'graphql.parse': (args, ctx, h) => parseAndValidate(h, 'graphql.parse', args, ctx),
  'graphql.parse_and_verify': (args, ctx, h) => orElse(h, () => [true, ...parseAndValidate(h, 'graphql.parse_and_verify', args, ctx)], [false, new h.RObject(), new h.RObject()]),
  'graphql.is_valid': (args, ctx, h) =>
    orElse(
      h,
      () => {
        parseAndValidate(h, 'graphql.is_valid', args, ctx);
        return true;
      },
      false,
    ),
  'graphql.schema_is_valid': (args, _ctx, h) =>
    orElse(
      h,
      () => {
        const doc = document(h, 'graphql.schema_is_valid', args[0]!, 0, parseSchema);
        schemaOf(h, 'graphql.schema_is_valid', doc, typeof args[0] === 'string' ? args[0] : undefined);
        return true;
      },
      false,
    ),
};
