/**
 * strings.render_template: a subset of Go's text/template, executed as OPA does (variables
 * JSON-decoded, so numbers are float64; missingkey=error). Supported: text, {{- -}} trimming,
 * comments, fields (.a.b), variables ($, $x, := and =), literals, pipelines with |, parentheses,
 * if / else if / else, range (with $i, $v :=, over arrays and maps in key order, else), with,
 * and the functions len, index, printf, print, println, eq, ne, lt, le, gt, ge, and, or, not.
 * Templates are bounded by the evaluation deadline.
 */
import { compareStrings, toJSONText } from '../value.js';
import { goSprintf, formatFloat, type GoArg } from './gofmt.js';
import { builtinError, def, object, str } from './operands.js';
import type { BuiltinContext, BuiltinDef } from './types.js';

/** A JSON number as OPA hands it to templates: Go's json.Number, a string type spelled as the number. */
class JNum {
  constructor(readonly text: string) {}
}

type GoValue = null | boolean | number | string | JNum | GoValue[] | { [k: string]: GoValue };

/** JSON-decodes with numbers kept as json.Number, as OPA's util.UnmarshalJSON (UseNumber) does. */
function decodeUseNumber(text: string): GoValue {
  return JSON.parse(text, (_k, v: unknown, ctx?: { source?: string }) => (typeof v === 'number' ? new JNum(ctx?.source ?? String(v)) : v)) as GoValue;
}

class TemplateError extends Error {}

// ---- lexing ----

type Tok =
  | { k: 'field'; names: string[] }
  | { k: 'var'; name: string; names: string[] }
  | { k: 'ident'; v: string }
  | { k: 'str'; v: string }
  | { k: 'num'; v: number }
  | { k: 'bool'; v: boolean }
  | { k: 'nil' }
  | { k: 'dot' }
  | { k: '(' | ')' | '|' | ':=' | '=' | ',' };

function lexAction(src: string, line: number): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const fail = (msg: string): never => {
    throw new TemplateError(`template: template:${line}: ${msg}`);
  };
  const names = (): string[] => {
    const list: string[] = [];
    while (src[i] === '.' && /[A-Za-z_]/.test(src[i + 1] ?? '')) {
      i++;
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      list.push(m[0]);
      i += m[0].length;
    }
    return list;
  };
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === '|' || c === ',') {
      out.push({ k: c });
      i++;
    } else if (c === ':' && src[i + 1] === '=') {
      out.push({ k: ':=' });
      i += 2;
    } else if (c === '=') {
      out.push({ k: '=' });
      i++;
    } else if (c === '.') {
      const list = names();
      if (list.length === 0) {
        i++;
        out.push({ k: 'dot' });
      } else {
        out.push({ k: 'field', names: list });
      }
    } else if (c === '$') {
      const m = /^\$[A-Za-z0-9_]*/.exec(src.slice(i))!;
      i += m[0].length;
      out.push({ k: 'var', name: m[0], names: names() });
    } else if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) fail('unterminated quoted string');
      try {
        out.push({ k: 'str', v: JSON.parse(src.slice(i, j + 1)) as string });
      } catch {
        fail(`bad string syntax: ${src.slice(i, j + 1)}`);
      }
      i = j + 1;
    } else if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) fail('unterminated raw quoted string');
      out.push({ k: 'str', v: src.slice(i + 1, j) });
      i = j + 1;
    } else if (/[-+0-9]/.test(c)) {
      const m = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?/.exec(src.slice(i));
      if (!m) fail(`bad number syntax: ${c}`);
      out.push({ k: 'num', v: Number(m![0]) });
      i += m![0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      i += m[0].length;
      if (m[0] === 'true' || m[0] === 'false') out.push({ k: 'bool', v: m[0] === 'true' });
      else if (m[0] === 'nil') out.push({ k: 'nil' });
      else out.push({ k: 'ident', v: m[0] });
    } else {
      fail(`unexpected "${c}" in command`);
    }
  }
  return out;
}

// ---- parsing ----

type Operand = { t: 'tok'; tok: Tok } | { t: 'pipe'; pipe: Pipeline; names: string[] };
interface Command {
  args: Operand[];
}
interface Pipeline {
  decl: string[];
  assign: boolean;
  cmds: Command[];
  src: string;
  line: number;
}
type Node =
  | { n: 'text'; v: string }
  | { n: 'action'; p: Pipeline }
  | { n: 'if' | 'with'; p: Pipeline; body: Node[]; alt: Node[] }
  | { n: 'range'; p: Pipeline; body: Node[]; alt: Node[] };

