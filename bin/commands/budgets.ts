import { formatPeriod, parsePeriod, toNano, toUsd, type BudgetDefinition, type BudgetScope, type LimitScope } from '../../functions/spend/definitions.js';
import type { SpendConfigStore } from '../../functions/spend/config-store.js';
import type { BudgetLedger, BudgetUsage } from '../../functions/spend/ledger.js';
import { CommandError, EXIT_OK, EXIT_USAGE, expectPositionals, flag, parseCommand, runReportingErrors, stringOption, UsageError, writeLine, type CliIo, type GlobalOptions } from './args.js';
import { formatTable, writeJson } from './output.js';
import type { ControlStore } from '../../functions/stores/types.js';
import { APPLIES_IN_AWS } from './aws-apply.js';
import type { AwsTarget } from './aws-target.js';

export const BUDGETS_HELP = `Usage: sluice budgets <command> [options]

Commands:
  set (--key ID | --proxy ID | --org ID) --limit USD --period day|month|rolling:<N>d
                      set (or replace) a budget; the gateway applies it within 5 s
  show (--key ID | --proxy ID | --org ID) [--json]
                      the budget with the current period's spend and reservations
  list [--json]       every budget with its current spend and reservations
  delete (--key ID | --proxy ID | --org ID)

Periods are UTC: a calendar day, a calendar month, or a rolling window of N days.
Global options: --data-dir <dir> (local store, default .sluice), --aws [--stack NAME] [--region R]`;

/** What the budgets and limits commands need, opened lazily (so --help needs none). */
export interface SpendCommandDeps {
  open(): Promise<{ config: SpendConfigStore; ledger: BudgetLedger }>;
  /**
   * The control store the key and proxy ids are checked against before a budget or limit
   * is set (a typo must not leave a definition that guards nothing). Orgs are not stored
   * anywhere, so any org id is taken.
   */
  openControl?: () => Promise<ControlStore>;
  now?: () => number;
  /** True for a deployed stack's tables (`--aws`): changes then say how long they take to apply. */
  aws?: boolean;
}

/** After a change: when the deployed gateway applies it (locally the running gateway sees it on its next request). */
export function writeSpendApplyNote(io: CliIo, deps: SpendCommandDeps): void {
  if (deps.aws) writeLine(io.stdout, APPLIES_IN_AWS.spend);
}

/** Refuses a budget or limit for a key or proxy the control store does not have. */
export async function requireScopeExists(ref: { scope: BudgetScope | LimitScope; scopeId: string }, deps: SpendCommandDeps): Promise<void> {
  if (!deps.openControl || ref.scope === 'org') return;
  const store = await deps.openControl();
  if (ref.scope === 'proxy') {
    if (!(await store.getProxy(ref.scopeId))) throw new CommandError(`no proxy '${ref.scopeId}' (see: sluice proxies list)`);
    return;
  }
  const keys = await store.listKeys();
  if (!keys.some((k) => k.id === ref.scopeId)) throw new CommandError(`no key with id '${ref.scopeId}' (key ids look like key_…; see: sluice keys list)`);
}

