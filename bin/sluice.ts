// The `sluice` CLI entry: `npm run sluice -- …`, `npx tsx bin/sluice.ts …`, or the
// package bin (bin/sluice.js, which registers tsx and imports this file).
import './require-node.js'; // first: refuses a Node older than 24 before anything else loads
import { runCli } from './commands/cli.js';

process.exitCode = await runCli(process.argv.slice(2), process);
