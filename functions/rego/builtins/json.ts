/** json.* and yaml.is_valid/unmarshal builtins. */
import { yamlModule } from '../lazy/load.js';
import { RObject, RSet, compareStrings, fromJSON, parseJSON, quoteJSON, toJSON, toJSONText, type Value } from '../value.js';
import { builtinError, def, object, operandError, str } from './operands.js';
import type { BuiltinDef } from './types.js';

/** Go-like error text for malformed JSON (encoding/json's wording for the common cases). */
export function jsonErrorText(text: string, e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const m = /position (\d+)/.exec(msg);
  const tok = /Unexpected token '(.)'/.exec(msg);
  if (!m && tok) return `invalid character '${tok[1]}' looking for beginning of value`;
  const pos = m ? Number(m[1]) : text.length;
  if (/end of (JSON )?input|Unterminated/i.test(msg) || pos >= text.trimEnd().length) return 'unexpected end of JSON input';
  const ch = text[pos] ?? '';
  return `invalid character '${ch}' looking for beginning of value`;
}

/** json.MarshalIndent layout: prefix on every line but the first, keys sorted, ": " separators. */
function marshalIndent(v: Value, prefix: string, indent: string, depth: number): string {
  const nl = (d: number): string => `\n${prefix}${indent.repeat(d)}`;
  if (Array.isArray(v) || v instanceof RSet) {
    const items = Array.isArray(v) ? v : [...v.sorted()];
    if (items.length === 0) return '[]';
    return `[${items.map((e) => nl(depth + 1) + marshalIndent(e, prefix, indent, depth + 1)).join(',')}${nl(depth)}]`;
  }
  if (v instanceof RObject) {
    if (v.size === 0) return '{}';
    const entries = [...v.entries()].map(([k, x]) => [typeof k === 'string' ? k : toJSONText(k), x] as const);
    entries.sort((a, b) => compareStrings(a[0], b[0]));
    return `{${entries.map(([k, x]) => `${nl(depth + 1)}${quoteJSON(k, true)}: ${marshalIndent(x, prefix, indent, depth + 1)}`).join(',')}${nl(depth)}}`;
  }
  return toJSONText(v, true);
}

function marshalWithOptions(v: Value, opts: RObject): string {
  let pretty = false;
  let prefix = '';
  let indent = '\t';
  let customized = false;
  for (const [k, x] of opts) {
    if (k === 'pretty') {
      if (typeof x !== 'boolean') throw operandError('json.marshal_with_options', 2, '"pretty" field must be a boolean');
      pretty = x;
    } else if (k === 'indent') {
      if (typeof x !== 'string') throw operandError('json.marshal_with_options', 2, '"indent" field must be a string');
      indent = x;
      customized = true;
    } else if (k === 'prefix') {
      if (typeof x !== 'string') throw operandError('json.marshal_with_options', 2, '"prefix" field must be a string');
      prefix = x;
      customized = true;
    } else {
      throw operandError('json.marshal_with_options', 2, 'object operand must only contain "pretty", "indent" and "prefix" keys');
    }
  }
  // OPA pretty-prints when asked, or when an indent/prefix is given and pretty is not set to false.
  const explicitPretty = opts.has('pretty');
  if ((explicitPretty && !pretty) || (!explicitPretty && !customized)) return toJSONText(v, true);
  return marshalIndent(v, prefix, indent, 0);
}

// YAML 1.1 as Go's yaml.v2 (via sigs.k8s.io/yaml) reads it: yes/no/on/off are booleans.
function yamlToValue(text: string): Value {
  const doc = yamlModule().parseDocument(text, { uniqueKeys: false, version: '1.1' });
  if (doc.errors.length > 0) throw new Error(doc.errors[0]!.message);
  return fromJSON(doc.toJS({ maxAliasCount: 100 }));
}

export const jsonBuiltins: readonly BuiltinDef[] = [
  def('json.marshal', ['any'], 'string', (args) => toJSONText(args[0]!, true)),
  def('json.marshal_with_options', ['any', 'object'], 'string', (args) => marshalWithOptions(args[0]!, object('json.marshal_with_options', args, 1))),
  def('json.unmarshal', ['string'], 'any', (args) => {
    const text = str('json.unmarshal', args, 0);
    try {
      return parseJSON(text);
    } catch (e) {
      throw builtinError('json.unmarshal', jsonErrorText(text, e));
    }
  }),
  def('json.is_valid', ['any'], 'boolean', (args) => {
    const text = args[0]!;
    if (typeof text !== 'string') return false;
    try {
      JSON.parse(text);
      return true;
    } catch {
      return false;
    }
  }),
  def('yaml.is_valid', ['any'], 'boolean', (args) => {
    const text = args[0]!;
    if (typeof text !== 'string') return false;
    try {
      yamlToValue(text);
      return true;
    } catch {
      return false;
    }
  }),
  def('yaml.marshal', ['any'], 'string', (args) =>
    // Block style, sorted keys, unindented sequences under keys, as Go's yaml.v2 writes them.
    yamlModule().stringify(toJSON(args[0]!), { version: '1.1', indentSeq: false, sortMapEntries: true, lineWidth: 0 }),
  ),
  def('yaml.unmarshal', ['string'], 'any', (args) => {
    const text = str('yaml.unmarshal', args, 0);
    try {
      return yamlToValue(text);
    } catch (e) {
      throw builtinError('yaml.unmarshal', e instanceof Error ? e.message : String(e));
    }
  }),
];

