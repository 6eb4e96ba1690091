import { badRequest } from '../../upstream/errors.js';
import type { Json } from '../chat.js';

/**
 * JSON Schema (as OpenAI tools and `response_format` carry it) → the OpenAPI-subset
 * `Schema` Gemini takes in `functionDeclarations[].parameters` and `responseSchema`.
 * Gemini refuses any keyword outside that subset with a 400, so every schema is rewritten
 * into it without changing what it accepts where the subset can say it, and with the rest
 * said in the description where it cannot:
 *
 * - `$ref` (to `#`, `#/$defs/…`, `#/definitions/…` or any local JSON pointer) is inlined;
 *   a recursive reference is a 400 (Gemini schemas cannot recurse); remote refs are a 400.
 * - `$schema`, `$id`, `$defs`, `definitions`, `$comment`, `additionalProperties` and the
 *   other keywords Gemini has no field for are dropped (the gateway validates nothing); a
 *   map (`additionalProperties` as a schema) leaves the note "(other keys allowed, with
 *   string values)".
 * - `anyOf` / `oneOf` with a `null` branch → `nullable: true` (one other branch is merged
 *   into the schema; several stay an `anyOf`, `oneOf` read as `anyOf`);
 *   `type: ["string", "null"]` → `type: STRING, nullable: true`; `allOf` branches are merged.
 * - `const` → a one-value `enum` (strings), `minimum` = `maximum` (numbers), a note
 *   otherwise; an `enum` of non-strings (Gemini's enums are strings) becomes a note.
 * - `exclusiveMinimum` / `exclusiveMaximum` → on integers `minimum` = n + 1 / `maximum` =
 *   n − 1 (exact); on numbers the inclusive bound plus a note "(greater than n)".
 * - `format` values Gemini does not accept (it takes `enum` and `date-time` on strings,
 *   `float`/`double`, `int32`/`int64`) → a note; `default`, `examples`, `example`,
 *   `multipleOf`, `uniqueItems` → notes.
 * - `required` names not among `properties` are left out; types are Gemini's
 *   upper-case names (`STRING`, `OBJECT`, …).
 */
export function toGeminiSchema(schema: unknown, where: string): Json {
  return new Sanitizer(schema, where).run();
}

/** Tool parameters: an object without properties is no parameters at all (Gemini refuses an empty OBJECT). */
export function toGeminiParameters(schema: unknown, where: string): Json | undefined {
  if (schema === undefined || schema === null) return undefined;
  const out = toGeminiSchema(schema, where);
  delete out.nullable;
  if (out.type === 'OBJECT' && (!out.properties || Object.keys(out.properties as Json).length === 0)) return undefined;
  return out;
}

const TYPES: Record<string, string> = { string: 'STRING', number: 'NUMBER', integer: 'INTEGER', boolean: 'BOOLEAN', array: 'ARRAY', object: 'OBJECT' };
const FORMATS: Record<string, ReadonlySet<string>> = {
  STRING: new Set(['enum', 'date-time']),
  NUMBER: new Set(['float', 'double']),
  INTEGER: new Set(['int32', 'int64']),
};
/** Keywords carried over as they are. */
const KEPT = ['title', 'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems', 'minProperties', 'maxProperties', 'propertyOrdering'] as const;

class Sanitizer {
  constructor(
    private readonly root: unknown,
    private readonly where: string,
  ) {}

  run(): Json {
    return this.node(this.root, ['#'], '');
  }

  private fail(message: string, path: string): never {
    throw badRequest(`'${this.where}${path ? `.${path}` : ''}': ${message}`, 'invalid_tool_schema', this.where);
  }

  private resolve(ref: string, path: string): unknown {
    if (!ref.startsWith('#')) this.fail(`$ref '${ref}' is not a local reference; Gemini schemas cannot load remote schemas.`, path);
    let target: unknown = this.root;
    const pointer = ref.slice(1);
    if (pointer !== '') {
      if (!pointer.startsWith('/')) this.fail(`$ref '${ref}' is not a JSON pointer.`, path);
      for (const raw of pointer.slice(1).split('/')) {
        const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
        target = target && typeof target === 'object' ? (target as Json)[key] : undefined;
        if (target === undefined) this.fail(`$ref '${ref}' points to nothing.`, path);
      }
    }
    return target;
  }

