/**
 * `sluice policies set|get|delete|config`: the policies and governance settings stored per
 * proxy (the Rego checks — check/eval/test — are in policies.ts).
 */
import { readFile } from 'node:fs/promises';
import { PolicyAdminError, deletePolicy, setPolicy, updateGovernance } from '../../functions/governance/policy-admin.js';
import { signPolicy } from '../../functions/governance/signed-policy.js';
import { RegoError } from '../../functions/rego/index.js';
import type { GovernanceConfig, GovernanceStage, IntentConfig } from '../../functions/stores/types.js';
import { CommandError, EXIT_OK, expectPositionals, flag, parseCommand, runReportingErrors, stringOption, UsageError, writeLine, type CliIo, type StoreCommandDeps } from './args.js';
import { APPLIES_IN_AWS, proxyCacheKey, reportAwsChange } from './aws-apply.js';
import { writeJson } from './output.js';

export const POLICY_STORE_SUBCOMMANDS = new Set(['set', 'get', 'delete', 'config']);

export const POLICY_STORE_HELP = `Usage: sluice policies <command> <proxy> [options]

  set <proxy> --stage request|response|action <file> [--sign] [--by NAME]
        check the policy (Rego source, signed v1:<hmac>:<rego>, or an OPA bundle .tar.gz /
        .wasm) and store it as the stage's next version; --sign signs Rego source with
        $SLUICE_POLICY_SIGNING_KEY. Setting a policy turns governance on for the proxy.
        The action stage judges POST /v1/actions/check (docs/policies.md, "Actions").
  get <proxy> --stage request|response|action [--json]      print the stored policy (or its metadata)
  delete <proxy> --stage request|response|action
  config <proxy> [--on|--off] [--request-fail-mode open|closed] [--response-fail-mode open|closed]
        [--action-fail-mode closed|open] [--eval-budget-ms N] [--approval-ttl-ms N] [--intent-file intent.json | --no-intent]
        [--data-file data.json | --no-data] [--json]`;

export async function runPolicyStoreCommand(argv: string[], io: CliIo, deps: StoreCommandDeps, env: NodeJS.ProcessEnv): Promise<number> {
  const [sub, ...rest] = argv;
  if (rest.includes('--help') || rest.includes('-h')) {
    writeLine(io.stdout, POLICY_STORE_HELP);
    return EXIT_OK;
  }
  return runReportingErrors(io, `policies ${sub}`, async () => {
    try {
      switch (sub) {
        case 'set':
          return await set(rest, io, deps, env);
        case 'get':
          return await get(rest, io, deps);
        case 'delete': {
          const { positionals, values } = parseCommand(rest, { stage: { type: 'string' } });
          const [proxyId] = expectPositionals(positionals, ['proxy id']);
          const removed = await deletePolicy(await deps.openStore(), proxyId!, stageOf(values));
          if (!removed) throw new CommandError(`proxy ${proxyId} has no ${stageOf(values)} policy`);
          writeLine(io.stdout, `deleted the ${stageOf(values)} policy of ${proxyId}`);
          await reportAwsChange(io, deps, { note: APPLIES_IN_AWS.proxy, staleCacheKeys: [proxyCacheKey(proxyId!)] });
          return EXIT_OK;
        }
        case 'config':
          return await config(rest, io, deps);
        default:
          throw new UsageError(`unknown command '${sub}'`);
      }
    } catch (err) {
      if (err instanceof PolicyAdminError) throw new CommandError(err.message);
      if (err instanceof RegoError) throw new CommandError(`the policy does not compile: ${err.message}`);
      throw err;
    }
  });
}

function stageOf(values: Record<string, unknown>): GovernanceStage {
  const stage = values.stage;
  if (stage !== 'request' && stage !== 'response' && stage !== 'action') throw new UsageError('--stage must be request, response or action');
  return stage;
}

async function set(argv: string[], io: CliIo, deps: StoreCommandDeps, env: NodeJS.ProcessEnv): Promise<number> {
  const { positionals, values } = parseCommand(argv, { stage: { type: 'string' }, sign: { type: 'boolean' }, by: { type: 'string' } });
  const [proxyId, file] = expectPositionals(positionals, ['proxy id', 'policy file']);
  const stage = stageOf(values);
  const bytes = await readFile(file!);
  const isBinary = /\.(tar\.gz|tgz|wasm)$/.test(file!);
  const signingKey = env.SLUICE_POLICY_SIGNING_KEY?.trim() || undefined;
  let upload: string | Uint8Array = isBinary ? new Uint8Array(bytes) : bytes.toString('utf8');
  if (flag(values, 'sign')) {
    if (typeof upload !== 'string') throw new UsageError('--sign applies to Rego source only');
    if (!signingKey) throw new UsageError('--sign needs SLUICE_POLICY_SIGNING_KEY');
    upload = signPolicy(upload, signingKey);
  }
  const by = stringOption(values, 'by') ?? env.SLUICE_OPERATOR?.trim();
  const stored = await setPolicy(await deps.openStore(), proxyId!, stage, upload, { ...(signingKey ? { signingKey } : {}), ...(by ? { by } : {}) });
  writeLine(io.stdout, `${proxyId} ${stage} policy version ${stored.version} (sha256 ${stored.sha256.slice(0, 12)})`);
  await reportAwsChange(io, deps, { note: APPLIES_IN_AWS.proxy, staleCacheKeys: [proxyCacheKey(proxyId!)] });
  return EXIT_OK;
}

