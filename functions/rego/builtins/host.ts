/**
 * Builtins that reach outside the policy in OPA: here they exist (so a policy compiles, and
 * `with` can replace them) but never leave the process. Errors come at evaluation, worded as
 * OPA words them when its capabilities allow no host (`allow_net: []`).
 */
import { RObject, num } from '../value.js';
import type { Value } from '../value.js';
import { builtinError, def } from './operands.js';
import type { BuiltinDef } from './types.js';

function hostOf(url: Value | undefined): string {
  if (typeof url !== 'string') return '';
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return '';
  }
}

export const hostBuiltins: readonly BuiltinDef[] = [
  /**
   * No egress from a policy: every request is refused as OPA refuses a host its capabilities
   * do not allow. With `raise_error: false` OPA answers an object instead of an error.
   */
  def('http.send', ['object'], 'object', (args) => {
    const req = args[0] as RObject;
    const message = `unallowed host: ${hostOf(req.get('url'))}`;
    if (req.get('raise_error') === false) {
      const error = new RObject();
      error.set('code', 'eval_http_send_internal_error');
      error.set('message', message);
      const out = new RObject();
      out.set('status_code', num(0));
      out.set('error', error);
      return out;
    }
    throw builtinError('http.send', message);
  }),
  def('net.lookup_ip_addr', ['string'], 'set', (args) => {
    throw builtinError('net.lookup_ip_addr', `unallowed host: ${String(args[0])}`);
  }),
  /** OPA embedded without runtime information answers an empty object; nothing of the host is exposed. */
  def('opa.runtime', [], 'object', () => new RObject()),
];
