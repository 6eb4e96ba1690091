/**
 * `sluice policies eval -d policy.rego [-d data.json] [-i input.json] '<query>'` and
 * `sluice policies check policy.rego …`: try Rego policies locally before uploading them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYAML } from 'yaml';
import { compilePolicy, RegoError } from '../../functions/rego/index.js';
import { runTestCommand } from '../../functions/rego/testing/command.js';
import { parseJSON, quoteJSON, RObject, toJSONText } from '../../functions/rego/value.js';
import type { Value } from '../../functions/rego/value.js';

export interface CommandIO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

/** Output as functions (the contract) or as stream-like objects with write() (what bin/commands/cli.ts passes). */
type Sink = ((s: string) => void) | { write(text: string): unknown };
export interface CommandIOLike {
  stdout: Sink;
  stderr: Sink;
}

function toFn(sink: Sink): (s: string) => void {
  return typeof sink === 'function' ? sink : (s) => void sink.write(s);
}

const USAGE = `usage:
  sluice policies eval -d <policy.rego|data.json|dir> [-d …] [-i input.json] [--strict-builtin-errors] [--budget-ms N] '<query>'
  sluice policies check <policy.rego|dir> […]
  sluice policies test <dir|file.rego> […] [--verbose]

  a proxy's stored policies and governance settings (local store, or --aws):
  sluice policies set <proxy> --stage request|response <file> [--sign] [--by NAME]
  sluice policies get <proxy> --stage request|response [--json]
  sluice policies delete <proxy> --stage request|response
  sluice policies config <proxy> [--on|--off] [--request-fail-mode open|closed] […]
  ('sluice policies set --help': every option of set, get, delete and config)
`;

export async function runPoliciesCommand(argv: string[], ioLike: CommandIOLike): Promise<number> {
  const io: CommandIO = { stdout: toFn(ioLike.stdout), stderr: toFn(ioLike.stderr) };
  const [sub, ...rest] = argv;
  const helpAsked = rest.includes('--help') || rest.includes('-h');
  if ((sub === 'eval' || sub === 'check') && helpAsked) {
    io.stdout(USAGE);
    return 0;
  }
  if (sub === 'eval') return evalCommand(rest, io);
  if (sub === 'check') return checkCommand(rest, io);
  if (sub === 'test') return runTestCommand(rest, io);
  const asked = sub === 'help' || sub === '--help' || sub === '-h';
  (asked ? io.stdout : io.stderr)(USAGE);
  if (sub !== undefined && !asked) io.stderr(`sluice policies: unknown command '${sub}'\n`);
  return asked ? 0 : 2;
}

interface Loaded {
  modules: Array<{ name: string; source: string }>;
  data: Value;
}

/** Expands directories into their .rego/.json/.yaml files (sorted, recursive). */
function expandPaths(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (statSync(p).isDirectory()) {
      const entries = readdirSync(p).sort();
      out.push(...expandPaths(entries.map((e) => join(p, e)).filter((e) => statSync(e).isDirectory() || /\.(rego|json|ya?ml)$/.test(e))));
    } else out.push(p);
  }
  return out;
}

function load(paths: string[]): Loaded {
  const modules: Array<{ name: string; source: string }> = [];
  let data: Value = new RObject();
  for (const file of expandPaths(paths)) {
    const text = readFileSync(file, 'utf8');
    if (file.endsWith('.rego')) modules.push({ name: file, source: text });
    else {
      const v = /\.ya?ml$/.test(file) ? parseJSON(JSON.stringify(parseYAML(text) ?? {})) : parseJSON(text);
      data = mergeData(data, v, file);
    }
  }
  return { modules, data };
}

function mergeData(a: Value, b: Value, file: string): Value {
  if (!(a instanceof RObject) || !(b instanceof RObject)) throw new Error(`${file}: data files must hold JSON objects`);
  const out = new RObject(a.entries());
  for (const [k, v] of b.entries()) {
    const prev = out.get(k);
    out.set(k, prev instanceof RObject && v instanceof RObject ? mergeData(prev, v, file) : v);
  }
  return out;
}

