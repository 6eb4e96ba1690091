/**
 * GraphQL validation as gqlparser (the copy OPA embeds) validates: a schema document merged
 * with the prelude is checked and turned into a schema (ValidateSchemaDocument, with its
 * error texts), and a query document is checked against it by the spec's validation rules,
 * with graphql-js's / gqlparser's messages. The first error is reported, as OPA reports it.
 *
 * Works on the plain objects graphql-parser.ts builds (or the same shapes given as Rego
 * objects); never mutates them.
 */
import { parseSchema, ValueKind, type Node } from './graphql-parser.ts';
import { PRELUDE } from './graphql-prelude.ts';

export class GraphQLValidationError extends Error {
  readonly line: number;
  readonly column: number;

  constructor(message: string, line: number, column: number) {
    super(message);
    this.name = 'GraphQLValidationError';
    this.line = line;
    this.column = column;
  }
}

type Pos = { Line?: number; Column?: number } | undefined;

function fail(pos: unknown, message: string): never {
  const p = pos as Pos;
  throw new GraphQLValidationError(message, p?.Line ?? 0, p?.Column ?? 0);
}

const list = (v: unknown): Node[] => (Array.isArray(v) ? (v as Node[]) : []);
const strs = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : []);
const text = (v: unknown): string => (typeof v === 'string' ? v : '');

export interface Schema {
  readonly types: Map<string, Node>;
  readonly directives: Map<string, Node>;
  readonly possibleTypes: Map<string, Node[]>;
  query?: Node;
  mutation?: Node;
  subscription?: Node;
}

export function typeName(t: Node | undefined): string {
  if (t === undefined) return '';
  return text(t.NamedType) !== '' ? text(t.NamedType) : typeName(t.Elem as Node | undefined);
}

export function typeString(t: Node): string {
  const inner = t.Elem !== undefined && text(t.NamedType) === '' ? `[${typeString(t.Elem as Node)}]` : text(t.NamedType);
  return t.NonNull === true ? `${inner}!` : inner;
}

let prelude: Node | undefined;

function preludeDocument(): Node {
  if (prelude === undefined) {
    prelude = parseSchema(PRELUDE);
    for (const d of list(prelude.Definitions)) d.BuiltIn = true;
  }
  return prelude;
}

const reserved = (pos: unknown, name: string): void => {
  if (name.startsWith('__')) fail(pos, `Name "${name}" must not begin with "__", which is reserved by GraphQL introspection.`);
};

const isInputKind = (k: unknown): boolean => k === 'SCALAR' || k === 'ENUM' || k === 'INPUT_OBJECT';
const isCompositeKind = (k: unknown): boolean => k === 'OBJECT' || k === 'INTERFACE' || k === 'UNION';

