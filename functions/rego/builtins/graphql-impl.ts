/**
 * The GraphQL parser and validator behind graphql.*, as one module loaded on the first call
 * (lazy.ts): kept out of the gateway bundle, whose init it would otherwise cost. Its files
 * import each other with `.ts` extensions and use only erasable TypeScript, so Node loads the
 * source as it is; the deployed artifact carries it pre-built beside the bundle
 * (`rego-graphql.mjs`, lib/gateway-function.ts).
 */
export { GraphQLSyntaxError } from './graphql-lexer.ts';
export { parseQuery, parseSchema } from './graphql-parser.ts';
export type { Node } from './graphql-parser.ts';
export { buildSchema, GraphQLValidationError, validateQuery } from './graphql-validate.ts';
export type { Schema } from './graphql-validate.ts';
export { builtins } from './graphql-builtins.ts';
