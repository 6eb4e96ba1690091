// Entry of the lazily loaded opa-wasm module (functions/rego/lazy/load.ts).
import * as opaWasm from '@open-policy-agent/opa-wasm';

// The package's ESM entry carries loadPolicySync only on its default export (its types claim a named one).
export const loadPolicySync = (opaWasm as unknown as { default: typeof opaWasm }).default.loadPolicySync;