/** gqlparser's ValidateSchemaDocument over the prelude merged with `doc`. Throws GraphQLValidationError. */
export function buildSchema(doc: Node): Schema {
  const base = preludeDocument();
  const merged = structuredClone({
    Schema: list(doc.Schema),
    SchemaExtension: list(doc.SchemaExtension),
    Directives: [...list(base.Directives), ...list(doc.Directives)],
    Definitions: [...list(base.Definitions), ...list(doc.Definitions)],
    Extensions: list(doc.Extensions),
  });
  const schema: Schema = { types: new Map(), directives: new Map(), possibleTypes: new Map() };
  for (const def of merged.Definitions) {
    if (schema.types.has(text(def.Name))) fail(def.Position, `Cannot redeclare type ${text(def.Name)}.`);
    schema.types.set(text(def.Name), def);
  }
  const defs = [...merged.Definitions];
  for (const ext of merged.Extensions) {
    let def = schema.types.get(text(ext.Name));
    if (def === undefined) {
      def = { Kind: ext.Kind, Name: ext.Name, Position: ext.Position };
      schema.types.set(text(ext.Name), def);
      defs.push(def);
    }
    if (def.Kind !== ext.Kind) fail(ext.Position, `Cannot extend type ${text(ext.Name)} because the base type is a ${String(def.Kind)}, not ${String(ext.Kind)}.`);
    for (const k of ['Directives', 'Interfaces', 'Fields', 'Types', 'EnumValues']) {
      const more = Array.isArray(ext[k]) ? (ext[k] as unknown[]) : [];
      if (more.length > 0) def[k] = [...(Array.isArray(def[k]) ? (def[k] as unknown[]) : []), ...more];
    }
  }
  const addPossible = (name: string, def: Node | undefined): void => {
    if (def === undefined) return;
    const l = schema.possibleTypes.get(name) ?? [];
    if (!l.includes(def)) l.push(def);
    schema.possibleTypes.set(name, l);
  };
  for (const def of defs) {
    if (def.Kind === 'UNION') for (const t of strs(def.Types)) addPossible(text(def.Name), schema.types.get(t));
    else if (def.Kind === 'OBJECT' || def.Kind === 'INPUT_OBJECT') {
      for (const i of strs(def.Interfaces)) addPossible(i, def);
      addPossible(text(def.Name), def);
    } else if (def.Kind === 'INTERFACE') for (const i of strs(def.Interfaces)) addPossible(i, def);
  }
  for (const dir of merged.Directives) {
    const name = text(dir.Name);
    if (schema.directives.has(name)) {
      if (!['include', 'skip', 'deprecated', 'specifiedBy'].includes(name)) fail(dir.Position, `Cannot redeclare directive ${name}.`);
      continue;
    }
    schema.directives.set(name, dir);
  }
  if (merged.Schema.length > 1) fail(merged.Schema[1]!.Position, 'Cannot have multiple schema entry points, consider schema extensions instead.');
  for (const s of [...merged.Schema, ...merged.SchemaExtension]) {
    for (const op of list(s.OperationTypes)) {
      const def = schema.types.get(text(op.Type));
      if (def === undefined) fail(op.Position, `Schema root ${text(op.Operation)} refers to a type ${text(op.Type)} that does not exist.`);
      if (op.Operation === 'query') schema.query = def;
      else if (op.Operation === 'mutation') schema.mutation = def;
      else if (op.Operation === 'subscription') schema.subscription = def;
    }
  }
  for (const name of [...schema.types.keys()].sort()) validateDefinition(schema, schema.types.get(name)!);
  for (const name of [...schema.directives.keys()].sort()) {
    const dir = schema.directives.get(name)!;
    reserved(dir.Position, name);
    validateArgs(schema, list(dir.Arguments), dir);
  }
  if (merged.Schema.length === 0) {
    schema.query ??= schema.types.get('Query');
    schema.mutation ??= schema.types.get('Mutation');
    schema.subscription ??= schema.types.get('Subscription');
  }
  if (schema.query !== undefined) {
    schema.query.Fields = [
      ...list(schema.query.Fields),
      { Name: '__schema', Type: { NamedType: '__Schema', NonNull: true } },
      { Name: '__type', Type: { NamedType: '__Type', NonNull: false }, Arguments: [{ Name: 'name', Type: { NamedType: 'String', NonNull: true } }] },
    ];
  }
  return schema;
}

function validateTypeRef(schema: Schema, t: Node): void {
  if (!schema.types.has(typeName(t))) fail(t.Position, `Undefined type ${typeName(t)}.`);
}

function validateArgs(schema: Schema, args: Node[], current: Node | undefined): void {
  for (const arg of args) {
    reserved(arg.Position, text(arg.Name));
    validateTypeRef(schema, arg.Type as Node);
    const def = schema.types.get(typeName(arg.Type as Node))!;
    if (!isInputKind(def.Kind)) fail(arg.Position, `cannot use ${typeString(arg.Type as Node)} as argument ${text(arg.Name)} because ${String(def.Kind)} is not a valid input type`);
    validateDirectives(schema, list(arg.Directives), 'ARGUMENT_DEFINITION', current);
  }
}

function validateDirectives(schema: Schema, dirs: Node[], location: string, current: Node | undefined): void {
  for (const dir of dirs) {
    const name = text(dir.Name);
    reserved(dir.Position, name);
    if (current !== undefined && name === current.Name) fail(dir.Position, `Directive ${name} cannot refer to itself.`);
    const def = schema.directives.get(name);
    if (def === undefined) fail(dir.Position, `Undefined directive ${name}.`);
    if (!strs(def.Locations).includes(location)) fail(dir.Position, `Directive ${name} is not applicable on ${location}.`);
  }
}

function isCovariant(schema: Schema, required: Node, actual: Node): boolean {
  if (required.NonNull === true && actual.NonNull !== true) return false;
  if (text(required.NamedType) !== '') {
    if (required.NamedType === actual.NamedType) return true;
    return (schema.possibleTypes.get(text(required.NamedType)) ?? []).some((p) => p.Name === actual.NamedType);
  }
  if (required.Elem !== undefined && actual.Elem === undefined) return false;
  return isCovariant(schema, required.Elem as Node, actual.Elem as Node);
}

const sameType = (a: Node, b: Node): boolean => typeString(a) === typeString(b);

