/**
 * `sluice policies test <path…> [--verbose]`: run the Rego unit tests under the paths like
 * `opa test`. Exit 0 when every test passes, 1 on a failing or erroring test (or none
 * found, or a policy that does not compile), 2 on a usage error.
 */
import { RegoError } from '../errors.js';
import { formatTestReport, exitCodeFor } from './report.js';
import { loadTestTree, TestLoadError } from './load.js';
import { runTests } from './runner.js';
import type { TestRunOptions } from './runner.js';

export interface TestCommandIO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

export const TEST_USAGE = 'usage: sluice policies test <dir|file.rego> […] [--verbose]\n';

export function runTestCommand(args: readonly string[], io: TestCommandIO, opts: TestRunOptions = {}): number {
  let verbose = false;
  const paths: string[] = [];
  for (const a of args) {
    if (a === '--verbose' || a === '-v') verbose = true;
    else if (a === '--help' || a === '-h') {
      io.stdout(TEST_USAGE);
      return 0;
    } else if (a.startsWith('-') && a.length > 1) return usage(io, `unknown flag ${a}`);
    else paths.push(a);
  }
  if (paths.length === 0) return usage(io, 'a directory or .rego file is required');
  let tree;
  try {
    tree = loadTestTree(paths);
  } catch (err) {
    if (!(err instanceof TestLoadError)) throw err;
    return usage(io, err.message);
  }
  if (!tree.modules.some((m) => m.name.endsWith('.rego'))) {
    io.stderr(`error: no .rego files under ${paths.join(', ')}\n`);
    return 1;
  }
  let results;
  try {
    results = runTests(tree, opts);
  } catch (err) {
    if (!(err instanceof RegoError)) throw err;
    io.stderr(`${describe(err)}\n`);
    return 1;
  }
  if (results.length === 0) {
    io.stderr('error: no test_ rules found\n');
    return 1;
  }
  io.stdout(formatTestReport(results, { verbose }));
  return exitCodeFor(results);
}

function describe(err: RegoError): string {
  const where = err.line > 0 ? `${err.file === '' ? 'query' : err.file}:${err.line}:${err.col}: ` : '';
  return `${where}${err.code}: ${err.detail}`;
}

function usage(io: TestCommandIO, message: string): number {
  io.stderr(`error: ${message}\n${TEST_USAGE}`);
  return 2;
}
