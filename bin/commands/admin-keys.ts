/** `sluice admin-keys create|list|revoke`: keys that sign in to the console and the admin API (never model calls). */
import { userInfo } from 'node:os';
import { generateAdminKey, isAdminKeyId, isAdminRole, ADMIN_ROLES, type AdminKeyRecord } from '../../functions/console/admin-keys.js';
import type { AdminStore } from '../../functions/console/admin-store.js';
import { CommandError, EXIT_OK, EXIT_USAGE, expectPositionals, flag, parseCommand, runReportingErrors, stringOption, UsageError, writeLine, type CliIo } from './args.js';
import { formatTable, writeJson } from './output.js';

export const ADMIN_KEYS_HELP = `Usage: sluice admin-keys <command> [options]

Commands:
  create --role viewer|approver|admin [--org ID] [--name N] [--json]
                        create an admin key for the console and /admin/v1; it is
                        printed once (only its SHA-256 hash is stored)
  list [--json]         list admin keys (ids and fingerprints, never the keys)
  revoke <admKeyId>     revoke an admin key; its console sessions end at once

Roles: viewer reads traces, sessions, spend, approvals and policies; approver also
approves and denies held requests; admin also tests policies and reads the audit log.
--org limits the key to one org's proxies, traces and approvals.
Admin keys live apart from gateway keys: an admin key never works for model calls,
and a gateway key never signs in to the console.
Global options: --data-dir <dir> (local store, default .sluice), --aws [--stack NAME] [--region R]`;

export interface AdminKeysCommandDeps {
  openAdmin(): Promise<AdminStore>;
  now?: () => Date;
}

export async function runAdminKeysCommand(argv: string[], io: CliIo, deps: AdminKeysCommandDeps): Promise<number> {
  const [sub, ...rest] = argv;
  // `<group> --help` and `<group> <command> --help` both print the group's help.
  if (sub === undefined || sub === 'help' || argv.includes('--help') || argv.includes('-h')) {
    writeLine(sub === undefined ? io.stderr : io.stdout, ADMIN_KEYS_HELP);
    return sub === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const now = deps.now ?? (() => new Date());
  return runReportingErrors(io, `admin-keys ${sub}`, async () => {
    switch (sub) {
      case 'create': {
        const { positionals, values } = parseCommand(rest, { role: { type: 'string' }, org: { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean' } });
        expectPositionals(positionals, []);
        const role = stringOption(values, 'role');
        if (role === undefined || !isAdminRole(role)) throw new UsageError(`--role must be one of ${ADMIN_ROLES.join(', ')}`);
        const org = stringOption(values, 'org');
        if (org !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(org)) throw new UsageError('--org must be an org id (letters, digits, _ . -, at most 64)');
        const name = stringOption(values, 'name');
        if (name !== undefined && (name.trim() === '' || name.length > 200)) throw new UsageError('--name must be 1 to 200 characters');
        const { key, id, hash } = generateAdminKey();
        const record: AdminKeyRecord = { id, hash, role, createdAt: now().toISOString(), ...(org !== undefined ? { orgId: org } : {}), ...(name !== undefined ? { name } : {}) };
        const store = await deps.openAdmin();
        await store.putKey(record);
        await store.audit({ at: record.createdAt, actor: `cli:${operator()}`, action: 'admin_key.create', target: id, outcome: 'ok', details: { role, ...(org !== undefined ? { org } : {}) } });
        if (flag(values, 'json')) {
          const { hash: _h, ...shown } = record;
          writeJson(io, { ...shown, key, fingerprint: hash.slice(0, 8) });
        } else {
          writeLine(io.stdout, `Created admin key ${id} (role ${role}${org ? `, org ${org}` : ''}).`);
          writeLine(io.stdout);
          writeLine(io.stdout, `    ${key}`);
          writeLine(io.stdout);
        }
        writeLine(io.stderr, 'Copy the key now: this is the only time it is shown. Sluice stores only its SHA-256 hash.');
        return EXIT_OK;
      }
      case 'list': {
        const { positionals, values } = parseCommand(rest, { json: { type: 'boolean' } });
        expectPositionals(positionals, []);
        const keys = (await (await deps.openAdmin()).listKeys()).map(({ hash, ...k }) => ({ ...k, fingerprint: hash.slice(0, 8), status: k.revokedAt ? 'revoked' : 'active' }));
        if (flag(values, 'json')) writeJson(io, keys);
        else if (keys.length === 0) writeLine(io.stdout, 'No admin keys yet. Create one with: sluice admin-keys create --role viewer');
        else writeLine(io.stdout, formatTable(['id', 'role', 'org', 'name', 'status', 'created', 'fingerprint'], keys.map((k) => [k.id, k.role, k.orgId ?? '-', k.name ?? '-', k.status, k.createdAt, k.fingerprint])));
        return EXIT_OK;
      }
      case 'revoke': {
        const { positionals } = parseCommand(rest, {});
        const [id] = expectPositionals(positionals, ['<admKeyId>']) as [string];
        // Never echo the argument: it may be the key itself.
        if (!isAdminKeyId(id)) throw new UsageError("that is not an admin key id: pass the id shown by 'sluice admin-keys list' (adm_…), not the key");
        const store = await deps.openAdmin();
        const at = now().toISOString();
        if (!(await store.revokeKey(id, at))) throw new CommandError(`unknown admin key '${id}' (see: sluice admin-keys list)`);
        await store.audit({ at, actor: `cli:${operator()}`, action: 'admin_key.revoke', target: id, outcome: 'ok' });
        writeLine(io.stdout, `Revoked admin key ${id}; its console sessions end on their next request.`);
        return EXIT_OK;
      }
      default:
        throw new UsageError(`unknown command '${sub}' (expected create, list or revoke)`);
    }
  });
}

function operator(): string {
  try {
    return process.env.SLUICE_OPERATOR?.trim() || userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}