function validateImplements(schema: Schema, def: Node, intfName: string): void {
  const intf = schema.types.get(intfName);
  if (intf === undefined) fail(def.Position, `Undefined type "${intfName}".`);
  if (intf.Kind !== 'INTERFACE') fail(def.Position, `"${intfName}" is a non interface type ${String(intf.Kind)}.`);
  const name = text(def.Name);
  for (const required of list(intf.Fields)) {
    const found = list(def.Fields).find((f) => f.Name === required.Name);
    if (found === undefined) fail(def.Position, `For ${name} to implement ${intfName} it must have a field called ${text(required.Name)}.`);
    if (!isCovariant(schema, required.Type as Node, found.Type as Node)) {
      fail(found.Position, `For ${name} to implement ${intfName} the field ${text(required.Name)} must have type ${typeString(required.Type as Node)}.`);
    }
    for (const ra of list(required.Arguments)) {
      const fa = list(found.Arguments).find((a) => a.Name === ra.Name);
      if (fa === undefined) fail(found.Position, `For ${name} to implement ${intfName} the field ${text(required.Name)} must have the same arguments but it is missing ${text(ra.Name)}.`);
      if (!sameType(ra.Type as Node, fa.Type as Node)) fail(fa.Position, `For ${name} to implement ${intfName} the field ${text(required.Name)} must have the same arguments but ${text(ra.Name)} has the wrong type.`);
    }
    for (const fa of list(found.Arguments)) {
      if (!list(required.Arguments).some((a) => a.Name === fa.Name) && (fa.Type as Node).NonNull === true && fa.DefaultValue === undefined) {
        fail(fa.Position, `For ${name} to implement ${intfName} any additional arguments on ${text(found.Name)} must be optional or have a default value but ${text(fa.Name)} is required.`);
      }
    }
  }
  for (const transitive of strs(intf.Interfaces)) {
    if (strs(def.Interfaces).includes(transitive)) continue;
    if (transitive === name) fail(def.Position, `Type ${name} cannot implement ${intfName} because it would create a circular reference.`);
    fail(def.Position, `Type ${name} must implement ${transitive} because it is implemented by ${intfName}.`);
  }
}

function validateDefinition(schema: Schema, def: Node): void {
  const kind = String(def.Kind);
  const name = text(def.Name);
  for (const field of list(def.Fields)) {
    reserved(field.Position, text(field.Name));
    validateTypeRef(schema, field.Type as Node);
    validateArgs(schema, list(field.Arguments), undefined);
    validateDirectives(schema, list(field.Directives), kind === 'INPUT_OBJECT' ? 'INPUT_FIELD_DEFINITION' : 'FIELD_DEFINITION', undefined);
  }
  for (const t of strs(def.Types)) {
    const td = schema.types.get(t);
    if (td === undefined) fail(def.Position, `Undefined type "${t}".`);
    if (td.Kind !== 'OBJECT') fail(def.Position, `${kind} type "${t}" must be OBJECT.`);
  }
  for (const i of strs(def.Interfaces)) validateImplements(schema, def, i);
  if (kind === 'OBJECT' || kind === 'INTERFACE') {
    if (list(def.Fields).length === 0) fail(def.Position, `${kind} ${name}: must define one or more fields.`);
    for (const field of list(def.Fields)) {
      const t = schema.types.get(typeName(field.Type as Node));
      if (t !== undefined && t.Kind === 'INPUT_OBJECT') fail(field.Position, `${kind} ${name}: field must be one of SCALAR, OBJECT, INTERFACE, UNION, ENUM.`);
    }
  } else if (kind === 'ENUM') {
    if (list(def.EnumValues).length === 0) fail(def.Position, `${kind} ${name}: must define one or more unique enum values.`);
    for (const v of list(def.EnumValues)) if (['true', 'false', 'null'].includes(text(v.Name))) fail(def.Position, `${kind} ${name}: non-enum value ${text(v.Name)}.`);
  } else if (kind === 'INPUT_OBJECT') {
    if (list(def.Fields).length === 0) fail(def.Position, `${kind} ${name}: must define one or more input fields.`);
    for (const field of list(def.Fields)) {
      const t = schema.types.get(typeName(field.Type as Node));
      if (t !== undefined && !isInputKind(t.Kind)) fail(field.Position, `${String(t.Kind)} ${text(field.Name)}: field must be one of SCALAR, ENUM, INPUT_OBJECT.`);
    }
  }
  const fields = list(def.Fields);
  for (let i = 0; i < fields.length; i++) {
    for (let j = i + 1; j < fields.length; j++) {
      if (fields[i]!.Name === fields[j]!.Name) fail(fields[j]!.Position, `Field ${name}.${text(fields[j]!.Name)} can only be defined once.`);
    }
  }
  if (def.BuiltIn !== true) reserved(def.Position, name);
  validateDirectives(schema, list(def.Directives), kind, undefined);
}

// ---------------------------------------------------------------------------------------
// Query validation

