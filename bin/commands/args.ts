import type { AwsTarget } from './aws-target.js';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { secretFingerprint } from '../../functions/stores/keys.js';
import type { ControlStore } from '../../functions/stores/types.js';

/** Where a command writes. `process` satisfies it; tests pass collectors. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

export const EXIT_OK = 0;
/** The command was understood but failed (unknown proxy, store error…). */
export const EXIT_FAILURE = 1;
/** The command line itself is wrong. */
export const EXIT_USAGE = 2;

/** A command-line mistake: printed with the command's usage hint, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure to report as-is, exit code 1. */
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandError';
  }
}

type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface ParsedCommand {
  positionals: string[];
  values: Record<string, string | boolean | string[] | undefined>;
}

/** node:util parseArgs in strict mode, with its errors turned into short UsageErrors. */
export function parseCommand(argv: string[], options: OptionSpec): ParsedCommand {
  try {
    const parsed = parseArgs({
      args: argv,
      options: { help: { type: 'boolean', short: 'h' }, ...options },
      allowPositionals: true,
      strict: true,
    });
    return { positionals: parsed.positionals, values: parsed.values as ParsedCommand['values'] };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code.startsWith('ERR_PARSE_ARGS')) {
      // Drop node's hint about "--" that follows the first sentence.
      throw new UsageError((error as Error).message.replace(/\. To specify a positional.*$/s, ''));
    }
    throw error;
  }
}

export function stringOption(values: ParsedCommand['values'], name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

export function listOption(values: ParsedCommand['values'], name: string): string[] {
  const value = values[name];
  return Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
}

export function flag(values: ParsedCommand['values'], name: string): boolean {
  return values[name] === true;
}

/** Exactly `names.length` positionals, named in the error when one is missing or extra. */
export function expectPositionals(positionals: string[], names: string[]): string[] {
  if (positionals.length < names.length) throw new UsageError(`missing ${names[positionals.length]}`);
  if (positionals.length > names.length) {
    throw new UsageError(`unexpected argument '${positionals[names.length]}'`);
  }
  return positionals;
}

/** Options every command accepts anywhere on the line (`sluice proxies list --aws`). */
export interface GlobalOptions {
  aws: boolean;
  stack?: string;
  region?: string;
  dataDir?: string;
}

const GLOBAL_VALUE_OPTIONS = new Map<string, 'stack' | 'region' | 'dataDir'>([
  ['--stack', 'stack'],
  ['--region', 'region'],
  ['--data-dir', 'dataDir'],
]);

/** Removes the global options from argv (up to a `--`), returning them and the rest. */
export function extractGlobalOptions(argv: string[]): { global: GlobalOptions; rest: string[] } {
  const global: GlobalOptions = { aws: false };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (arg === '--aws') {
      global.aws = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const field = GLOBAL_VALUE_OPTIONS.get(name);
    if (!field) {
      rest.push(arg);
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '' || (eq < 0 && value.startsWith('--'))) {
      throw new UsageError(`option '${name}' needs a value`);
    }
    global[field] = value;
  }
  if (!global.aws && (global.stack !== undefined || global.region !== undefined)) {
    throw new UsageError('--stack and --region select a deployed stack and need --aws');
  }
  if (global.aws && global.dataDir !== undefined) {
    throw new UsageError('--data-dir is for the local store and cannot be combined with --aws');
  }
  return { global, rest };
}

const DURATION_UNITS_MS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** `90s`, `15m`, `12h`, `30d`, `2w` → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d{1,6})([smhdw])$/.exec(text.trim());
  const amount = match ? Number(match[1]) : 0;
  if (!match || amount <= 0) {
    throw new UsageError(`'${text}' is not a duration: use a positive number and a unit s, m, h, d or w (e.g. 30d)`);
  }
  return amount * (DURATION_UNITS_MS[match[2] as string] as number);
}

export function writeLine(stream: CliIo['stdout'], line = ''): void {
  stream.write(line + '\n');
}

/** What the proxies and keys commands need: the store (opened lazily, so `--help` needs none) and a clock. */
export interface StoreCommandDeps {
  openStore(): Promise<ControlStore>;
  now?: () => Date;
  /** True when the store is a deployed stack's (`--aws`), for hints that differ there. */
  aws?: boolean;
  /** With `--aws`: the deployed stack's outputs (resolved once per command). */
  awsTarget?: () => Promise<AwsTarget>;
  /** With `--aws`: drops entries of the deployed gateway's DynamoDB cache layer (bin/commands/aws-apply.ts). */
  forgetCached?: (keys: string[]) => Promise<void>;
}

/**
 * Masks anything shaped like an API key (`sk-…`, gateway or provider) that an
 * error message might echo from the command line, e.g. a key pasted where an id
 * belongs, keeping only its 8-hex fingerprint.
 */
export function redactSecrets(text: string): string {
  return text.replace(/sk-[A-Za-z0-9_-]{8,}/g, (secret) => `sk-… (fingerprint ${secretFingerprint(secret)})`);
}

/**
 * Runs a command, turning its errors into a message and an exit code:
 * usage errors → 2 with a pointer to `--help`, everything else → 1, with any
 * key-shaped text masked.
 */
export async function runReportingErrors(io: CliIo, command: string, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof UsageError) {
      writeLine(io.stderr, redactSecrets(`sluice ${command}: ${error.message}`));
      writeLine(io.stderr, redactSecrets(`Run 'sluice ${command.split(' ')[0]} --help' for usage.`));
      return EXIT_USAGE;
    }
    writeLine(io.stderr, redactSecrets(`sluice ${command}: ${error instanceof Error ? error.message : String(error)}`));
    return EXIT_FAILURE;
  }
}