function parsePipeline(toks: Tok[], src: string, line: number): Pipeline {
  let pos = 0;
  const decl: string[] = [];
  let assign = false;
  // $x := … / $i, $v := … / $x = …
  const look = toks.findIndex((t) => t.k === ':=' || t.k === '=');
  if (look > 0 && toks.slice(0, look).every((t) => t.k === 'var' || t.k === ',')) {
    for (const t of toks.slice(0, look)) if (t.k === 'var') decl.push(t.name);
    assign = toks[look]!.k === '=';
    pos = look + 1;
  }
  const parseCmds = (): Command[] => {
    const cmds: Command[] = [];
    let args: Operand[] = [];
    while (pos < toks.length) {
      const t = toks[pos]!;
      if (t.k === ')') break;
      pos++;
      if (t.k === '|') {
        if (args.length === 0) throw new TemplateError(`template: template:${line}: missing value for command`);
        cmds.push({ args });
        args = [];
      } else if (t.k === '(') {
        const inner = parseCmds();
        if (toks[pos]?.k !== ')') throw new TemplateError(`template: template:${line}: unclosed left paren`);
        pos++;
        let names: string[] = [];
        const next = toks[pos];
        if (next && next.k === 'field' && src) {
          names = next.names;
          pos++;
        }
        args.push({ t: 'pipe', pipe: { decl: [], assign: false, cmds: inner, src, line }, names });
      } else {
        args.push({ t: 'tok', tok: t });
      }
    }
    if (args.length > 0) cmds.push({ args });
    return cmds;
  };
  const cmds = parseCmds();
  if (pos < toks.length) throw new TemplateError(`template: template:${line}: unexpected ")" in operand`);
  if (cmds.length === 0) throw new TemplateError(`template: template:${line}: missing value for command`);
  return { decl, assign, cmds, src, line };
}

// text/template trims these around {{- and -}}.
const isTrimSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';

function trimLeftSpace(s: string): string {
  let i = 0;
  while (isTrimSpace(s[i])) i++;
  return s.slice(i);
}

function trimRightSpace(s: string): string {
  let i = s.length;
  while (i > 0 && isTrimSpace(s[i - 1])) i--;
  return s.slice(0, i);
}

function parseTemplate(text: string): Node[] {
  // Split into text and actions, applying {{- and -}} trimming.
  type Piece = { text: string } | { action: string; line: number };
  const pieces: Piece[] = [];
  let i = 0;
  let trimNext = false;
  let line = 1;
  let counted = 0;
  while (i < text.length) {
    const open = text.indexOf('{{', i);
    let chunk = open < 0 ? text.slice(i) : text.slice(i, open);
    if (trimNext) chunk = trimLeftSpace(chunk);
    trimNext = false;
    if (open < 0) {
      if (chunk) pieces.push({ text: chunk });
      break;
    }
    let start = open + 2;
    if (text.startsWith('- ', start) || text.startsWith('-\t', start) || text.startsWith('-\n', start)) {
      chunk = trimRightSpace(chunk);
      start += 1;
    }
    if (chunk) pieces.push({ text: chunk });
    for (; counted < open; counted++) if (text.charCodeAt(counted) === 10) line++;
    const close = text.indexOf('}}', start);
    if (close < 0) throw new TemplateError(`template: template:${line}: unclosed action`);
    let body = text.slice(start, close);
    if (body.length >= 2 && body.endsWith('-') && isTrimSpace(body[body.length - 2])) {
      body = body.slice(0, -1);
      trimNext = true;
    }
    i = close + 2;
    const trimmed = body.trim();
    if (trimmed.startsWith('/*')) {
      if (!trimmed.endsWith('*/')) throw new TemplateError(`template: template:${line}: unclosed comment`);
      continue;
    }
    pieces.push({ action: trimmed, line });
  }

  let p = 0;
  const parseList = (terminators: string[]): { nodes: Node[]; end: string; rest: string; line: number } => {
    const nodes: Node[] = [];
    while (p < pieces.length) {
      const piece = pieces[p++]!;
      if ('text' in piece) {
        nodes.push({ n: 'text', v: piece.text });
        continue;
      }
      const { action, line } = piece;
      const word = /^[a-z]+/.exec(action)?.[0] ?? '';
      if (terminators.includes(word)) return { nodes, end: word, rest: action.slice(word.length).trim(), line };
      if (word === 'if' || word === 'with' || word === 'range') {
        nodes.push(parseControl(word, action.slice(word.length).trim(), line));
        continue;
      }
      if (word === 'end' || word === 'else') throw new TemplateError(`template: template:${line}: unexpected {{${word}}}`);
      if (word === 'define' || word === 'template' || word === 'block' || word === 'break' || word === 'continue') {
        throw new TemplateError(`template: template:${line}: {{${word}}} is not supported`);
      }
      nodes.push({ n: 'action', p: parsePipeline(lexAction(action, line), action, line) });
    }
    if (terminators.length > 0) throw new TemplateError(`template: template:${pieces.length}: unexpected EOF`);
    return { nodes, end: '', rest: '', line: 0 };
  };
  const parseControl = (kind: 'if' | 'with' | 'range', rest: string, line: number): Node => {
    const pipe = parsePipeline(lexAction(rest, line), rest, line);
    const body = parseList(['else', 'end']);
    let alt: Node[] = [];
    if (body.end === 'else') {
      const elseRest = body.rest;
      if (kind === 'if' && elseRest.startsWith('if')) {
        // {{else if …}} chains into a nested if that shares this {{end}}.
        alt = [parseControl('if', elseRest.slice(2).trim(), body.line)];
      } else {
        const a = parseList(['end']);
        alt = a.nodes;
      }
    }
    return { n: kind, p: pipe, body: body.nodes, alt } as Node;
  };
  return parseList([]).nodes;
}

