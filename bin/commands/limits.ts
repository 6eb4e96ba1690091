import type { LimitDefinition } from '../../functions/spend/definitions.js';
import { CommandError, EXIT_OK, EXIT_USAGE, expectPositionals, flag, parseCommand, runReportingErrors, stringOption, UsageError, writeLine, type CliIo } from './args.js';
import { requireScopeExists, scopeOption, writeSpendApplyNote, type SpendCommandDeps } from './budgets.js';
import { formatTable, writeJson } from './output.js';

export const LIMITS_HELP = `Usage: sluice limits <command> [options]

Commands:
  set (--key ID | --proxy ID) [--rpm N] [--tpm N]
                      set (or replace) requests and/or tokens per minute
  show (--key ID | --proxy ID) [--json]
  list [--json]
  delete (--key ID | --proxy ID)

Tokens per minute count each request's upper bound (prompt bound + max_tokens), as
OpenAI does. Windows are UTC minutes, shared by every instance (Redis when
ElastiCache is on, else DynamoDB). Changes apply within 5 s.
Global options: --data-dir <dir> (local store, default .sluice), --aws [--stack NAME] [--region R]`;

export async function runLimitsCommand(argv: string[], io: CliIo, deps: SpendCommandDeps): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    writeLine(sub === undefined ? io.stderr : io.stdout, LIMITS_HELP);
    return sub === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const now = deps.now ?? Date.now;
  return runReportingErrors(io, `limits ${sub}`, async () => {
    const { positionals, values } = parseCommand(rest, {
      key: { type: 'string' },
      proxy: { type: 'string' },
      rpm: { type: 'string' },
      tpm: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (flag(values, 'help')) {
      writeLine(io.stdout, LIMITS_HELP);
      return EXIT_OK;
    }
    expectPositionals(positionals, []);
    switch (sub) {
      case 'set': {
        const ref = scopeOption(values, ['key', 'proxy']);
        const rpm = countOption(values, 'rpm');
        const tpm = countOption(values, 'tpm');
        if (rpm === undefined && tpm === undefined) throw new UsageError('give --rpm, --tpm or both');
        const limit: LimitDefinition = { ...ref, ...(rpm !== undefined ? { rpm } : {}), ...(tpm !== undefined ? { tpm } : {}), updatedAt: new Date(now()).toISOString() };
        await requireScopeExists(ref, deps);
        const { config } = await deps.open();
        await config.putLimit(limit);
        writeLine(io.stdout, `limit set: ${ref.scope} ${ref.scopeId}, ${describe(limit)}`);
        writeSpendApplyNote(io, deps);
        return EXIT_OK;
      }
      case 'show': {
        const ref = scopeOption(values, ['key', 'proxy']);
        const { config } = await deps.open();
        const [limit] = await config.getLimits([ref]);
        if (!limit) throw new CommandError(`no limit for ${ref.scope} ${ref.scopeId} (see: sluice limits list)`);
        print(io, [limit], flag(values, 'json'), true);
        return EXIT_OK;
      }
      case 'list': {
        const { config } = await deps.open();
        const limits = (await config.listLimits()).sort((a, b) => a.scope.localeCompare(b.scope) || a.scopeId.localeCompare(b.scopeId));
        if (limits.length === 0 && !flag(values, 'json')) writeLine(io.stdout, 'no limits (see: sluice limits set --help)');
        else print(io, limits, flag(values, 'json'), false);
        return EXIT_OK;
      }
      case 'delete': {
        const ref = scopeOption(values, ['key', 'proxy']);
        const { config } = await deps.open();
        if (!(await config.deleteLimit(ref))) throw new CommandError(`no limit for ${ref.scope} ${ref.scopeId}`);
        writeLine(io.stdout, `limit deleted: ${ref.scope} ${ref.scopeId}`);
        writeSpendApplyNote(io, deps);
        return EXIT_OK;
      }
      default:
        throw new UsageError(`unknown command '${sub}' (expected set, show, list or delete)`);
    }
  });
}

function print(io: CliIo, limits: LimitDefinition[], json: boolean, single: boolean): void {
  if (json) {
    writeJson(io, single ? limits[0] : limits);
    return;
  }
  writeLine(io.stdout, formatTable(['SCOPE', 'ID', 'RPM', 'TPM', 'UPDATED'], limits.map((l) => [l.scope, l.scopeId, l.rpm?.toString() ?? '-', l.tpm?.toString() ?? '-', l.updatedAt])));
}

function countOption(values: Record<string, unknown>, name: string): number | undefined {
  const text = stringOption(values as never, name);
  if (text === undefined) return undefined;
  if (!/^\d{1,9}$/.test(text) || Number(text) === 0) throw new UsageError(`--${name} must be a whole number > 0, not '${text}'`);
  return Number(text);
}

const describe = (l: LimitDefinition): string => [l.rpm !== undefined ? `${l.rpm} requests/min` : '', l.tpm !== undefined ? `${l.tpm} tokens/min` : ''].filter(Boolean).join(', ');
