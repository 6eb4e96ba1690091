/**
 * graphql.*: signatures only; the parser, validator and builtins (graphql-builtins.ts) load on
 * the first call (lazy.ts), from `rego-graphql.mjs` beside the deployed bundle.
 */
import { lazyBuiltins } from './lazy.js';

const DOC = 'string|object';

export const graphqlBuiltins = lazyBuiltins('rego-graphql.mjs', 'graphql-impl.ts', [
  ['graphql.parse_query', ['string'], 'object'],
  ['graphql.parse_schema', ['string'], 'object'],
  ['graphql.parse', [DOC, DOC], 'array'],
  ['graphql.parse_and_verify', [DOC, DOC], 'array'],
  ['graphql.is_valid', [DOC, DOC], 'boolean'],
  ['graphql.schema_is_valid', [DOC], 'boolean'],
]);
