/**
 * Reads a test tree from disk: every .rego file as a module and every .json/.yaml file as
 * data merged at the root of the data document (as `opa test <dir>` loads them).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYAML } from 'yaml';
import { fromJSON, RObject } from '../value.js';
import type { Value } from '../value.js';
import type { TestModules } from './runner.js';

export class TestLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TestLoadError';
  }
}

export function loadTestTree(paths: readonly string[]): TestModules {
  const modules: Array<{ name: string; source: string }> = [];
  let data: Value = new RObject();
  for (const file of listFiles(paths)) {
    const text = readFileSync(file, 'utf8');
    if (file.endsWith('.rego')) {
      modules.push({ name: file, source: text });
      continue;
    }
    let doc: unknown;
    try {
      doc = file.endsWith('.json') ? JSON.parse(text) : parseYAML(text);
    } catch (err) {
      throw new TestLoadError(`${file}: ${(err as Error).message}`);
    }
    const v = fromJSON(doc ?? {});
    if (!(v instanceof RObject)) throw new TestLoadError(`${file}: data files must hold an object`);
    data = merge(data as RObject, v, file);
  }
  return { modules, data };
}

/** Files under the paths, sorted per directory, recursively; hidden entries are skipped. */
function listFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      throw new TestLoadError(`${p}: no such file or directory`);
    }
    if (!isDir) {
      out.push(p);
      continue;
    }
    const entries = readdirSync(p)
      .filter((e) => !e.startsWith('.'))
      .sort()
      .map((e) => join(p, e))
      .filter((e) => statSync(e).isDirectory() || /\.(rego|json|ya?ml)$/.test(e));
    out.push(...listFiles(entries));
  }
  return out;
}

function merge(a: RObject, b: RObject, file: string): RObject {
  const out = new RObject(a.entries());
  for (const [k, v] of b.entries()) {
    const prev = out.get(k);
    if (prev === undefined) out.set(k, v);
    else if (prev instanceof RObject && v instanceof RObject) out.set(k, merge(prev, v, file));
    else throw new TestLoadError(`${file}: conflicts with data loaded before it at ${JSON.stringify(k)}`);
  }
  return out;
}
