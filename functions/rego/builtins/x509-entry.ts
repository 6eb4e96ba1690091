/** The module lazy.ts loads for crypto.x509.* (built as rego-x509.mjs beside the deployed bundle). */
export { builtins } from './x509-builtins.ts';
export { pemBlocks } from './x509-impl.ts';
