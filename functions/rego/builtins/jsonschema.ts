/**
 * json.verify_schema and json.match_schema: JSON Schema (draft 4/6/7 keywords) validation with
 * gojsonschema's error types and texts, as OPA reports them. Patterns run on RE2; only local
 * `$ref`s ("#", "#/definitions/x") resolve — remote references are refused (no network).
 */
import { RE2JS } from 're2js';
import { RNumber, RObject, RSet, parseJSON, toJSONText, valuesEqual, type Value } from '../value.js';
import { runeCount } from './aggregates.js';
import { cachedCompile } from './regex.js';
import { parseIP } from './net.js';
import { builtinError, def } from './operands.js';
import { parseRFC3339 } from './time.js';
import type { BuiltinDef } from './types.js';

class SchemaError extends Error {}

function compiledPattern(p: string): RE2JS {
  return cachedCompile(`r:${p}`, () => RE2JS.compile(p));
}

const PRIMITIVES = ['array', 'boolean', 'integer', 'number', 'null', 'object', 'string'];

interface SchemaErrorEntry {
  type: string;
  field: string;
  desc: string;
}

type Path = readonly string[];

function fieldOf(path: Path): string {
  return path.length === 0 ? '(root)' : path.join('.');
}

/** gojsonschema's name of a value's type ("integer" for integral numbers). */
function jsonType(v: Value): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'string') return 'string';
  if (v instanceof RNumber) return v.isInteger() ? 'integer' : 'number';
  if (Array.isArray(v) || v instanceof RSet) return 'array';
  return 'object';
}

function asArray(v: Value): Value[] | undefined {
  if (Array.isArray(v)) return v;
  if (v instanceof RSet) return [...v.sorted()];
  return undefined;
}

function numText(n: RNumber): string {
  return n.canonicalString();
}

/** A Rego value as the loader sees it: strings are JSON texts, objects and arrays are documents. */
function load(v: Value): Value {
  if (typeof v === 'string') {
    try {
      return parseJSON(v);
    } catch {
      throw new SchemaError('invalid JSON string');
    }
  }
  if (v instanceof RObject || Array.isArray(v) || v instanceof RSet) return parseJSON(toJSONText(v));
  throw new SchemaError('wrong type, expected string or object');
}

/** Compile-time checks gojsonschema performs on a schema (types must be known primitives). */
function checkSchema(s: Value, seen = new Set<Value>()): void {
  if (typeof s === 'boolean') return;
  if (!(s instanceof RObject)) throw new SchemaError('Invalid JSON schema: schema must be an object or a boolean');
  if (seen.has(s)) return;
  seen.add(s);
  const t = s.get('type');
  if (t !== undefined) {
    const list = typeof t === 'string' ? [t] : asArray(t);
    if (!list) throw new SchemaError('type must be of type string or array');
    for (const x of list) {
      if (typeof x !== 'string' || !PRIMITIVES.includes(x)) {
        throw new SchemaError(`has a primitive type that is NOT VALID -- given: /${typeof x === 'string' ? x : toJSONText(x)}/ Expected valid values are:[array boolean integer number null object string]`);
      }
    }
  }
  const pattern = s.get('pattern');
  if (typeof pattern === 'string') {
    try {
      RE2JS.compile(pattern);
    } catch {
      throw new SchemaError(`Invalid regex pattern '${pattern}'`);
    }
  }
  for (const key of ['properties', 'patternProperties', 'definitions', '$defs', 'dependencies']) {
    const m = s.get(key);
    if (m instanceof RObject) for (const sub of m.values()) if (sub instanceof RObject || typeof sub === 'boolean') checkSchema(sub, seen);
  }
  for (const key of ['items', 'additionalItems', 'additionalProperties', 'not', 'contains', 'propertyNames', 'if', 'then', 'else']) {
    const sub = s.get(key);
    if (sub instanceof RObject || typeof sub === 'boolean') checkSchema(sub, seen);
    else if (key === 'items' && Array.isArray(sub)) for (const x of sub) checkSchema(x, seen);
  }
  for (const key of ['allOf', 'anyOf', 'oneOf']) {
    const list = s.get(key);
    if (list !== undefined) {
      if (!Array.isArray(list)) throw new SchemaError(`${key} must be of type array`);
      for (const x of list) checkSchema(x, seen);
    }
  }
}