// ---- execution ----

function truth(v: GoValue | undefined): boolean {
  if (v === null || v === undefined) return false;
  if (v instanceof JNum) return v.text.length > 0;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  return Object.keys(v as Record<string, GoValue>).length > 0;
}

/** fmt's %v of a JSON-decoded Go value. */
function goPrint(v: GoValue | undefined): string {
  if (v === undefined || v === null) return '<no value>';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : formatFloat(v, 'g', undefined);
  if (v instanceof JNum) return v.text;
  if (Array.isArray(v)) return `[${v.map((x) => (x === null ? '<nil>' : goPrint(x))).join(' ')}]`;
  const o = v as Record<string, GoValue>;
  const keys = Object.keys(o).sort(compareStrings);
  return `map[${keys.map((k) => `${k}:${o[k] === null ? '<nil>' : goPrint(o[k])}`).join(' ')}]`;
}

function goArg(v: GoValue | undefined): GoArg {
  if (typeof v === 'number') return Number.isInteger(v) ? { kind: 'int', v: BigInt(v), big: false } : { kind: 'float', v };
  if (v instanceof JNum) return { kind: 'string', v: v.text, typeName: 'json.Number' };
  if (typeof v === 'string') return { kind: 'string', v };
  return { kind: 'string', v: goPrint(v) };
}

/** Go's template comparison by basic kind: json.Number and strings compare as strings. */
function compare(a: GoValue | undefined, b: GoValue | undefined, op: string): boolean {
  const kind = (v: GoValue | undefined): string =>
    v instanceof JNum || typeof v === 'string' ? 'string' : typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'bool' : 'other';
  const ka = kind(a);
  const kb = kind(b);
  if (ka !== kb || ka === 'other') {
    if ((op === 'eq' || op === 'ne') && ka === 'other' && kb === 'other') throw new TemplateError('non-comparable types');
    throw new TemplateError('incompatible types for comparison');
  }
  const x = a instanceof JNum ? a.text : a;
  const y = b instanceof JNum ? b.text : b;
  if (op === 'eq') return x === y;
  if (op === 'ne') return x !== y;
  if (ka === 'bool') throw new TemplateError('invalid type for comparison');
  const c = x! < y! ? -1 : x! > y! ? 1 : 0;
  return op === 'lt' ? c < 0 : op === 'le' ? c <= 0 : op === 'gt' ? c > 0 : c >= 0;
}

class Exec {
  out = '';
  private steps = 0;
  constructor(
    private readonly ctx: BuiltinContext,
    private readonly root: GoValue,
  ) {}