function evalCommand(args: string[], io: CommandIO): number {
  const dataPaths: string[] = [];
  let inputPath: string | undefined;
  let query: string | undefined;
  let strictBuiltinErrors = false;
  let budgetMs: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--strict-builtin-errors') {
      strictBuiltinErrors = true;
      continue;
    }
    if (a === '--budget-ms') {
      const v = Number(args[++i]);
      if (!Number.isInteger(v) || v <= 0) return usageError(io, '--budget-ms needs a positive integer');
      budgetMs = v;
      continue;
    }
    if (a === '-d' || a === '--data') {
      const v = args[++i];
      if (v === undefined) return usageError(io, `${a} needs a path`);
      dataPaths.push(v);
    } else if (a === '-i' || a === '--input') {
      const v = args[++i];
      if (v === undefined) return usageError(io, `${a} needs a path`);
      inputPath = v;
    } else if (a.startsWith('-') && a.length > 1) {
      return usageError(io, `unknown flag ${a}`);
    } else if (query === undefined) {
      query = a;
    } else return usageError(io, `unexpected argument ${a}`);
  }
  if (query === undefined) return usageError(io, 'a query is required');
  try {
    const { modules, data } = load(dataPaths);
    const input = inputPath === undefined ? undefined : parseJSON(readFileSync(inputPath, 'utf8'));
    const policy = compilePolicy({ modules });
    const results = policy.queryValues(query, { input, data, strictBuiltinErrors, budgetMs, print: (line) => io.stderr(`${line}\n`) });
    const texts = policy.queryTexts(query);
    const locations = queryLocations(query, texts);
    const rows = results.map((r) => {
      const exprs = r.expressions.map((v, j) => `{"value":${toJSONText(v)},"text":${quoteJSON(texts[j] ?? '')},"location":{"row":${locations[j]!.row},"col":${locations[j]!.col}}}`);
      let row = `{"expressions":[${exprs.join(',')}]`;
      if (r.bindings.size > 0) {
        const b = new RObject([...r.bindings.entries()].map(([k, v]) => [k, v] as const));
        row += `,"bindings":${toJSONText(b)}`;
      }
      return `${row}}`;
    });
    io.stdout(results.length === 0 ? '{}\n' : `${prettyJSON(`{"result":[${rows.join(',')}]}`)}\n`);
    return 0;
  } catch (err) {
    io.stderr(`${describeError(err)}\n`);
    return 1;
  }
}

function checkCommand(args: string[], io: CommandIO): number {
  if (args.length === 0) return usageError(io, 'check needs at least one .rego file');
  try {
    const files = expandPaths(args).filter((f) => f.endsWith('.rego'));
    if (files.length === 0) return usageError(io, 'no .rego files found');
    compilePolicy({ modules: files.map((f) => ({ name: f, source: readFileSync(f, 'utf8') })) });
    io.stdout(`${files.length} module${files.length === 1 ? '' : 's'} OK\n`);
    return 0;
  } catch (err) {
    io.stderr(`${describeError(err)}\n`);
    return 1;
  }
}

function describeError(err: unknown): string {
  if (err instanceof RegoError) {
    const where = err.line > 0 ? `${err.file === '' ? 'query' : err.file}:${err.line}:${err.col}: ` : '';
    return `${where}${err.code}: ${err.detail}`;
  }
  return `error: ${(err as Error).message}`;
}

function usageError(io: CommandIO, msg: string): number {
  io.stderr(`error: ${msg}\n${USAGE}`);
  return 2;
}

function queryLocations(query: string, texts: readonly string[]): Array<{ row: number; col: number }> {
  let from = 0;
  return texts.map((t) => {
    const at = Math.max(0, query.indexOf(t, from));
    from = at + t.length;
    const before = query.slice(0, at);
    const row = before.split('\n').length;
    const col = at - before.lastIndexOf('\n');
    return { row, col };
  });
}


/** Re-indents compact JSON text with two spaces (as `opa eval --format json` prints). */
function prettyJSON(text: string): string {
  let out = '';
  let depth = 0;
  let inStr = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inStr) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inStr = false;
      continue;
    }
    if (c === '"') {
      inStr = true;
      out += c;
    } else if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      if (text[i + 1] === close) {
        out += c + close;
        i++;
      } else {
        depth++;
        out += `${c}\n${'  '.repeat(depth)}`;
      }
    } else if (c === '}' || c === ']') {
      depth--;
      out += `\n${'  '.repeat(depth)}${c}`;
    } else if (c === ',') {
      out += `,\n${'  '.repeat(depth)}`;
    } else if (c === ':') {
      out += ': ';
    } else out += c;
  }
  return out;
}