interface VarUse {
  readonly name: string;
  readonly type: Node | undefined;
  readonly hasLocationDefault: boolean;
  readonly pos: unknown;
}

function printValue(v: Node): string {
  switch (v.Kind) {
    case ValueKind.Variable:
      return `$${text(v.Raw)}`;
    case ValueKind.String:
    case ValueKind.Block:
      return JSON.stringify(text(v.Raw));
    case ValueKind.List:
      return `[${list(v.Children).map((c) => printValue(c.Value as Node)).join(', ')}]`;
    case ValueKind.Object:
      return `{${list(v.Children).map((c) => `${text(c.Name)}: ${printValue(c.Value as Node)}`).join(', ')}}`;
    default:
      return text(v.Raw);
  }
}

interface FieldAt {
  readonly parent: Node | undefined;
  readonly node: Node;
  readonly def: Node | undefined;
}

const TYPENAME: Node = { Name: '__typename', Type: { NamedType: 'String', NonNull: true } };

/** A field's arguments in a canonical text, to compare two fields' arguments. */
const argumentsText = (n: Node): string =>
  list(n.Arguments)
    .map((a) => `${text(a.Name)}:${printValue(a.Value as Node)}`)
    .sort()
    .join(',');

class QueryValidator {
  private readonly fragments = new Map<string, Node>();
  /** Variables used per fragment name and per operation (directly, not through spreads). */
  private uses: VarUse[] = [];
  private spreads: string[] = [];
  private readonly compared = new Map<Node, Map<Node, Map<string, string>>>();
  private comparisons = 0;
  private readonly checkDeadline: () => void;
  private readonly schema: Schema;
  private readonly doc: Node;

  constructor(schema: Schema, doc: Node, checkDeadline: () => void) {
    this.schema = schema;
    this.doc = doc;
    this.checkDeadline = checkDeadline;
  }

  run(): void {
    const ops = list(this.doc.Operations);
    const frags = list(this.doc.Fragments);
    // Document-level rules.
    for (const op of ops) if (text(op.Name) === '' && ops.length > 1) fail(op.Position, 'This anonymous operation must be the only defined operation.');
    const opNames = new Set<string>();
    for (const op of ops) {
      const n = text(op.Name);
      if (n === '') continue;
      if (opNames.has(n)) fail(op.Position, `There can be only one operation named "${n}".`);
      opNames.add(n);
    }
    for (const f of frags) {
      const n = text(f.Name);
      if (this.fragments.has(n)) fail(f.Position, `There can be only one fragment named "${n}".`);
      this.fragments.set(n, f);
    }
    const fragInfo = new Map<string, { uses: VarUse[]; spreads: string[] }>();
    for (const f of frags) {
      this.uses = [];
      this.spreads = [];
      const cond = text(f.TypeCondition);
      const t = this.schema.types.get(cond);
      if (t === undefined) fail(f.Position, `Unknown type "${cond}".`);
      if (!isCompositeKind(t.Kind)) fail(f.Position, `Fragment "${text(f.Name)}" cannot condition on non composite type "${cond}".`);
      this.directives(list(f.Directives), 'FRAGMENT_DEFINITION');
      this.selectionSet(list(f.SelectionSet), t);
      fragInfo.set(text(f.Name), { uses: this.uses, spreads: this.spreads });
    }
    this.fragmentCycles(fragInfo);
    const usedFragments = new Set<string>();
    for (const op of ops) {
      this.uses = [];
      this.spreads = [];
      const kind = text(op.Operation);
      const root = kind === 'query' ? this.schema.query : kind === 'mutation' ? this.schema.mutation : this.schema.subscription;
      if (root === undefined) fail(op.Position, `Schema does not support operation type "${kind}"`);
      const vars = new Map<string, Node>();
      for (const v of list(op.VariableDefinitions)) this.variableDefinition(v, vars);
      this.directives(list(op.Directives), kind.toUpperCase());
      this.selectionSet(list(op.SelectionSet), root);
      if (kind === 'subscription' && this.topLevelFields(list(op.SelectionSet), new Set()) > 1) {
        fail(op.Position, text(op.Name) !== '' ? `Subscription "${text(op.Name)}" must select only one top level field.` : 'Anonymous Subscription must select only one top level field.');
      }
      // Variables used by the operation and every fragment it reaches.
      const uses = [...this.uses];
      const seen = new Set<string>();
      const pending = [...this.spreads];
      while (pending.length > 0) {
        const n = pending.pop()!;
        if (seen.has(n)) continue;
        seen.add(n);
        usedFragments.add(n);
        const info = fragInfo.get(n);
        if (info === undefined) continue;
        uses.push(...info.uses);
        pending.push(...info.spreads);
      }
      const opName = text(op.Name);
      for (const u of uses) {
        const def = vars.get(u.name);
        if (def === undefined) fail(u.pos, opName !== '' ? `Variable "$${u.name}" is not defined by operation "${opName}".` : `Variable "$${u.name}" is not defined.`);
        if (u.type !== undefined && !this.allowedPosition(def, u)) {
          fail(u.pos, `Variable "$${u.name}" of type "${typeString(def.Type as Node)}" used in position expecting type "${typeString(u.type)}".`);
        }
      }
      for (const [name, def] of vars) {
        if (!uses.some((u) => u.name === name)) fail(def.Position, opName !== '' ? `Variable "$${name}" is never used in operation "${opName}".` : `Variable "$${name}" is never used.`);
      }
    }
    for (const f of frags) if (!usedFragments.has(text(f.Name))) fail(f.Position, `Fragment "${text(f.Name)}" is never used.`);
  }