  run(nodes: readonly Node[], dot: GoValue | undefined, vars: Map<string, GoValue | undefined>): void {
    for (const node of nodes) {
      if ((++this.steps & 0x3ff) === 0) this.ctx.checkDeadline();
      if (this.out.length > 1 << 22) throw new TemplateError('template output too large');
      switch (node.n) {
        case 'text':
          this.out += node.v;
          break;
        case 'action': {
          const v = this.pipeline(node.p, dot, vars);
          if (node.p.decl.length === 0) this.out += goPrint(v);
          break;
        }
        case 'if': {
          const scope = new Map(vars);
          if (truth(this.pipeline(node.p, dot, scope))) this.run(node.body, dot, scope);
          else this.run(node.alt, dot, scope);
          break;
        }
        case 'with': {
          const scope = new Map(vars);
          const v = this.pipeline(node.p, dot, scope);
          if (truth(v)) this.run(node.body, v, scope);
          else this.run(node.alt, dot, scope);
          break;
        }
        case 'range': {
          const scope = new Map(vars);
          const declared = node.p.decl;
          const v = this.pipeline({ ...node.p, decl: [] }, dot, scope);
          const entries: Array<[GoValue, GoValue]> = Array.isArray(v)
            ? v.map((x, i) => [i, x])
            : v !== null && typeof v === 'object' && !(v instanceof JNum)
              ? Object.keys(v).sort(compareStrings).map((k) => [k, (v as Record<string, GoValue>)[k]!])
              : typeof v === 'number'
                ? Array.from({ length: Math.max(0, Math.floor(v)) }, (_, i) => [i, i] as [GoValue, GoValue])
                : [];
          if (v instanceof JNum || (v !== null && v !== undefined && typeof v !== 'object' && typeof v !== 'number')) {
            this.fail(node.p, `range can't iterate over ${goPrint(v)}`);
          }
          if (entries.length === 0) {
            this.run(node.alt, dot, scope);
            break;
          }
          for (const [k, x] of entries) {
            const inner = new Map(scope);
            if (declared.length === 1) inner.set(declared[0]!, x);
            if (declared.length === 2) {
              inner.set(declared[0]!, k);
              inner.set(declared[1]!, x);
            }
            this.run(node.body, x, inner);
          }
          break;
        }
      }
    }
  }

  private fail(p: Pipeline, msg: string): never {
    throw new TemplateError(`template: template:${p.line}: executing "template" at <${p.src}>: ${msg}`);
  }

  pipeline(p: Pipeline, dot: GoValue | undefined, vars: Map<string, GoValue | undefined>): GoValue | undefined {
    let prev: GoValue | undefined;
    let first = true;
    for (const cmd of p.cmds) {
      prev = this.command(p, cmd, dot, vars, first ? undefined : { v: prev });
      first = false;
    }
    for (const name of p.decl) {
      if (p.assign && !vars.has(name)) this.fail(p, `undefined variable: ${name}`);
      vars.set(name, prev);
    }
    return prev;
  }

  private fields(p: Pipeline, v: GoValue | undefined, names: readonly string[]): GoValue | undefined {
    let cur = v;
    for (const n of names) {
      if (cur === null || cur === undefined) this.fail(p, `nil pointer evaluating interface {}.${n}`);
      if (typeof cur !== 'object' || Array.isArray(cur) || cur instanceof JNum) {
        const t = Array.isArray(cur) ? '[]interface {}' : cur instanceof JNum ? 'json.Number' : typeof cur === 'number' ? 'int' : typeof cur;
        this.fail(p, `can't evaluate field ${n} in type ${t}`);
      }
      if (!Object.prototype.hasOwnProperty.call(cur, n)) this.fail(p, `map has no entry for key "${n}"`);
      cur = (cur as Record<string, GoValue>)[n];
    }
    return cur;
  }

  private operand(p: Pipeline, o: Operand, dot: GoValue | undefined, vars: Map<string, GoValue | undefined>): GoValue | undefined {
    if (o.t === 'pipe') return this.fields(p, this.pipeline(o.pipe, dot, new Map(vars)), o.names);
    const t = o.tok;
    switch (t.k) {
      case 'dot':
        return dot;
      case 'field':
        return this.fields(p, dot, t.names);
      case 'var': {
        if (t.name === '$') return this.fields(p, this.root, t.names);
        if (!vars.has(t.name)) this.fail(p, `undefined variable: ${t.name}`);
        return this.fields(p, vars.get(t.name), t.names);
      }
      case 'str':
        return t.v;
      case 'num':
        return t.v;
      case 'bool':
        return t.v;
      case 'nil':
        return null;
      case 'ident':
        return this.call(p, t.v, [], dot, vars, undefined);
      default:
        return this.fail(p, `unexpected ${t.k} in operand`);
    }
  }

  private command(p: Pipeline, cmd: Command, dot: GoValue | undefined, vars: Map<string, GoValue | undefined>, piped: { v: GoValue | undefined } | undefined): GoValue | undefined {
    const head = cmd.args[0]!;
    if (head.t === 'tok' && head.tok.k === 'ident') return this.call(p, head.tok.v, cmd.args.slice(1), dot, vars, piped);
    if (cmd.args.length > 1 || piped) this.fail(p, "can't give argument to non-function");
    return this.operand(p, head, dot, vars);
  }

