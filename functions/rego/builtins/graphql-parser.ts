/**
 * GraphQL query and schema documents parsed as gqlparser (the copy OPA embeds) parses them,
 * into plain objects shaped like gqlparser's Go structs as OPA turns them into Rego values:
 * the Go field names (`Operations`, `SelectionSet`, `Alias`, `Kind`, `Raw`, …), value kinds
 * as Go's enum numbers, empty and nil fields left out, scalars (`""`, `false`, `0`) kept.
 * Each node also carries `Position` ({Line, Column}), which OPA prunes from its results
 * (graphql.ts does too) and the validator uses for its messages.
 */
import { describe, GraphQLSyntaxError, Lexer, type Token, type TokenKind } from './graphql-lexer.ts';

export type Node = Record<string, unknown>;

/** gqlparser's ValueKind numbers. */
export const ValueKind = {
  Variable: 0,
  Int: 1,
  Float: 2,
  String: 3,
  Block: 4,
  Boolean: 5,
  Null: 6,
  Enum: 7,
  List: 8,
  Object: 9,
} as const;

const LOCATIONS = new Set([
  'QUERY',
  'MUTATION',
  'SUBSCRIPTION',
  'FIELD',
  'FRAGMENT_DEFINITION',
  'FRAGMENT_SPREAD',
  'INLINE_FRAGMENT',
  'VARIABLE_DEFINITION',
  'SCHEMA',
  'SCALAR',
  'OBJECT',
  'FIELD_DEFINITION',
  'ARGUMENT_DEFINITION',
  'INTERFACE',
  'UNION',
  'ENUM',
  'ENUM_VALUE',
  'INPUT_OBJECT',
  'INPUT_FIELD_DEFINITION',
]);

/** Sets key k only when v is not empty (undefined, or an empty list), as OPA's pruning leaves it. */
function put(node: Node, k: string, v: unknown): void {
  if (v === undefined || (Array.isArray(v) && v.length === 0)) return;
  node[k] = v;
}

/** Deepest nesting of selection sets, lists, objects and argument lists accepted. */
const MAX_DEPTH = 256;

class Parser {
  private readonly lexer: Lexer;
  private peeked: Token | undefined;
  private prev: Token | undefined;
  private depth = 0;

  constructor(src: string) {
    this.lexer = new Lexer(src);
  }

  peek(): Token {
    return (this.peeked ??= this.lexer.next());
  }

  pos(): Node {
    const t = this.peek();
    return { Line: t.line, Column: t.column };
  }

  next(): Token {
    const t = this.peek();
    this.peeked = undefined;
    this.prev = t;
    return t;
  }

  error(t: Token, message: string): never {
    throw new GraphQLSyntaxError(message, t.line, t.column);
  }

  unexpected(t: Token = this.peek()): never {
    this.error(t, `Unexpected ${describe(t)}`);
  }

  expect(kind: TokenKind): Token {
    const t = this.peek();
    if (t.kind === kind) return this.next();
    this.error(t, `Expected ${kind}, found ${t.kind}`);
  }

  expectKeyword(value: string): Token {
    const t = this.peek();
    if (t.kind === 'Name' && t.value === value) return this.next();
    this.error(t, `Expected "${value}", found ${describe(t)}`);
  }

  skip(kind: TokenKind): boolean {
    if (this.peek().kind !== kind) return false;
    this.next();
    return true;
  }

  /** Zero or more items between start and end, when start is there. */
  many<T>(start: TokenKind, end: TokenKind, item: () => T): T[] {
    const out: T[] = [];
    if (!this.skip(start)) return out;
    this.nest();
    while (this.peek().kind !== end) out.push(item());
    this.depth--;
    this.next();
    return out;
  }

  /** Bounds nesting, so a hostile document cannot exhaust the stack (gqlparser has no bound). */
  private nest(): void {
    if (++this.depth > MAX_DEPTH) this.error(this.peek(), `Document nested deeper than ${MAX_DEPTH} levels`);
  }

  /** One or more items between start and end, when start is there. */
  some<T>(start: TokenKind, end: TokenKind, item: () => T): T[] {
    const out: T[] = [];
    if (!this.skip(start)) return out;
    this.nest();
    while (this.peek().kind !== end) out.push(item());
    this.depth--;
    if (out.length === 0) this.error(this.peek(), `expected at least one definition, found ${this.peek().kind}`);
    this.next();
    return out;
  }

