// The `sluice` CLI entry: `npm run sluice -- …`, `npx tsx bin/sluice.ts …`, or the
// package bin (bin/sluice.js, which registers tsx and imports this file).
import { runCli } from './commands/cli.js';

process.exitCode = await runCli(process.argv.slice(2), process);