  private fragmentCycles(info: Map<string, { spreads: string[] }>): void {
    const visit = (start: string, name: string, path: string[]): void => {
      for (const s of info.get(name)?.spreads ?? []) {
        if (s === start) {
          const pos = this.fragments.get(start)!.Position;
          fail(pos, path.length === 0 ? `Cannot spread fragment "${start}" within itself.` : `Cannot spread fragment "${start}" within itself via ${path.join(', ')}.`);
        }
        if (!path.includes(s) && info.has(s)) visit(start, s, [...path, s]);
      }
    };
    for (const name of info.keys()) visit(name, name, []);
  }

  private variableDefinition(v: Node, vars: Map<string, Node>): void {
    const name = text(v.Variable);
    if (vars.has(name)) fail(v.Position, `There can be only one variable named "$${name}".`);
    vars.set(name, v);
    const t = v.Type as Node;
    const def = this.schema.types.get(typeName(t));
    if (def === undefined) fail(t.Position ?? v.Position, `Unknown type "${typeName(t)}".`);
    if (!isInputKind(def.Kind)) fail(v.Position, `Variable "$${name}" cannot be non-input type "${typeString(t)}".`);
    if (v.DefaultValue !== undefined) this.value(v.DefaultValue as Node, t);
    this.directives(list(v.Directives), 'VARIABLE_DEFINITION');
  }

  /** graphql-js's isTypeSubTypeOf, with the defaults exception for non-null positions. */
  private allowedPosition(def: Node, use: VarUse): boolean {
    const varType = def.Type as Node;
    const loc = use.type!;
    if (loc.NonNull === true && varType.NonNull !== true) {
      const hasDefault = def.DefaultValue !== undefined && (def.DefaultValue as Node).Kind !== ValueKind.Null;
      if (!hasDefault && !use.hasLocationDefault) return false;
      return this.subType(varType, { ...loc, NonNull: false });
    }
    return this.subType(varType, loc);
  }

  private subType(sub: Node, sup: Node): boolean {
    if (sup.NonNull === true) return sub.NonNull === true && this.subType({ ...sub, NonNull: false }, { ...sup, NonNull: false });
    if (sub.NonNull === true) return this.subType({ ...sub, NonNull: false }, sup);
    const supList = text(sup.NamedType) === '' && sup.Elem !== undefined;
    const subList = text(sub.NamedType) === '' && sub.Elem !== undefined;
    if (supList) return subList && this.subType(sub.Elem as Node, sup.Elem as Node);
    if (subList) return false;
    if (sub.NamedType === sup.NamedType) return true;
    return (this.schema.possibleTypes.get(text(sup.NamedType)) ?? []).some((p) => p.Name === sub.NamedType);
  }

  private topLevelFields(set: Node[], seen: Set<string>): number {
    let n = 0;
    for (const s of set) {
      if ('Alias' in s) n++;
      else if ('TypeCondition' in s) n += this.topLevelFields(list(s.SelectionSet), seen);
      else {
        const f = this.fragments.get(text(s.Name));
        if (f !== undefined && !seen.has(text(s.Name))) {
          seen.add(text(s.Name));
          n += this.topLevelFields(list(f.SelectionSet), seen);
        }
      }
    }
    return n;
  }

  private possible(t: Node): Node[] {
    return t.Kind === 'OBJECT' ? [t] : (this.schema.possibleTypes.get(text(t.Name)) ?? []);
  }

  private overlaps(a: Node, b: Node): boolean {
    const pb = this.possible(b);
    return this.possible(a).some((x) => pb.includes(x));
  }