export async function runBudgetsCommand(argv: string[], io: CliIo, deps: SpendCommandDeps): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    writeLine(sub === undefined ? io.stderr : io.stdout, BUDGETS_HELP);
    return sub === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const now = deps.now ?? Date.now;
  return runReportingErrors(io, `budgets ${sub}`, async () => {
    const { positionals, values } = parseCommand(rest, {
      key: { type: 'string' },
      proxy: { type: 'string' },
      org: { type: 'string' },
      limit: { type: 'string' },
      period: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (flag(values, 'help')) {
      writeLine(io.stdout, BUDGETS_HELP);
      return EXIT_OK;
    }
    expectPositionals(positionals, []);
    switch (sub) {
      case 'set': {
        const ref = scopeOption(values, ['key', 'proxy', 'org']);
        const limitText = stringOption(values, 'limit');
        if (limitText === undefined) throw new UsageError('missing --limit <USD>');
        const limitUsd = Number(limitText.replace(/^\$/, ''));
        if (!/^\$?\d+(\.\d+)?$/.test(limitText) || !Number.isFinite(limitUsd)) throw new UsageError(`--limit must be an amount of USD, e.g. 25 or 0.50, not '${limitText}'`);
        const periodText = stringOption(values, 'period');
        if (periodText === undefined) throw new UsageError('missing --period day|month|rolling:<N>d');
        let period;
        try {
          period = parsePeriod(periodText);
        } catch (err) {
          throw new UsageError((err as Error).message);
        }
        const budget: BudgetDefinition = { ...ref, limitUsd, period, updatedAt: new Date(now()).toISOString() };
        await requireScopeExists(ref, deps);
        const { config } = await deps.open();
        await config.putBudget(budget);
        writeLine(io.stdout, `budget set: ${ref.scope} ${ref.scopeId}, ${usd(toNano(limitUsd))} per ${describePeriod(budget)}`);
        writeSpendApplyNote(io, deps);
        return EXIT_OK;
      }
      case 'show': {
        const ref = scopeOption(values, ['key', 'proxy', 'org']);
        const { config, ledger } = await deps.open();
        const [budget] = await config.getBudgets([ref]);
        if (!budget) throw new CommandError(`no budget for ${ref.scope} ${ref.scopeId} (see: sluice budgets list)`);
        const row = await rowOf(budget, ledger, now());
        if (flag(values, 'json')) writeJson(io, row);
        else writeLine(io.stdout, formatTable(HEADERS, [cells(row)]));
        return EXIT_OK;
      }
      case 'list': {
        const { config, ledger } = await deps.open();
        const budgets = await config.listBudgets();
        const rows = await Promise.all(budgets.sort(byScope).map((b) => rowOf(b, ledger, now())));
        if (flag(values, 'json')) writeJson(io, rows);
        else if (rows.length === 0) writeLine(io.stdout, 'no budgets (see: sluice budgets set --help)');
        else writeLine(io.stdout, formatTable(HEADERS, rows.map(cells)));
        return EXIT_OK;
      }
      case 'delete': {
        const ref = scopeOption(values, ['key', 'proxy', 'org']);
        const { config } = await deps.open();
        if (!(await config.deleteBudget(ref))) throw new CommandError(`no budget for ${ref.scope} ${ref.scopeId}`);
        writeLine(io.stdout, `budget deleted: ${ref.scope} ${ref.scopeId}`);
        writeSpendApplyNote(io, deps);
        return EXIT_OK;
      }
      default:
        throw new UsageError(`unknown command '${sub}' (expected set, show, list or delete)`);
    }
  });
}

const HEADERS = ['SCOPE', 'ID', 'PERIOD', 'LIMIT', 'SPENT', 'RESERVED', 'LEFT', 'RESETS'];

interface BudgetRow {
  scope: BudgetScope;
  scopeId: string;
  period: string;
  periodId: string;
  limitUsd: number;
  spentUsd: number;
  reservedUsd: number;
  leftUsd: number;
  /** Calendar periods: when the budget resets; rolling windows age out day by day. */
  resetsAt?: string;
}

async function rowOf(budget: BudgetDefinition, ledger: BudgetLedger, now: number): Promise<BudgetRow> {
  const usage: BudgetUsage = await ledger.usage(budget, now);
  const limitNano = toNano(budget.limitUsd);
  return {
    scope: budget.scope,
    scopeId: budget.scopeId,
    period: formatPeriod(budget.period),
    periodId: usage.slot.id,
    limitUsd: budget.limitUsd,
    spentUsd: toUsd(usage.spentNano),
    reservedUsd: toUsd(usage.reservedNano),
    leftUsd: toUsd(Math.max(0, limitNano - usage.spentNano - usage.reservedNano)),
    ...(usage.slot.endsAt !== undefined ? { resetsAt: new Date(usage.slot.endsAt).toISOString() } : {}),
  };
}

const cells = (r: BudgetRow): string[] => [
  r.scope,
  r.scopeId,
  r.period,
  usd(toNano(r.limitUsd)),
  usd(toNano(r.spentUsd)),
  usd(toNano(r.reservedUsd)),
  usd(toNano(r.leftUsd)),
  r.resetsAt ?? 'day by day',
];

const usd = (nano: number): string => `$${toUsd(nano).toFixed(nano !== 0 && nano < 10_000_000 ? 6 : 2)}`;

function describePeriod(b: BudgetDefinition): string {
  return b.period.kind === 'rolling' ? `rolling ${b.period.days} days` : `calendar ${b.period.kind} (UTC)`;
}

const SCOPE_ORDER: Record<string, number> = { org: 0, proxy: 1, key: 2 };
const byScope = (a: { scope: string; scopeId: string }, b: { scope: string; scopeId: string }) =>
  (SCOPE_ORDER[a.scope] ?? 9) - (SCOPE_ORDER[b.scope] ?? 9) || a.scopeId.localeCompare(b.scopeId);

/** Exactly one of --key, --proxy, --org (those allowed). */
export function scopeOption<S extends BudgetScope | LimitScope>(values: Record<string, unknown>, allowed: readonly S[]): { scope: S; scopeId: string } {
  const given = allowed.filter((s) => values[s] !== undefined);
  const names = allowed.map((s) => `--${s}`).join(', ');
  if (given.length !== 1) throw new UsageError(`give exactly one of ${names} with its id`);
  const scope = given[0]!;
  const scopeId = String(values[scope]).trim();
  if (!scopeId || scopeId.length > 200) throw new UsageError(`--${scope} needs an id`);
  if (/^sk-/.test(scopeId)) throw new UsageError(`--${scope} takes an id, not a key (see: sluice keys list)`);
  return { scope, scopeId };
}

/** The spend stores the global options select: the deployed stack's tables with --aws, the data directory, or the environment. */
export async function openSpendStores(
  global: GlobalOptions,
  env: NodeJS.ProcessEnv,
  awsTarget?: () => Promise<AwsTarget>,
): Promise<{ config: SpendConfigStore; ledger: BudgetLedger }> {
  if (global.aws) {
    const { resolveAwsTarget } = await import('./aws-target.js');
    const target = awsTarget
      ? await awsTarget()
      : await resolveAwsTarget({ ...(global.stack !== undefined ? { stackName: global.stack } : {}), ...(global.region !== undefined ? { region: global.region } : {}) });
    const [{ DynamoDBClient }, { DynamoSpendConfigStore }, { DynamoBudgetLedger }] = await Promise.all([
      import('@aws-sdk/client-dynamodb'),
      import('../../functions/spend/dynamodb-config-store.js'),
      import('../../functions/spend/dynamodb-ledger.js'),
    ]);
    const client = new DynamoDBClient({ region: target.region });
    return { config: new DynamoSpendConfigStore({ client, tableName: target.controlTable }), ledger: new DynamoBudgetLedger({ client, tableName: target.stateTable }) };
  }
  const { spendFromEnv } = await import('../../functions/spend/from-env.js');
  const services = spendFromEnv(global.dataDir !== undefined ? { SLUICE_DATA_DIR: global.dataDir } : { ...env, REDIS_URL: '' });
  if (!services) throw new CommandError('SLUICE_STORE=dynamodb needs SLUICE_CONTROL_TABLE and SLUICE_STATE_TABLE for budgets');
  return services;
}
