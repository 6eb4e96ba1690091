/**
 * crypto.x509.* and crypto.parse_private_keys: signatures only; the parser and builtins
 * (x509-builtins.ts) load on the first call (lazy.ts), from `rego-x509.mjs` beside the
 * deployed bundle.
 */
import { lazyBuiltins } from './lazy.js';

export const x509Builtins = lazyBuiltins('rego-x509.mjs', 'x509-entry.ts', [
  ['crypto.x509.parse_certificates', ['string'], 'array'],
  ['crypto.x509.parse_and_verify_certificates', ['string'], 'array'],
  ['crypto.x509.parse_and_verify_certificates_with_options', ['string', 'object'], 'array'],
  ['crypto.x509.parse_certificate_request', ['string'], 'object'],
  ['crypto.x509.parse_keypair', ['string', 'string'], 'object'],
  ['crypto.parse_private_keys', ['string'], 'array'],
]);