  private selectionSet(set: Node[], parent: Node): void {
    for (const s of set) {
      if ('Alias' in s) {
        this.field(s, parent);
      } else if ('TypeCondition' in s) {
        let cond = parent;
        const name = text(s.TypeCondition);
        if (name !== '') {
          const t = this.schema.types.get(name);
          if (t === undefined) fail(s.Position, `Unknown type "${name}".`);
          if (!isCompositeKind(t.Kind)) fail(s.Position, `Fragment cannot condition on non composite type "${name}".`);
          if (!this.overlaps(t, parent)) fail(s.Position, `Fragment cannot be spread here as objects of type "${text(parent.Name)}" can never be of type "${name}".`);
          cond = t;
        }
        this.directives(list(s.Directives), 'INLINE_FRAGMENT');
        this.selectionSet(list(s.SelectionSet), cond);
      } else {
        const name = text(s.Name);
        const frag = this.fragments.get(name);
        if (frag === undefined) fail(s.Position, `Unknown fragment "${name}".`);
        this.spreads.push(name);
        const t = this.schema.types.get(text(frag.TypeCondition));
        if (t !== undefined && isCompositeKind(t.Kind) && !this.overlaps(t, parent)) {
          fail(s.Position, `Fragment "${name}" cannot be spread here as objects of type "${text(parent.Name)}" can never be of type "${text(t.Name)}".`);
        }
        this.directives(list(s.Directives), 'FRAGMENT_SPREAD');
      }
    }
    this.overlapping(set, parent);
  }

  // ---- OverlappingFieldsCanBeMerged (graphql-js's algorithm, as gqlparser ports it) ----

  /** Fields by response name, through inline fragments and fragment spreads, each with its parent type. */
  private collectFields(parent: Node | undefined, set: Node[], out: Map<string, FieldAt[]>, seen: Set<string>): void {
    for (const s of set) {
      if ('Alias' in s) {
        const name = text(s.Name);
        const def = name === '__typename' ? TYPENAME : parent !== undefined ? list(parent.Fields).find((x) => x.Name === name) : undefined;
        const l = out.get(text(s.Alias)) ?? [];
        l.push({ parent, node: s, def });
        out.set(text(s.Alias), l);
      } else if ('TypeCondition' in s) {
        const cond = text(s.TypeCondition) !== '' ? this.schema.types.get(text(s.TypeCondition)) : parent;
        this.collectFields(cond, list(s.SelectionSet), out, seen);
      } else {
        const name = text(s.Name);
        const frag = this.fragments.get(name);
        if (frag === undefined || seen.has(name)) continue;
        seen.add(name);
        this.collectFields(this.schema.types.get(text(frag.TypeCondition)), list(frag.SelectionSet), out, seen);
      }
    }
  }

  private overlapping(set: Node[], parent: Node): void {
    const fields = new Map<string, FieldAt[]>();
    this.collectFields(parent, set, fields, new Set());
    for (const [response, at] of fields) {
      for (let i = 0; i < at.length; i++) {
        for (let j = i + 1; j < at.length; j++) {
          const reason = this.conflict(false, at[i]!, at[j]!, 0);
          if (reason !== undefined) fail(at[j]!.node.Position, `Fields "${response}" conflict because ${reason}. Use different aliases on the fields to fetch both if this was intentional.`);
        }
      }
    }
  }

  /** Why two fields with one response name cannot be merged, or undefined. */
  private conflict(exclusive: boolean, a: FieldAt, b: FieldAt, depth: number): string | undefined {
    // Each pair of field nodes is compared once (graphql-js's PairSet), so repeated fields cannot make this exponential.
    const key = `${exclusive ? 1 : 0}`;
    let row = this.compared.get(a.node);
    if (row === undefined) this.compared.set(a.node, (row = new Map()));
    const cached = row.get(b.node)?.get(key);
    if (cached !== undefined) return cached === '' ? undefined : cached;
    if (++this.comparisons % 1024 === 0) this.checkDeadline();
    const reason = this.conflictOf(exclusive, a, b, depth);
    let byMode = row.get(b.node);
    if (byMode === undefined) row.set(b.node, (byMode = new Map()));
    byMode.set(key, reason ?? '');
    return reason;
  }

