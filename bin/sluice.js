#!/usr/bin/env node
// The package bin: registers tsx so the TypeScript CLI runs without a build step.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('./sluice.ts');
process.exitCode = await runCli(process.argv.slice(2), process);
