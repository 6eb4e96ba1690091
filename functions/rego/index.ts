/** Sluice's Rego engine: compile Rego v1 source once, evaluate it in-process against input and data. */
export { compilePolicy, CompiledPolicy, DEFAULT_COMPILE_BUDGET_MS, DEFAULT_EVAL_BUDGET_MS } from './policy.js';
export type { CompileOptions, EvalOptions, PolicySource, QueryResult, ValueEvalOptions } from './policy.js';
export { RegoCompileError, RegoError, RegoEvalError, RegoParseError } from './errors.js';
export type { Location } from './errors.js';
export { compile, entrypointPath } from './wasm/compile.js';
export type { Policy, PolicyCompileOptions, PolicyEvalOptions, PolicyUpload } from './wasm/compile.js';