  name(): string {
    return this.expect('Name').value;
  }

  // ---- queries ----

  queryDocument(): Node {
    const doc: Node = {};
    const operations: Node[] = [];
    const fragments: Node[] = [];
    while (this.peek().kind !== '<EOF>') {
      const t = this.peek();
      if (t.kind === 'Name' && (t.value === 'query' || t.value === 'mutation' || t.value === 'subscription')) operations.push(this.operationDefinition());
      else if (t.kind === 'Name' && t.value === 'fragment') fragments.push(this.fragmentDefinition());
      else if (t.kind === '{') operations.push(this.operationDefinition());
      else this.unexpected();
    }
    put(doc, 'Operations', operations);
    put(doc, 'Fragments', fragments);
    return doc;
  }

  operationDefinition(): Node {
    const od: Node = { Position: this.pos() };
    if (this.peek().kind === '{') {
      od.Operation = 'query';
      od.Name = '';
      put(od, 'SelectionSet', this.requiredSelectionSet());
      return od;
    }
    od.Operation = this.operationType();
    od.Name = this.peek().kind === 'Name' ? this.next().value : '';
    put(od, 'VariableDefinitions', this.variableDefinitions());
    put(od, 'Directives', this.directives(false));
    put(od, 'SelectionSet', this.requiredSelectionSet());
    return od;
  }

  operationType(): string {
    const t = this.next();
    if (t.value === 'query' || t.value === 'mutation' || t.value === 'subscription') return t.value;
    this.unexpected(t);
  }

  variableDefinitions(): Node[] {
    return this.many('(', ')', () => {
      const def: Node = { Position: this.pos() };
      this.expect('$');
      def.Variable = this.name();
      this.expect(':');
      def.Type = this.typeReference();
      if (this.skip('=')) def.DefaultValue = this.valueLiteral(true);
      put(def, 'Directives', this.directives(false));
      def.Used = false;
      return def;
    });
  }

  requiredSelectionSet(): Node[] {
    const t = this.peek();
    if (t.kind !== '{') this.error(t, `Expected {, found ${t.kind}`);
    return this.some('{', '}', () => this.selection());
  }

  selection(): Node {
    return this.peek().kind === '...' ? this.fragment() : this.field();
  }

  field(): Node {
    const f: Node = { Position: this.pos() };
    f.Alias = this.name();
    f.Name = this.skip(':') ? this.name() : f.Alias;
    put(f, 'Arguments', this.arguments(false));
    put(f, 'Directives', this.directives(false));
    if (this.peek().kind === '{') put(f, 'SelectionSet', this.some('{', '}', () => this.selection()));
    return f;
  }

  arguments(isConst: boolean): Node[] {
    return this.many('(', ')', () => {
      const a: Node = { Position: this.pos() };
      a.Name = this.name();
      this.expect(':');
      a.Value = this.valueLiteral(isConst);
      return a;
    });
  }

  fragment(): Node {
    this.expect('...');
    const t = this.peek();
    if (t.kind === 'Name' && t.value !== 'on') {
      const spread: Node = { Position: this.pos(), Name: this.fragmentName() };
      put(spread, 'Directives', this.directives(false));
      return spread;
    }
    const inline: Node = { Position: this.pos(), TypeCondition: '' };
    if (this.peek().value === 'on') {
      this.next();
      inline.TypeCondition = this.name();
    }
    put(inline, 'Directives', this.directives(false));
    put(inline, 'SelectionSet', this.requiredSelectionSet());
    return inline;
  }

  fragmentDefinition(): Node {
    const def: Node = { Position: this.pos() };
    this.expectKeyword('fragment');
    def.Name = this.fragmentName();
    put(def, 'VariableDefinition', this.variableDefinitions());
    this.expectKeyword('on');
    def.TypeCondition = this.name();
    put(def, 'Directives', this.directives(false));
    put(def, 'SelectionSet', this.requiredSelectionSet());
    return def;
  }

  fragmentName(): string {
    if (this.peek().value === 'on') this.unexpected();
    return this.name();
  }