  private conflictOf(exclusive: boolean, a: FieldAt, b: FieldAt, depth: number): string | undefined {
    // Fields on different object types never both apply: only their result shapes must agree.
    const mutex = exclusive || (a.parent !== b.parent && a.parent?.Kind === 'OBJECT' && b.parent?.Kind === 'OBJECT');
    if (!mutex) {
      if (a.node.Name !== b.node.Name) return `${text(a.node.Name)} and ${text(b.node.Name)} are different fields`;
      if (argumentsText(a.node) !== argumentsText(b.node)) return 'they have differing arguments';
    }
    const ta = a.def?.Type as Node | undefined;
    const tb = b.def?.Type as Node | undefined;
    if (ta !== undefined && tb !== undefined && this.typesConflict(ta, tb)) return `they return conflicting types "${typeString(ta)}" and "${typeString(tb)}"`;
    const sa = list(a.node.SelectionSet);
    const sb = list(b.node.SelectionSet);
    if (sa.length === 0 || sb.length === 0 || depth > 64) return undefined;
    const fa = new Map<string, FieldAt[]>();
    const fb = new Map<string, FieldAt[]>();
    this.collectFields(ta !== undefined ? this.schema.types.get(typeName(ta)) : undefined, sa, fa, new Set());
    this.collectFields(tb !== undefined ? this.schema.types.get(typeName(tb)) : undefined, sb, fb, new Set());
    const reasons: string[] = [];
    for (const [response, la] of fa) {
      const lb = fb.get(response);
      if (lb === undefined) continue;
      for (const x of la) {
        const r = lb.map((y) => this.conflict(mutex, x, y, depth + 1)).find((v) => v !== undefined);
        if (r !== undefined) {
          reasons.push(`subfields "${response}" conflict because ${r}`);
          break;
        }
      }
    }
    return reasons.length > 0 ? reasons.join(' and ') : undefined;
  }

  private typesConflict(a: Node, b: Node): boolean {
    const isList = (t: Node): boolean => text(t.NamedType) === '' && t.Elem !== undefined;
    if (isList(a) || isList(b)) return !(isList(a) && isList(b)) || (a.NonNull === true) !== (b.NonNull === true) || this.typesConflict(a.Elem as Node, b.Elem as Node);
    if ((a.NonNull === true) !== (b.NonNull === true)) return true;
    const da = this.schema.types.get(text(a.NamedType));
    const db = this.schema.types.get(text(b.NamedType));
    const leaf = (d: Node | undefined): boolean => d !== undefined && (d.Kind === 'SCALAR' || d.Kind === 'ENUM');
    if (leaf(da) || leaf(db)) return a.NamedType !== b.NamedType;
    return false;
  }

  private field(f: Node, parent: Node): void {
    const name = text(f.Name);
    let def: Node | undefined;
    if (name === '__typename') def = { Name: '__typename', Type: { NamedType: 'String', NonNull: true } };
    else def = list(parent.Fields).find((x) => x.Name === name);
    if (def === undefined) fail(f.Position, `Cannot query field "${name}" on type "${text(parent.Name)}".`);
    this.arguments(list(f.Arguments), list(def.Arguments), f.Position, (a) => `Unknown argument "${a}" on field "${text(parent.Name)}.${name}".`, (a, t) => `Field "${name}" argument "${a}" of type "${t}" is required, but it was not provided.`);
    this.directives(list(f.Directives), 'FIELD');
    const t = this.schema.types.get(typeName(def.Type as Node));
    const sel = list(f.SelectionSet);
    if (t !== undefined) {
      if ((t.Kind === 'SCALAR' || t.Kind === 'ENUM') && sel.length > 0) fail(f.Position, `Field "${name}" must not have a selection since type "${text(t.Name)}" has no subfields.`);
      if (isCompositeKind(t.Kind) && sel.length === 0) fail(f.Position, `Field "${name}" of type "${typeString(def.Type as Node)}" must have a selection of subfields. Did you mean "${name} { ... }"?`);
      if (sel.length > 0) this.selectionSet(sel, t);
    }
  }

  private arguments(given: Node[], defs: Node[], pos: unknown, unknown: (a: string) => string, missing: (a: string, t: string) => string): void {
    const seen = new Set<string>();
    for (const a of given) {
      const n = text(a.Name);
      if (seen.has(n)) fail(a.Position, `There can be only one argument named "${n}".`);
      seen.add(n);
      const d = defs.find((x) => x.Name === n);
      if (d === undefined) fail(a.Position, unknown(n));
      this.value(a.Value as Node, d.Type as Node, d.DefaultValue !== undefined);
    }
    for (const d of defs) {
      const t = d.Type as Node;
      if (t.NonNull === true && d.DefaultValue === undefined && !given.some((a) => a.Name === d.Name)) fail(pos, missing(text(d.Name), typeString(t)));
    }
  }

  private directives(dirs: Node[], location: string): void {
    const seen = new Set<string>();
    for (const d of dirs) {
      const name = text(d.Name);
      const def = this.schema.directives.get(name);
      if (def === undefined) fail(d.Position, `Unknown directive "@${name}".`);
      if (!strs(def.Locations).includes(location)) fail(d.Position, `Directive "@${name}" may not be used on ${location}.`);
      if (def.IsRepeatable !== true) {
        if (seen.has(name)) fail(d.Position, `The directive "@${name}" can only be used once at this location.`);
        seen.add(name);
      }
      this.arguments(list(d.Arguments), list(def.Arguments), d.Position, (a) => `Unknown argument "${a}" on directive "@${name}".`, (a, t) => `Directive "@${name}" argument "${a}" of type "${t}" is required, but it was not provided.`);
    }
  }