  private node(input: unknown, refs: string[], path: string): Json {
    if (input === true) return {};
    if (input === false) this.fail('a `false` schema accepts nothing and cannot be sent to Gemini.', path);
    if (!input || typeof input !== 'object' || Array.isArray(input)) this.fail('a schema must be a JSON object.', path);
    const s = input as Json;

    if (typeof s.$ref === 'string') {
      const ref = s.$ref;
      if (refs.includes(ref)) this.fail(`$ref '${ref}' is recursive; Gemini function schemas cannot describe recursive structures.`, path);
      const target = this.resolve(ref, path);
      const { $ref: _ref, ...siblings } = s;
      const merged = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Json), ...siblings } : target;
      return this.node(merged, [...refs, ref], path);
    }

    const notes: string[] = [];
    let nullable = s.nullable === true;

    // allOf: every branch must hold: merged into one schema.
    if (Array.isArray(s.allOf)) {
      const { allOf, ...rest } = s;
      const parts = [this.node(rest, refs, path), ...(allOf as unknown[]).map((b, i) => this.node(b, refs, `${path ? `${path}.` : ''}allOf[${i}]`))];
      return parts.reduce(mergeSchemas);
    }

    // anyOf / oneOf: null branches become nullable.
    if (Array.isArray(s.anyOf) || Array.isArray(s.oneOf)) {
      if (Array.isArray(s.anyOf) && Array.isArray(s.oneOf)) this.fail('anyOf and oneOf together cannot be expressed for Gemini.', path);
      const key = Array.isArray(s.anyOf) ? 'anyOf' : 'oneOf';
      const { anyOf: _a, oneOf: _o, ...rest } = s;
      const branches = s[key] as unknown[];
      const others = branches.filter((b) => !isNullSchema(b));
      if (others.length < branches.length) nullable = true;
      if (others.length === 0) this.fail(`${key} allows only null, which Gemini cannot express.`, path);
      if (others.length === 1) {
        const only = others[0];
        const merged = only && typeof only === 'object' && !Array.isArray(only) ? { ...(only as Json), ...rest } : only;
        const out = this.node(merged, refs, path);
        if (nullable) out.nullable = true;
        return out;
      }
      const top = this.node(rest, refs, path);
      const sanitized = others.map((b, i) => this.node(b, refs, `${path ? `${path}.` : ''}${key}[${i}]`));
      // Constraint-only branches (`anyOf: [{required: [a]}, {required: [b]}]` on an object)
      // say nothing Gemini can hold: the schema stays as its own keywords describe it.
      if (sanitized.every((b) => Object.keys(b).length === 0)) {
        const alternatives = others.map((b) => (b && typeof b === 'object' && Array.isArray((b as Json).required) ? ((b as Json).required as unknown[]).map(String).join(' and ') : undefined));
        if (alternatives.every((a) => a !== undefined && a !== '')) {
          const note = `requires ${alternatives.join(', or ')}`;
          top.description = typeof top.description === 'string' && top.description !== '' ? `${top.description} (${note})` : `(${note})`;
        }
        if (nullable) top.nullable = true;
        return top;
      }
      if (sanitized.some((b) => b.type !== undefined)) delete top.type;
      const out: Json = { ...top, anyOf: sanitized };
      if (nullable) out.nullable = true;
      return out;
    }

    // type: a list of types (null among them → nullable).
    let type: string | undefined;
    if (Array.isArray(s.type)) {
      const types = (s.type as unknown[]).map(String);
      if (types.includes('null')) nullable = true;
      const real = types.filter((t) => t !== 'null');
      if (real.length === 0) this.fail('type null alone cannot be expressed for Gemini.', path);
      if (real.length > 1) {
        const { type: _t, description, title, ...rest } = s;
        const out: Json = { anyOf: real.map((t) => this.node({ ...rest, type: t }, refs, path)) };
        if (typeof description === 'string') out.description = description;
        if (typeof title === 'string') out.title = title;
        if (nullable) out.nullable = true;
        return out;
      }
      type = real[0];
    } else if (typeof s.type === 'string') {
      type = s.type;
    } else if (s.type !== undefined) {
      this.fail('type must be a string or an array of strings.', path);
    }
    if (type === 'null') this.fail('type null alone cannot be expressed for Gemini.', path);
    if (type !== undefined && !(type in TYPES)) this.fail(`type '${type}' is not a JSON Schema type.`, path);
    let gType = type ? TYPES[type] : s.properties !== undefined ? 'OBJECT' : s.items !== undefined ? 'ARRAY' : undefined;

    const out: Json = {};
    for (const k of KEPT) if (s[k] !== undefined) out[k] = s[k];

    // const and enum: Gemini's enums are strings.
    if (s.const !== undefined) {
      const c = s.const;
      if (typeof c === 'string') {
        out.enum = [c];
        gType ??= 'STRING';
      } else if (typeof c === 'number') {
        out.minimum = c;
        out.maximum = c;
        gType ??= Number.isInteger(c) ? 'INTEGER' : 'NUMBER';
      } else if (c === null) {
        nullable = true;
      } else {
        notes.push(`must be ${JSON.stringify(c)}`);
        if (typeof c === 'boolean') gType ??= 'BOOLEAN';
      }
    }
    if (Array.isArray(s.enum)) {
      const values = s.enum as unknown[];
      if (values.includes(null)) nullable = true;
      const real = values.filter((v) => v !== null);
      if (real.length > 0 && real.every((v) => typeof v === 'string')) {
        out.enum = real;
        gType ??= 'STRING';
        if (gType !== 'STRING') {
          notes.push(`one of: ${real.map((v) => JSON.stringify(v)).join(', ')}`);
          delete out.enum;
        }
      } else if (real.length > 0) {
        notes.push(`one of: ${real.map((v) => JSON.stringify(v)).join(', ')}`);
      }
    }

    // Numeric bounds, exclusive ones made inclusive.
    if (typeof s.minimum === 'number') out.minimum = typeof out.minimum === 'number' ? Math.max(out.minimum, s.minimum) : s.minimum;
    if (typeof s.maximum === 'number') out.maximum = typeof out.maximum === 'number' ? Math.min(out.maximum, s.maximum) : s.maximum;
    const exclusive = (key: 'exclusiveMinimum' | 'exclusiveMaximum', bound: 'minimum' | 'maximum') => {
      const v = s[key];
      let n: number | undefined;
      if (typeof v === 'number') n = v;
      else if (v === true && typeof s[bound] === 'number') n = s[bound] as number; // draft-04 boolean form
      if (n === undefined) return;
      const lower = bound === 'minimum';
      if (gType === 'INTEGER') {
        const inclusive = lower ? Math.floor(n) + 1 : Math.ceil(n) - 1;
        const current = out[bound] as number | undefined;
        out[bound] = current === undefined || v === true ? inclusive : lower ? Math.max(current, inclusive) : Math.min(current, inclusive);
        return;
      }
      const current = out[bound] as number | undefined;
      if (current !== undefined && v !== true && (lower ? current > n : current < n)) return; // the inclusive bound is stricter
      out[bound] = n;
      notes.push(`${lower ? 'greater' : 'less'} than ${n}, not equal`);
    };
    exclusive('exclusiveMinimum', 'minimum');
    exclusive('exclusiveMaximum', 'maximum');
    if (typeof s.multipleOf === 'number') notes.push(`a multiple of ${s.multipleOf}`);

    if (typeof s.format === 'string') {
      if (gType && FORMATS[gType]?.has(s.format)) out.format = s.format;
      else notes.push(`format: ${s.format}`);
    }

    // Structure.
    if (s.properties !== undefined) {
      if (!s.properties || typeof s.properties !== 'object' || Array.isArray(s.properties)) this.fail('properties must be an object.', path);
      const props: Json = {};
      for (const [name, sub] of Object.entries(s.properties as Json)) props[name] = this.node(sub, refs, `${path ? `${path}.` : ''}properties.${name}`);
      out.properties = props;
      if (Array.isArray(s.required)) {
        const required = (s.required as unknown[]).filter((r): r is string => typeof r === 'string' && r in props);
        if (required.length > 0) out.required = required;
      }
    }
    const itemsPath = `${path ? `${path}.` : ''}items`;
    if (Array.isArray(s.items) || Array.isArray(s.prefixItems)) {
      const tuple = (Array.isArray(s.prefixItems) ? s.prefixItems : s.items) as unknown[];
      const branches = tuple.map((b, i) => this.node(b, refs, `${itemsPath}[${i}]`));
      out.items = branches.length === 1 ? branches[0] : { anyOf: branches };
      notes.push(`items in this order: ${tuple.length} positions`);
    } else if (s.items !== undefined) {
      out.items = this.node(s.items, refs, itemsPath);
    }
    if (s.uniqueItems === true) notes.push('items must be unique');
    // A map (additionalProperties as a schema) has no Gemini form: the model is told.
    if (s.additionalProperties && typeof s.additionalProperties === 'object' && !Array.isArray(s.additionalProperties)) {
      const valueType = (s.additionalProperties as Json).type;
      notes.push(`other keys allowed${typeof valueType === 'string' ? `, with ${valueType} values` : ''}`);
    }

    if (s.default !== undefined) notes.push(`default: ${JSON.stringify(s.default)}`);
    if (Array.isArray(s.examples) && s.examples.length > 0) notes.push(`examples: ${s.examples.map((e) => JSON.stringify(e)).join(', ')}`);
    else if (s.example !== undefined) notes.push(`example: ${JSON.stringify(s.example)}`);

    if (gType) out.type = gType;
    const description = typeof s.description === 'string' ? s.description : '';
    if (description !== '' || notes.length > 0) out.description = notes.length === 0 ? description : `${description}${description ? ' ' : ''}(${notes.join('; ')})`;
    if (nullable) out.nullable = true;
    return out;
  }
}

function isNullSchema(b: unknown): boolean {
  if (!b || typeof b !== 'object') return false;
  const s = b as Json;
  return s.type === 'null' || (Array.isArray(s.type) && s.type.length === 1 && s.type[0] === 'null') || s.const === null || (Array.isArray(s.enum) && s.enum.length === 1 && s.enum[0] === null);
}

/** Two Gemini schemas that must both hold (allOf): properties and required united, the rest first-wins. */
function mergeSchemas(a: Json, b: Json): Json {
  const out: Json = { ...b, ...a };
  if (a.properties || b.properties) out.properties = { ...(b.properties as Json | undefined), ...(a.properties as Json | undefined) };
  const required = [...new Set([...((a.required as string[] | undefined) ?? []), ...((b.required as string[] | undefined) ?? [])])];
  if (required.length > 0) out.required = required;
  if (a.description && b.description && a.description !== b.description) out.description = `${String(a.description)} ${String(b.description)}`;
  if (!out.type && (a.properties || b.properties)) out.type = 'OBJECT';
  return out;
}
