// The `sluice` CLI dispatcher: `sluice <group> <command> …` (bin/sluice.ts runs it).
// Store modules are imported only when a command opens the store: the AWS SDK sets
// a bare `globalThis.awslambda` when loaded, which must not happen before `sluice dev`
// installs the local Lambda runtime's stand-in.
import type { ControlStore } from '../../functions/stores/types.js';
import type { AwsTarget } from './aws-target.js';
import {
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  extractGlobalOptions,
  flag,
  parseCommand,
  redactSecrets,
  runReportingErrors,
  stringOption,
  UsageError,
  writeLine,
  type CliIo,
  type GlobalOptions,
  type StoreCommandDeps,
} from './args.js';
import { runKeysCommand } from './keys.js';
import { runProxiesCommand } from './proxies.js';

export const SLUICE_HELP = `Usage: sluice <group> <command> [options]

Groups:
  proxies    create, list, show and delete proxies (upstream, credential, models)
  keys       create, list and revoke gateway keys
  admin-keys create, list and revoke admin keys (console and /admin sign-in)
  policies   check, eval and test Rego; set, get, delete and config a proxy's policies
  approvals  list, show, approve and deny held requests
  traces     list and show traces; migrate and replay-spool the ClickHouse tables
  sessions   list sessions; show a session's turns
  spend      cost and tokens by key, proxy, model or day
  budgets    set, show, list and delete budgets (with current spend and reservations)
  limits     set, show, list and delete requests and tokens per minute
  cache      purge a proxy's response-cache entries
  dev        run the gateway locally (what npm start runs)

Global options:
  --data-dir <dir>          the local store (default: $SLUICE_DATA_DIR or .sluice)
  --aws [--stack NAME] [--region R]
                            use the deployed stack's DynamoDB tables instead
  -h, --help                help; 'sluice <group> --help' for a group

Without --aws or --data-dir, SLUICE_STORE=dynamodb and SLUICE_CONTROL_TABLE select DynamoDB.`;

export const DEV_HELP = `Usage: sluice dev [--port N] [--host H] [--data-dir D]

Runs the gateway on the local Function URL runtime and the embedded store.
  --port N      default: $PORT or 8080
  --host H      default: 127.0.0.1
  --data-dir D  default: $SLUICE_DATA_DIR or .sluice

SIGTERM or SIGINT (Ctrl-C) stops it cleanly: no new connections, requests in flight
get up to 10 s to finish, their traces are written, exit status 0. A second signal
exits at once.`;

export async function runCli(argv: string[], io: CliIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let global: GlobalOptions;
  let rest: string[];
  try {
    ({ global, rest } = extractGlobalOptions(argv));
  } catch (error) {
    writeLine(io.stderr, redactSecrets(`sluice: ${(error as Error).message}`));
    writeLine(io.stderr, "Run 'sluice --help' for usage.");
    return error instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
  }
  const [group, ...groupArgs] = rest;
  const awsTarget = global.aws ? once(() => resolveTarget(global)) : undefined;
  const deps: StoreCommandDeps = {
    openStore: () => openStore(global, env, awsTarget),
    aws: global.aws,
    ...(awsTarget ? { awsTarget, forgetCached: async (keys: string[]) => (await import('./aws-apply.js')).forgetCachedEntries(await awsTarget(), keys) } : {}),
  };
  switch (group) {
    case undefined:
      writeLine(io.stderr, SLUICE_HELP);
      return EXIT_USAGE;
    case '-h':
    case '--help':
    case 'help':
      writeLine(io.stdout, SLUICE_HELP);
      return EXIT_OK;
    case 'proxies':
      return runProxiesCommand(groupArgs, io, deps);
    case 'keys':
      return runKeysCommand(groupArgs, io, deps);
    case 'admin-keys': {
      const { runAdminKeysCommand } = await import('./admin-keys.js');
      return runAdminKeysCommand(groupArgs, io, { openAdmin: () => openAdmin(global, env) });
    }
    case 'dev':
      return runReportingErrors(io, 'dev', () => runDevCommand(groupArgs, io, global, env));
    case 'policies':
      if (groupArgs[0] !== undefined && ['set', 'get', 'delete', 'config'].includes(groupArgs[0])) {
        const { runPolicyStoreCommand } = await import('./policy-store.js');
        return runPolicyStoreCommand(groupArgs, io, deps, env);
      }
      return runReportingErrors(io, 'policies', async () => {
        if (global.aws) throw new UsageError('policies commands work on local files; --aws does not apply');
        const { runPoliciesCommand } = await import('./policies.js');
        return runPoliciesCommand(groupArgs, io);
      });
    case 'budgets':
    case 'limits': {
      const { runBudgetsCommand, openSpendStores } = await import('./budgets.js');
      const spendDeps = { open: () => openSpendStores(global, env, awsTarget), openControl: deps.openStore, aws: global.aws };
      if (group === 'budgets') return runBudgetsCommand(groupArgs, io, spendDeps);
      return (await import('./limits.js')).runLimitsCommand(groupArgs, io, spendDeps);
    }
    case 'cache': {
      const { runCacheCommand, openResponseCacheForCli } = await import('./cache.js');
      return runCacheCommand(groupArgs, io, { openStore: deps.openStore, openResponseCache: () => openResponseCacheForCli(env, awsTarget) });
    }
    case 'approvals': {
      const { runApprovalsCommand } = await import('./approvals.js');
      return runApprovalsCommand(groupArgs, io, { openApprovals: () => openApprovals(global, env), env });
    }
    case 'traces':
    case 'sessions':
    case 'spend':
      return runTraceCommand(group, groupArgs, io, global, env);
    default:
      writeLine(io.stderr, redactSecrets(`sluice: unknown command group '${group}' (expected proxies, keys, admin-keys, policies, approvals, traces, sessions, spend, budgets, limits, cache or dev)`));
      writeLine(io.stderr, "Run 'sluice --help' for usage.");
      return EXIT_USAGE;
  }
}