  private call(p: Pipeline, fn: string, argOps: Operand[], dot: GoValue | undefined, vars: Map<string, GoValue | undefined>, piped: { v: GoValue | undefined } | undefined): GoValue | undefined {
    // and/or evaluate lazily, as Go does.
    if (fn === 'and' || fn === 'or') {
      let last: GoValue | undefined;
      const values = piped ? [...argOps.map((o) => () => this.operand(p, o, dot, vars)), () => piped.v] : argOps.map((o) => () => this.operand(p, o, dot, vars));
      if (values.length === 0) this.fail(p, `wrong number of args for ${fn}: want at least 1 got 0`);
      for (const get of values) {
        last = get();
        if (fn === 'and' ? !truth(last) : truth(last)) return last;
      }
      return last;
    }
    const args = argOps.map((o) => this.operand(p, o, dot, vars));
    if (piped) args.push(piped.v);
    const want = (n: number): void => {
      if (args.length !== n) this.fail(p, `wrong number of args for ${fn}: want ${n} got ${args.length}`);
    };
    switch (fn) {
      case 'len': {
        want(1);
        const v = args[0];
        if (typeof v === 'string') return Buffer.byteLength(v, 'utf8');
        if (v instanceof JNum) return Buffer.byteLength(v.text, 'utf8');
        if (Array.isArray(v)) return v.length;
        if (v !== null && typeof v === 'object') return Object.keys(v).length;
        return this.fail(p, `error calling len: len of type ${typeof v === 'number' ? 'float64' : goPrint(v)}`);
      }
      case 'index': {
        let cur = args[0];
        for (const k of args.slice(1)) {
          if (Array.isArray(cur) && typeof k === 'number') {
            if (k < 0 || k >= cur.length) this.fail(p, `error calling index: index out of range: ${k}`);
            cur = cur[k];
          } else if (cur !== null && typeof cur === 'object' && !Array.isArray(cur) && !(cur instanceof JNum) && typeof k === 'string') {
            cur = Object.prototype.hasOwnProperty.call(cur, k) ? cur[k] : null;
          } else {
            this.fail(p, `error calling index: cannot index ${goPrint(cur)} with ${goPrint(k)}`);
          }
        }
        return cur;
      }
      case 'printf': {
        if (args.length === 0 || typeof args[0] !== 'string') this.fail(p, 'wrong number of args for printf: want at least 1 got 0');
        return goSprintf(args[0] as string, args.slice(1).map(goArg));
      }
      case 'print':
      case 'println': {
        // fmt.Sprint adds spaces between operands when neither is a string; Sprintln always.
        let s = '';
        args.forEach((a, i) => {
          if (i > 0 && (fn === 'println' || (typeof a !== 'string' && typeof args[i - 1] !== 'string'))) s += ' ';
          s += goPrint(a);
        });
        return fn === 'println' ? `${s}\n` : s;
      }
      case 'not':
        want(1);
        return !truth(args[0]);
      case 'eq':
      case 'ne':
      case 'lt':
      case 'le':
      case 'gt':
      case 'ge':
        want(2);
        try {
          return compare(args[0], args[1], fn);
        } catch (e) {
          return this.fail(p, `error calling ${fn}: ${e instanceof Error ? e.message : String(e)}`);
        }
      default:
        throw new TemplateError(`template: template:${p.line}: function "${fn}" not defined`);
    }
  }
}

const parsedCache = new Map<string, Node[]>();

export const templateBuiltins: readonly BuiltinDef[] = [
  def('strings.render_template', ['string', 'object'], 'string', (args, ctx) => {
    const tpl = str('strings.render_template', args, 0);
    const vars = object('strings.render_template', args, 1);
    try {
      let nodes = parsedCache.get(tpl);
      if (!nodes) {
        nodes = parseTemplate(tpl);
        if (parsedCache.size >= 200) parsedCache.delete(parsedCache.keys().next().value!);
        parsedCache.set(tpl, nodes);
      }
      const data = decodeUseNumber(toJSONText(vars));
      const exec = new Exec(ctx, data);
      exec.run(nodes, data, new Map([['$', data]]));
      return exec.out;
    } catch (e) {
      if (e instanceof TemplateError) throw builtinError('strings.render_template', e.message);
      throw e;
    }
  }),
];