async function get(argv: string[], io: CliIo, deps: StoreCommandDeps): Promise<number> {
  const { positionals, values } = parseCommand(argv, { stage: { type: 'string' }, json: { type: 'boolean' } });
  const [proxyId] = expectPositionals(positionals, ['proxy id']);
  const stage = stageOf(values);
  const proxy = await (await deps.openStore()).getProxy(proxyId!);
  if (!proxy) throw new CommandError(`no proxy "${proxyId}"`);
  const stored = proxy.governance?.policies?.[stage];
  if (!stored) throw new CommandError(`proxy ${proxyId} has no ${stage} policy`);
  if (flag(values, 'json')) writeJson(io, { ...stored, enabled: proxy.governance?.enabled ?? false });
  else io.stdout.write(stored.format === 'rego' ? stored.body : `${stored.body}\n`);
  return EXIT_OK;
}

async function config(argv: string[], io: CliIo, deps: StoreCommandDeps): Promise<number> {
  const { positionals, values } = parseCommand(argv, {
    on: { type: 'boolean' },
    off: { type: 'boolean' },
    'request-fail-mode': { type: 'string' },
    'response-fail-mode': { type: 'string' },
    'action-fail-mode': { type: 'string' },
    'eval-budget-ms': { type: 'string' },
    'approval-ttl-ms': { type: 'string' },
    'intent-file': { type: 'string' },
    'no-intent': { type: 'boolean' },
    'data-file': { type: 'string' },
    'no-data': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const [proxyId] = expectPositionals(positionals, ['proxy id']);
  const store = await deps.openStore();
  const current = (await store.getProxy(proxyId!))?.governance;
  const patch: Partial<GovernanceConfig> = {};
  if (flag(values, 'on') && flag(values, 'off')) throw new UsageError('--on and --off exclude each other');
  if (flag(values, 'on')) patch.enabled = true;
  if (flag(values, 'off')) patch.enabled = false;
  const failModes = { ...current?.failModes };
  for (const stage of ['request', 'response', 'action'] as const) {
    const mode = stringOption(values, `${stage}-fail-mode`);
    if (mode === undefined) continue;
    if (mode !== 'open' && mode !== 'closed') throw new UsageError(`--${stage}-fail-mode must be open or closed`);
    failModes[stage] = mode;
    patch.failModes = failModes;
  }
  const budget = positiveInt(stringOption(values, 'eval-budget-ms'), '--eval-budget-ms');
  if (budget !== undefined) patch.evalBudgetMs = budget;
  const ttl = positiveInt(stringOption(values, 'approval-ttl-ms'), '--approval-ttl-ms');
  if (ttl !== undefined) patch.approvalTtlMs = ttl;
  const intentFile = stringOption(values, 'intent-file');
  if (intentFile) patch.intent = JSON.parse(await readFile(intentFile, 'utf8')) as IntentConfig;
  const dataFile = stringOption(values, 'data-file');
  if (dataFile) patch.data = await readDataFile(dataFile);
  const remove = [...(flag(values, 'no-intent') ? (['intent'] as const) : []), ...(flag(values, 'no-data') ? (['data'] as const) : [])];
  const governance = await updateGovernance(store, proxyId!, patch, remove);
  const { policies, ...shown } = governance;
  if (flag(values, 'json')) writeJson(io, { ...shown, policies: Object.fromEntries(Object.entries(policies ?? {}).map(([k, v]) => [k, { version: v.version, sha256: v.sha256 }])) });
  else writeLine(io.stdout, `${proxyId}: governance ${governance.enabled ? 'on' : 'off'}`);
  await reportAwsChange(io, deps, { note: APPLIES_IN_AWS.proxy, staleCacheKeys: [proxyCacheKey(proxyId!)], json: flag(values, 'json') });
  return EXIT_OK;
}

/** Static policy data (`input.data`): a JSON object. */
async function readDataFile(file: string): Promise<Record<string, unknown>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`--data-file ${file}: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError(`--data-file ${file} must hold a JSON object`);
  return parsed as Record<string, unknown>;
}

function positiveInt(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) <= 0) throw new UsageError(`${name} must be a positive integer`);
  return Number(text);
}