/** traces, sessions and spend read the local trace store or ClickHouse (--clickhouse URL); imported on use. */
async function runTraceCommand(group: 'traces' | 'sessions' | 'spend', argv: string[], io: CliIo, global: GlobalOptions, env: NodeJS.ProcessEnv): Promise<number> {
  const ctx = {
    dataDir: global.dataDir ?? (env.SLUICE_DATA_DIR?.trim() || '.sluice'),
    aws: global.aws,
    ...(global.stack !== undefined ? { stack: global.stack } : {}),
    ...(global.region !== undefined ? { region: global.region } : {}),
  };
  if (group === 'traces') return (await import('./traces.js')).runTracesCommand(argv, io, ctx);
  if (group === 'sessions') return (await import('./sessions.js')).runSessionsCommand(argv, io, ctx);
  return (await import('./spend.js')).runSpendCommand(argv, io, ctx);
}

async function runDevCommand(argv: string[], io: CliIo, global: GlobalOptions, env: NodeJS.ProcessEnv): Promise<number> {
  const { positionals, values } = parseCommand(argv, { port: { type: 'string' }, host: { type: 'string' } });
  if (flag(values, 'help')) {
    writeLine(io.stdout, DEV_HELP);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  if (global.aws) throw new UsageError('sluice dev runs on the embedded store; --aws does not apply');
  const portText = stringOption(values, 'port') ?? env.PORT ?? '8080';
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65_535) throw new UsageError(`invalid port '${portText}' (0 to 65535)`);
  const host = stringOption(values, 'host') ?? '127.0.0.1';
  if (host.trim() === '') throw new UsageError('--host must not be empty');
  const dataDir = global.dataDir ?? (env.SLUICE_DATA_DIR?.trim() || '.sluice');
  const { runDev } = await import('../../functions/local/dev.js');
  // The server keeps the process alive. SIGTERM / SIGINT: stop accepting, finish in-flight
  // requests (<= 10 s) and their trace writes, exit 0.
  // Log lines written in one event-loop turn go out in one write (functions/local/batched-stdout.ts).
  await runDev({ port, host, dataDir, stopOnSignals: { log: (line) => writeLine(io.stderr, line) }, batchStdout: true });
  return EXIT_OK;
}

/** The approvals of the store openStore would open: the deployed control table with --aws, else local or from the environment. */
async function openApprovals(global: GlobalOptions, env: NodeJS.ProcessEnv) {
  const { approvalsFromEnv } = await import('../../functions/governance/governance-deps.js');
  if (global.aws) {
    const { resolveAwsTarget } = await import('./aws-target.js');
    const target = await resolveAwsTarget({ ...(global.stack !== undefined ? { stackName: global.stack } : {}), ...(global.region !== undefined ? { region: global.region } : {}) });
    const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
    return approvalsFromEnv({ SLUICE_STORE: 'dynamodb', SLUICE_CONTROL_TABLE: target.controlTable }, new DynamoDBClient({ region: target.region }));
  }
  return approvalsFromEnv(global.dataDir !== undefined ? { SLUICE_DATA_DIR: global.dataDir } : env);
}

/** The admin store beside openStore's: the deployed control table with --aws, else local or from the environment. */
async function openAdmin(global: GlobalOptions, env: NodeJS.ProcessEnv) {
  if (global.aws) {
    const { resolveAwsTarget } = await import('./aws-target.js');
    const target = await resolveAwsTarget({ ...(global.stack !== undefined ? { stackName: global.stack } : {}), ...(global.region !== undefined ? { region: global.region } : {}) });
    const [{ DynamoDBClient }, { DynamoAdminStore }] = await Promise.all([import('@aws-sdk/client-dynamodb'), import('../../functions/console/admin-store-dynamodb.js')]);
    return new DynamoAdminStore(new DynamoDBClient({ region: target.region }), target.controlTable);
  }
  if (global.dataDir !== undefined) {
    const { FileAdminStore } = await import('../../functions/console/admin-store.js');
    return new FileAdminStore(global.dataDir);
  }
  const { adminStoreFromEnv } = await import('../../functions/console/admin-store-from-env.js');
  return adminStoreFromEnv(env);
}

/** The deployed stack's outputs (--aws [--stack] [--region]); imported on use. */
async function resolveTarget(global: GlobalOptions): Promise<AwsTarget> {
  const { resolveAwsTarget } = await import('./aws-target.js');
  return resolveAwsTarget({ ...(global.stack !== undefined ? { stackName: global.stack } : {}), ...(global.region !== undefined ? { region: global.region } : {}) });
}

function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

async function openStore(global: GlobalOptions, env: NodeJS.ProcessEnv, awsTarget?: () => Promise<AwsTarget>): Promise<ControlStore> {
  if (awsTarget) {
    const target = await awsTarget();
    const [{ DynamoDBClient }, { DynamoControlStore }] = await Promise.all([
      import('@aws-sdk/client-dynamodb'),
      import('../../functions/stores/dynamodb-store.js'),
    ]);
    return new DynamoControlStore({
      client: new DynamoDBClient({ region: target.region }),
      tableName: target.controlTable,
      consistentReads: true, // each command must see what the previous one wrote
    });
  }
  if (global.dataDir !== undefined) {
    const { FileControlStore } = await import('../../functions/stores/file-store.js');
    return new FileControlStore({ dataDir: global.dataDir });
  }
  const { createControlStore } = await import('../../functions/stores/factory.js');
  return createControlStore(env);
}