  /** ValuesOfCorrectType (and UniqueInputFieldNames), recording variable uses with their expected types. */
  private value(v: Node, t: Node | undefined, hasDefault = false): void {
    if (v.Kind === ValueKind.Variable) {
      this.uses.push({ name: text(v.Raw), type: t, hasLocationDefault: hasDefault, pos: v.Position });
      return;
    }
    if (t === undefined) return;
    const expected = typeString(t);
    if (v.Kind === ValueKind.Null) {
      if (t.NonNull === true) fail(v.Position, `Expected value of type "${expected}", found null.`);
      return;
    }
    const isList = text(t.NamedType) === '' && t.Elem !== undefined;
    if (isList) {
      if (v.Kind === ValueKind.List) for (const c of list(v.Children)) this.value(c.Value as Node, t.Elem as Node);
      else this.value(v, t.Elem as Node);
      return;
    }
    const def = this.schema.types.get(text(t.NamedType));
    if (def === undefined) return;
    if (v.Kind === ValueKind.List) fail(v.Position, `Expected value of type "${expected}", found ${printValue(v)}.`);
    if (def.Kind === 'INPUT_OBJECT') {
      if (v.Kind !== ValueKind.Object) fail(v.Position, `Expected value of type "${expected}", found ${printValue(v)}.`);
      const seen = new Set<string>();
      for (const c of list(v.Children)) {
        const n = text(c.Name);
        if (seen.has(n)) fail(c.Position ?? v.Position, `There can be only one input field named "${n}".`);
        seen.add(n);
        const fd = list(def.Fields).find((x) => x.Name === n);
        if (fd === undefined) fail(c.Position ?? v.Position, `Field "${n}" is not defined by type "${text(def.Name)}".`);
        this.value(c.Value as Node, fd.Type as Node, fd.DefaultValue !== undefined);
      }
      for (const fd of list(def.Fields)) {
        const ft = fd.Type as Node;
        if (ft.NonNull === true && fd.DefaultValue === undefined && !seen.has(text(fd.Name))) {
          fail(v.Position, `Field "${text(def.Name)}.${text(fd.Name)}" of required type "${typeString(ft)}" was not provided.`);
        }
      }
      return;
    }
    if (v.Kind === ValueKind.Object) fail(v.Position, `Expected value of type "${expected}", found ${printValue(v)}.`);
    if (def.Kind === 'ENUM') {
      if (v.Kind !== ValueKind.Enum) fail(v.Position, `Enum "${text(def.Name)}" cannot represent non-enum value: ${printValue(v)}.`);
      if (!list(def.EnumValues).some((e) => e.Name === v.Raw)) fail(v.Position, `Value "${text(v.Raw)}" does not exist in "${text(def.Name)}" enum.`);
      return;
    }
    const k = v.Kind;
    switch (def.Name) {
      case 'Int':
        if (k !== ValueKind.Int) fail(v.Position, `Int cannot represent non-integer value: ${printValue(v)}`);
        if (!/^-?\d+$/.test(text(v.Raw)) || Math.abs(Number(v.Raw)) > 2147483647 || Number(v.Raw) === 2147483648) {
          fail(v.Position, `Int cannot represent non 32-bit signed integer value: ${printValue(v)}`);
        }
        return;
      case 'Float':
        if (k !== ValueKind.Int && k !== ValueKind.Float) fail(v.Position, `Float cannot represent non numeric value: ${printValue(v)}`);
        return;
      case 'String':
        if (k !== ValueKind.String && k !== ValueKind.Block) fail(v.Position, `String cannot represent a non string value: ${printValue(v)}`);
        return;
      case 'Boolean':
        if (k !== ValueKind.Boolean) fail(v.Position, `Boolean cannot represent a non boolean value: ${printValue(v)}`);
        return;
      case 'ID':
        if (k !== ValueKind.Int && k !== ValueKind.String && k !== ValueKind.Block) fail(v.Position, `ID cannot represent a non-string and non-integer value: ${printValue(v)}`);
        return;
      default:
        return; // custom scalars accept any literal
    }
  }
}

/**
 * gqlparser's validator.Validate: the first rule violation as a GraphQLValidationError.
 * `checkDeadline` (the evaluation's budget) is called during the quadratic field-merging check.
 */
export function validateQuery(schema: Schema, doc: Node, checkDeadline: () => void = () => {}): void {
  new QueryValidator(schema, doc, checkDeadline).run();
}