/** Resolves a local reference ("#", "#/definitions/a", with ~0/~1 escapes). */
function resolveRef(root: Value, ref: string): Value {
  if (!ref.startsWith('#')) throw new SchemaError(`remote references are not supported: ${ref}`);
  let cur = root;
  const pointer = ref.slice(1);
  if (pointer === '' || pointer === '/') return cur;
  for (const raw of pointer.replace(/^\//, '').split('/')) {
    const seg = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    if (cur instanceof RObject) cur = cur.get(seg) ?? fail();
    else if (Array.isArray(cur) && /^\d+$/.test(seg)) cur = cur[Number(seg)] ?? fail();
    else fail();
  }
  return cur;
  function fail(): never {
    throw new SchemaError(`Object has no key '${ref}'`);
  }
}

const FORMAT_CHECKS: Record<string, (s: string) => boolean> = {
  'date-time': (s) => {
    try {
      parseRFC3339('format', s);
      return true;
    } catch {
      return false;
    }
  },
  date: (s) => {
    try {
      parseRFC3339('format', `${s}T00:00:00Z`);
      return true;
    } catch {
      return false;
    }
  },
  time: (s) => {
    try {
      parseRFC3339('format', `1970-01-01T${s}`);
      return true;
    } catch {
      return false;
    }
  },
  ipv4: (s) => parseIP(s)?.length === 4 && !s.includes(':'),
  ipv6: (s) => s.includes(':') && parseIP(s) !== undefined,
  email: (s) => /^[^@\s]+@[^@\s]+$/.test(s),
  hostname: (s) => s.length <= 255 && s.split('.').every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l)),
  uuid: (s) => /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(s),
  uri: (s) => /^[A-Za-z][A-Za-z0-9+.-]*:/.test(s),
  regex: (s) => {
    try {
      RE2JS.compile(s);
      return true;
    } catch {
      return false;
    }
  },
};

class Validator {
  readonly errors: SchemaErrorEntry[] = [];
  constructor(private readonly root: Value) {}

  private add(type: string, path: Path, desc: string): void {
    this.errors.push({ type, field: fieldOf(path), desc });
  }

  /** Validates v against s; returns whether it produced no new errors. */
  validate(s: Value, v: Value, path: Path, depth = 0): boolean {
    if (depth > 200) throw new SchemaError('schema recursion too deep');
    const before = this.errors.length;
    if (s === true) return true;
    if (s === false) {
      this.add('false', path, 'False always fails validation');
      return false;
    }
    if (!(s instanceof RObject)) return true;
    const ref = s.get('$ref');
    if (typeof ref === 'string') return this.validate(resolveRef(this.root, ref), v, path, depth + 1);

    const t = s.get('type');
    if (t !== undefined) {
      const types = (typeof t === 'string' ? [t] : (asArray(t) ?? [])) as string[];
      const given = jsonType(v);
      const ok = types.includes(given) || (given === 'integer' && types.includes('number'));
      if (!ok) {
        this.add('invalid_type', path, `Invalid type. Expected: ${types.join(', ')}, given: ${given}`);
        return false;
      }
    }
    this.combinators(s, v, path, depth);
    const cst = s.get('const');
    if (cst !== undefined && !valuesEqual(cst, v)) this.add('const', path, `${fieldOf(path)} does not match: ${toJSONText(cst)}`);
    const en = s.get('enum');
    if (en !== undefined) {
      const options = asArray(en) ?? [];
      if (!options.some((o) => valuesEqual(o, v))) {
        this.add('enum', path, `${fieldOf(path)} must be one of the following: ${options.map((o) => toJSONText(o)).join(', ')}`);
      }
    }
    const arr = asArray(v);
    if (arr) this.array(s, arr, path, depth);
    else if (v instanceof RObject) this.object(s, v, path, depth);
    else if (typeof v === 'string') this.string(s, v, path);
    else if (v instanceof RNumber) this.number(s, v, path);
    return this.errors.length === before;
  }

  /** Validates in isolation, returning the sub-errors without recording them. */
  private trial(s: Value, v: Value, path: Path, depth: number): SchemaErrorEntry[] {
    const sub = new Validator(this.root);
    sub.validate(s, v, path, depth + 1);
    return sub.errors;
  }

