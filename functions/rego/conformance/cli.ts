/** `npm run rego:conformance -- <dir> [<dir>…]`: runs OPA-format YAML cases and prints failures and counts. */
import '../../../bin/require-node.js'; // first: refuses a Node older than 24
import { formatSummary, runSuite } from './runner.js';

const dirs = process.argv.slice(2).filter((a) => a !== '--');
if (dirs.length === 0) {
  process.stderr.write('usage: npm run rego:conformance -- <dir> [<dir>…]\n');
  process.exit(2);
}
const summary = runSuite(dirs);
process.stdout.write(`${formatSummary(summary)}\n`);
process.exitCode = summary.failed > 0 ? 1 : 0;
