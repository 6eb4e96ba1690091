/** `sluice approvals list|show|approve|deny`: operators decide on held requests. */
import { userInfo } from 'node:os';
import type { ApprovalRecord, ApprovalStatus, ApprovalStore } from '../../functions/governance/approvals.js';
import { effectiveStatus } from '../../functions/governance/approvals.js';
import { CommandError, EXIT_OK, EXIT_USAGE, expectPositionals, flag, parseCommand, runReportingErrors, stringOption, UsageError, writeLine, type CliIo } from './args.js';
import { formatTable, writeJson } from './output.js';

export const APPROVALS_HELP = `Usage: sluice approvals <command> [options]

Commands:
  list [--proxy <id>] [--status pending|approved|denied|expired|consumed] [--json]
  show <id> [--json]
  approve <id> [--by NAME]     let the held request through once (the client re-sends it
                               with X-Sluice-Approval-Id)
  deny <id> [--by NAME]

The approver (--by, else $SLUICE_OPERATOR, else the OS user) and the time are recorded
with the approval and on the trace of the request that uses it.
Global options: --data-dir <dir> (local store, default .sluice), --aws [--stack NAME] [--region R]`;

export interface ApprovalsCommandDeps {
  openApprovals(): Promise<ApprovalStore>;
  env: NodeJS.ProcessEnv;
  now?: () => number;
}

const STATUSES: ApprovalStatus[] = ['pending', 'approved', 'denied', 'expired', 'consumed'];

export async function runApprovalsCommand(argv: string[], io: CliIo, deps: ApprovalsCommandDeps): Promise<number> {
  const [sub, ...rest] = argv;
  // `<group> --help` and `<group> <command> --help` both print the group's help.
  if (sub === undefined || sub === 'help' || argv.includes('--help') || argv.includes('-h')) {
    writeLine(sub === undefined ? io.stderr : io.stdout, APPROVALS_HELP);
    return sub === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const now = deps.now ?? Date.now;
  return runReportingErrors(io, `approvals ${sub}`, async () => {
    switch (sub) {
      case 'list': {
        const { positionals, values } = parseCommand(rest, { proxy: { type: 'string' }, status: { type: 'string' }, json: { type: 'boolean' } });
        expectPositionals(positionals, []);
        const status = stringOption(values, 'status');
        if (status !== undefined && !STATUSES.includes(status as ApprovalStatus)) throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
        const proxyId = stringOption(values, 'proxy');
        const store = await deps.openApprovals();
        const t = now();
        const records = await store.list({ ...(proxyId ? { proxyId } : {}), ...(status ? { status: status as ApprovalStatus } : {}) }, t);
        if (flag(values, 'json')) writeJson(io, records.map((r) => ({ ...r, status: effectiveStatus(r, t) })));
        else writeLine(io.stdout, formatTable(['ID', 'PROXY', 'KEY', 'STATUS', 'CREATED', 'EXPIRES', 'REASONS'], records.map((r) => row(r, t))));
        return EXIT_OK;
      }
      case 'show': {
        const { positionals, values } = parseCommand(rest, { json: { type: 'boolean' } });
        const [id] = expectPositionals(positionals, ['approval id']);
        const record = await (await deps.openApprovals()).get(id!);
        if (!record) throw new CommandError(`no approval ${id}`);
        const view = { ...record, status: effectiveStatus(record, now()) };
        if (flag(values, 'json')) writeJson(io, view);
        else for (const [k, v] of Object.entries(view)) writeLine(io.stdout, `${k}: ${Array.isArray(v) ? v.join('; ') : String(v)}`);
        return EXIT_OK;
      }
      case 'approve':
      case 'deny': {
        const { positionals, values } = parseCommand(rest, { by: { type: 'string' } });
        const [id] = expectPositionals(positionals, ['approval id']);
        const by = stringOption(values, 'by') ?? deps.env.SLUICE_OPERATOR?.trim() ?? operatorFromOs();
        if (!by) throw new UsageError('say who decides: --by NAME (or set SLUICE_OPERATOR)');
        const store = await deps.openApprovals();
        const decided = await store.decide(id!, sub === 'approve' ? 'approved' : 'denied', by, now());
        if (!decided) {
          const record = await store.get(id!);
          throw new CommandError(record ? `approval ${id} is ${effectiveStatus(record, now())}, not pending` : `no approval ${id}`);
        }
        writeLine(io.stdout, `${decided.id} ${decided.status} by ${decided.decidedBy} at ${decided.decidedAt}`);
        return EXIT_OK;
      }
      default:
        throw new UsageError(`unknown command '${sub}' (expected list, show, approve or deny)`);
    }
  });
}

function row(r: ApprovalRecord, now: number): string[] {
  return [r.id, r.proxyId, r.keyId, effectiveStatus(r, now), r.createdAt, r.expiresAt, r.reasons.join('; ')];
}

function operatorFromOs(): string | undefined {
  try {
    return userInfo().username || undefined;
  } catch {
    return undefined;
  }
}