  private combinators(s: RObject, v: Value, path: Path, depth: number): void {
    const anyOf = s.get('anyOf');
    if (Array.isArray(anyOf)) {
      const results = anyOf.map((x) => this.trial(x, v, path, depth));
      if (!results.some((r) => r.length === 0)) {
        this.add('number_any_of', path, 'Must validate at least one schema (anyOf)');
        this.errors.push(...closest(results));
      }
    }
    const oneOf = s.get('oneOf');
    if (Array.isArray(oneOf)) {
      const results = oneOf.map((x) => this.trial(x, v, path, depth));
      const valid = results.filter((r) => r.length === 0).length;
      if (valid !== 1) {
        this.add('number_one_of', path, 'Must validate one and only one schema (oneOf)');
        if (valid === 0) this.errors.push(...closest(results));
      }
    }
    const allOf = s.get('allOf');
    if (Array.isArray(allOf)) {
      const failed = allOf.map((x) => this.trial(x, v, path, depth)).filter((r) => r.length > 0);
      if (failed.length > 0) {
        this.add('number_all_of', path, 'Must validate all the schemas (allOf)');
        for (const r of failed) this.errors.push(...r);
      }
    }
    const not = s.get('not');
    if (not !== undefined && this.trial(not, v, path, depth).length === 0) this.add('number_not', path, 'Must not validate the schema (not)');
    const cond = s.get('if');
    if (cond !== undefined) {
      const matched = this.trial(cond, v, path, depth).length === 0;
      const branch = s.get(matched ? 'then' : 'else');
      if (branch !== undefined) {
        const r = this.trial(branch, v, path, depth);
        if (r.length > 0) {
          if (matched) this.add('condition_then', path, 'Must validate "then" as "if" was valid');
          else this.add('condition_else', path, 'Must validate "else" as "if" was not valid');
          this.errors.push(...r);
        }
      }
    }
  }

  private array(s: RObject, a: Value[], path: Path, depth: number): void {
    const items = s.get('items');
    if (Array.isArray(items)) {
      a.forEach((e, i) => {
        if (i < items.length) this.validate(items[i]!, e, [...path, String(i)], depth + 1);
      });
      const extra = s.get('additionalItems');
      if (a.length > items.length) {
        if (extra === false) this.add('array_no_additional_items', path, 'No additional items allowed on array');
        else if (extra instanceof RObject) for (let i = items.length; i < a.length; i++) this.validate(extra, a[i]!, [...path, String(i)], depth + 1);
      }
    } else if (items !== undefined) {
      a.forEach((e, i) => this.validate(items, e, [...path, String(i)], depth + 1));
    }
    const min = s.get('minItems');
    if (min instanceof RNumber && a.length < min.toNumber()) this.add('array_min_items', path, `Array must have at least ${numText(min)} items`);
    const max = s.get('maxItems');
    if (max instanceof RNumber && a.length > max.toNumber()) this.add('array_max_items', path, `Array must have at most ${numText(max)} items`);
    if (s.get('uniqueItems') === true) {
      outer: for (let i = 0; i < a.length; i++) {
        for (let j = i + 1; j < a.length; j++) {
          if (valuesEqual(a[i]!, a[j]!)) {
            this.add('unique', path, `array items[${i},${j}] must be unique`);
            break outer;
          }
        }
      }
    }
    const contains = s.get('contains');
    if (contains !== undefined && !a.some((e, i) => this.trial(contains, e, [...path, String(i)], depth).length === 0)) {
      this.add('contains', path, 'At least one of the items must match');
    }
  }

  private object(s: RObject, o: RObject, path: Path, depth: number): void {
    const max = s.get('maxProperties');
    if (max instanceof RNumber && o.size > max.toNumber()) this.add('array_max_properties', path, `Must have at most ${numText(max)} properties`);
    const min = s.get('minProperties');
    if (min instanceof RNumber && o.size < min.toNumber()) this.add('array_min_properties', path, `Must have at least ${numText(min)} properties`);
    const required = asArray(s.get('required') ?? []) ?? [];
    for (const r of required) if (typeof r === 'string' && !o.has(r)) this.add('required', path, `${r} is required`);
    const props = s.get('properties');
    const patterns = s.get('patternProperties');
    const additional = s.get('additionalProperties');
    for (const [k, v] of o.sortedEntries()) {
      const key = String(k);
      let matched = false;
      if (props instanceof RObject && props.has(key)) {
        matched = true;
        this.validate(props.get(key)!, v, [...path, key], depth + 1);
      }
      if (patterns instanceof RObject) {
        for (const [p, sub] of patterns) {
          if (typeof p === 'string' && compiledPattern(p).test(key)) {
            matched = true;
            this.validate(sub, v, [...path, key], depth + 1);
          }
        }
      }
      if (!matched && additional !== undefined) {
        if (additional === false) this.add('additional_property_not_allowed', path, `Additional property ${key} is not allowed`);
        else if (additional instanceof RObject) this.validate(additional, v, [...path, key], depth + 1);
      }
    }
    const names = s.get('propertyNames');
    if (names !== undefined) {
      for (const k of o.keys()) {
        if (this.trial(names, String(k), path, depth).length > 0) this.add('invalid_property_name', path, `Property name of "${String(k)}" does not match`);
      }
    }
    const deps = s.get('dependencies');
    if (deps instanceof RObject) {
      for (const [k, d] of deps) {
        if (!o.has(k)) continue;
        const list = asArray(d);
        if (list) {
          for (const dep of list) if (typeof dep === 'string' && !o.has(dep)) this.add('missing_dependency', path, `Has a dependency on ${dep}`);
        } else {
          this.validate(d, o, path, depth + 1);
        }
      }
    }
  }

