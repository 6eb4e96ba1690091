// Entry of the lazily loaded yaml module (functions/rego/lazy/load.ts).
export { parse, parseDocument, stringify } from 'yaml';