  valueLiteral(isConst: boolean): Node {
    const t = this.peek();
    const position = { Line: t.line, Column: t.column };
    let kind: number;
    switch (t.kind) {
      case '[':
        return this.listOrObject(isConst, '[', ']', ValueKind.List);
      case '{':
        return this.listOrObject(isConst, '{', '}', ValueKind.Object);
      case '$':
        if (isConst) this.unexpected();
        this.next();
        return { Position: position, Raw: this.name(), Kind: ValueKind.Variable, ExpectedTypeHasDefault: false };
      case 'Int':
        kind = ValueKind.Int;
        break;
      case 'Float':
        kind = ValueKind.Float;
        break;
      case 'String':
        kind = ValueKind.String;
        break;
      case 'BlockString':
        kind = ValueKind.Block;
        break;
      case 'Name':
        kind = t.value === 'true' || t.value === 'false' ? ValueKind.Boolean : t.value === 'null' ? ValueKind.Null : ValueKind.Enum;
        break;
      default:
        this.unexpected();
    }
    this.next();
    return { Position: position, Raw: t.value, Kind: kind, ExpectedTypeHasDefault: false };
  }

  listOrObject(isConst: boolean, start: TokenKind, end: TokenKind, kind: number): Node {
    const position = this.pos();
    const children = this.many(start, end, () => {
      if (kind === ValueKind.List) return { Name: '', Value: this.valueLiteral(isConst) };
      const field: Node = { Position: this.pos() };
      field.Name = this.name();
      this.expect(':');
      field.Value = this.valueLiteral(isConst);
      return field;
    });
    const v: Node = { Position: position, Raw: '', Kind: kind, ExpectedTypeHasDefault: false };
    put(v, 'Children', children);
    return v;
  }

  directives(isConst: boolean): Node[] {
    const out: Node[] = [];
    while (this.peek().kind === '@') {
      this.next();
      const d: Node = { Position: this.pos(), Name: this.name(), Location: '' };
      put(d, 'Arguments', this.arguments(isConst));
      out.push(d);
    }
    return out;
  }

  typeReference(): Node {
    const typ: Node = {};
    if (this.skip('[')) {
      this.nest();
      typ.Position = this.pos();
      typ.NamedType = '';
      typ.Elem = this.typeReference();
      this.expect(']');
      this.depth--;
    } else {
      typ.Position = this.pos();
      typ.NamedType = this.name();
    }
    typ.NonNull = false;
    if (this.skip('!')) typ.NonNull = true;
    return typ;
  }

  // ---- schemas ----

  schemaDocument(): Node {
    const schema: Node[] = [];
    const schemaExtension: Node[] = [];
    const directives: Node[] = [];
    const definitions: Node[] = [];
    const extensions: Node[] = [];
    while (this.peek().kind !== '<EOF>') {
      let description = '';
      const k = this.peek().kind;
      if (k === 'BlockString' || k === 'String') description = this.next().value;
      const t = this.peek();
      if (t.kind !== 'Name') this.unexpected();
      switch (t.value) {
        case 'scalar':
        case 'type':
        case 'interface':
        case 'union':
        case 'enum':
        case 'input':
          definitions.push(this.typeDefinition(description, false));
          break;
        case 'schema':
          schema.push(this.schemaDefinition(description, false));
          break;
        case 'directive':
          directives.push(this.directiveDefinition(description));
          break;
        case 'extend':
          if (description !== '') this.unexpected(this.prev);
          this.expectKeyword('extend');
          if (this.peek().value === 'schema') schemaExtension.push(this.schemaDefinition('', true));
          else if (['scalar', 'type', 'interface', 'union', 'enum', 'input'].includes(this.peek().value)) extensions.push(this.typeDefinition('', true));
          else this.unexpected();
          break;
        default:
          this.unexpected();
      }
    }
    const doc: Node = {};
    put(doc, 'Schema', schema);
    put(doc, 'SchemaExtension', schemaExtension);
    put(doc, 'Directives', directives);
    put(doc, 'Definitions', definitions);
    put(doc, 'Extensions', extensions);
    return doc;
  }