  private string(s: RObject, v: string, path: Path): void {
    const len = runeCount(v);
    const min = s.get('minLength');
    if (min instanceof RNumber && len < min.toNumber()) this.add('string_gte', path, `String length must be greater than or equal to ${numText(min)}`);
    const max = s.get('maxLength');
    if (max instanceof RNumber && len > max.toNumber()) this.add('string_lte', path, `String length must be less than or equal to ${numText(max)}`);
    const pattern = s.get('pattern');
    if (typeof pattern === 'string' && !compiledPattern(pattern).test(v)) this.add('pattern', path, `Does not match pattern '${pattern}'`);
    const format = s.get('format');
    if (typeof format === 'string') {
      const check = FORMAT_CHECKS[format];
      if (check && !check(v)) this.add('format', path, `Does not match format '${format}'`);
    }
  }

  private number(s: RObject, v: RNumber, path: Path): void {
    const multiple = s.get('multipleOf');
    if (multiple instanceof RNumber && multiple.sign() > 0) {
      const q = v.div(multiple);
      if (!q.isInteger()) this.add('multiple_of', path, `Must be a multiple of ${numText(multiple)}`);
    }
    const min = s.get('minimum');
    const exMin = s.get('exclusiveMinimum');
    if (exMin instanceof RNumber && v.compare(exMin) <= 0) this.add('number_gt', path, `Must be greater than ${numText(exMin)}`);
    if (min instanceof RNumber) {
      if (exMin === true ? v.compare(min) <= 0 : v.compare(min) < 0) {
        if (exMin === true) this.add('number_gt', path, `Must be greater than ${numText(min)}`);
        else this.add('number_gte', path, `Must be greater than or equal to ${numText(min)}`);
      }
    }
    const max = s.get('maximum');
    const exMax = s.get('exclusiveMaximum');
    if (exMax instanceof RNumber && v.compare(exMax) >= 0) this.add('number_lt', path, `Must be less than ${numText(exMax)}`);
    if (max instanceof RNumber) {
      if (exMax === true ? v.compare(max) >= 0 : v.compare(max) > 0) {
        if (exMax === true) this.add('number_lt', path, `Must be less than ${numText(max)}`);
        else this.add('number_lte', path, `Must be less than or equal to ${numText(max)}`);
      }
    }
  }
}

/** gojsonschema reports the errors of the alternative that came closest (fewest errors). */
function closest(results: SchemaErrorEntry[][]): SchemaErrorEntry[] {
  let best: SchemaErrorEntry[] | undefined;
  for (const r of results) if (best === undefined || r.length < best.length) best = r;
  return best ?? [];
}

const schemaCache = new Map<string, Value>();

function compiledSchema(raw: Value): Value {
  const key = typeof raw === 'string' ? `s${raw}` : `v${toJSONText(raw)}`;
  const hit = schemaCache.get(key);
  if (hit !== undefined) return hit;
  const schema = load(raw);
  checkSchema(schema);
  if (schemaCache.size >= 100) schemaCache.delete(schemaCache.keys().next().value!);
  schemaCache.set(key, schema);
  return schema;
}

export const jsonSchemaBuiltins: readonly BuiltinDef[] = [
  def('json.verify_schema', ['string|object'], 'array', (args) => {
    try {
      compiledSchema(args[0]!);
      return [true, null];
    } catch (e) {
      if (e instanceof SchemaError) return [false, `jsonschema: ${e.message}`];
      throw e;
    }
  }),
  def('json.match_schema', ['string|object|array', 'string|object'], 'array', (args) => {
    try {
      const doc = load(args[0]!);
      const schema = compiledSchema(args[1]!);
      const v = new Validator(schema);
      v.validate(schema, doc, []);
      const errors: Value[] = v.errors.map((e) =>
        RObject.fromRecord({ error: `${e.field}: ${e.desc}`, type: e.type, field: e.field, desc: e.desc }),
      );
      return [errors.length === 0, errors];
    } catch (e) {
      if (e instanceof SchemaError) throw builtinError('json.match_schema', e.message);
      throw e;
    }
  }),
];