  schemaDefinition(description: string, extension: boolean): Node {
    this.expectKeyword('schema');
    const def: Node = { Position: this.pos(), Description: description };
    const directives = this.directives(true);
    const ops = this.some('{', '}', () => {
      const op: Node = { Position: this.pos() };
      op.Operation = this.operationType();
      this.expect(':');
      op.Type = this.name();
      return op;
    });
    if (extension && directives.length === 0 && ops.length === 0) this.unexpected();
    put(def, 'Directives', directives);
    put(def, 'OperationTypes', ops);
    return def;
  }

  typeDefinition(description: string, extension: boolean): Node {
    const keyword = this.peek().value;
    this.expectKeyword(keyword);
    const kinds: Record<string, string> = { scalar: 'SCALAR', type: 'OBJECT', interface: 'INTERFACE', union: 'UNION', enum: 'ENUM', input: 'INPUT_OBJECT' };
    const def: Node = { Position: this.pos(), Kind: kinds[keyword], Description: description, Name: this.name() };
    let parts = 0;
    const add = (k: string, v: unknown[]): void => {
      parts += v.length;
      put(def, k, v);
    };
    if (keyword === 'type' || (keyword === 'interface' && !extension)) add('Interfaces', this.implementsInterfaces());
    add('Directives', this.directives(keyword !== 'input' || !extension));
    if (keyword === 'type' || keyword === 'interface') add('Fields', this.some('{', '}', () => this.fieldDefinition()));
    else if (keyword === 'union') add('Types', this.unionMembers());
    else if (keyword === 'enum') add('EnumValues', this.some('{', '}', () => this.enumValueDefinition()));
    else if (keyword === 'input') add('Fields', this.some('{', '}', () => this.inputValueDefinition()));
    if (extension && parts === 0) this.unexpected();
    def.BuiltIn = false;
    return def;
  }

  implementsInterfaces(): string[] {
    const out: string[] = [];
    if (this.peek().value !== 'implements') return out;
    this.next();
    this.skip('&');
    out.push(this.name());
    while (this.skip('&')) out.push(this.name());
    return out;
  }

  unionMembers(): string[] {
    const out: string[] = [];
    if (!this.skip('=')) return out;
    this.skip('|');
    out.push(this.name());
    while (this.skip('|')) out.push(this.name());
    return out;
  }

  description(): string {
    const k = this.peek().kind;
    return k === 'BlockString' || k === 'String' ? this.next().value : '';
  }

  fieldDefinition(): Node {
    const def: Node = { Position: this.pos(), Description: this.description(), Name: this.name() };
    put(def, 'Arguments', this.some('(', ')', () => this.inputValueDefinition()));
    this.expect(':');
    def.Type = this.typeReference();
    put(def, 'Directives', this.directives(true));
    return def;
  }

  /** An argument definition or an input field: `name: Type = default @directives`. */
  inputValueDefinition(): Node {
    const def: Node = { Position: this.pos(), Description: this.description(), Name: this.name() };
    this.expect(':');
    def.Type = this.typeReference();
    if (this.skip('=')) def.DefaultValue = this.valueLiteral(true);
    put(def, 'Directives', this.directives(true));
    return def;
  }

  enumValueDefinition(): Node {
    const def: Node = { Position: this.pos(), Description: this.description(), Name: this.name() };
    put(def, 'Directives', this.directives(true));
    return def;
  }

  directiveDefinition(description: string): Node {
    this.expectKeyword('directive');
    this.expect('@');
    const def: Node = { Position: this.pos(), Description: description, Name: this.name() };
    put(def, 'Arguments', this.some('(', ')', () => this.inputValueDefinition()));
    def.IsRepeatable = false;
    const t = this.peek();
    if (t.kind === 'Name' && t.value === 'repeatable') {
      def.IsRepeatable = true;
      this.next();
    }
    this.expectKeyword('on');
    this.skip('|');
    const locations = [this.directiveLocation()];
    while (this.skip('|')) locations.push(this.directiveLocation());
    def.Locations = locations;
    return def;
  }

  directiveLocation(): string {
    const t = this.expect('Name');
    if (!LOCATIONS.has(t.value)) this.unexpected(t);
    return t.value;
  }
}

/** gqlparser's ParseQuery. Throws GraphQLSyntaxError. */
export function parseQuery(src: string): Node {
  return new Parser(src).queryDocument();
}

/** gqlparser's ParseSchema. Throws GraphQLSyntaxError. */
export function parseSchema(src: string): Node {
  return new Parser(src).schemaDocument();
}
