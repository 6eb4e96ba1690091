import { DuplicateKeyError } from '../../functions/stores/errors.js';
import { generateGatewayKey, isKeyId } from '../../functions/stores/keys.js';
import type { ApiKeyRecord } from '../../functions/stores/types.js';
import {
  CommandError,
  EXIT_OK,
  EXIT_USAGE,
  expectPositionals,
  flag,
  parseCommand,
  parseDuration,
  runReportingErrors,
  stringOption,
  UsageError,
  writeLine,
  type CliIo,
  type StoreCommandDeps,
} from './args.js';
import { APPLIES_IN_AWS, authCacheKey, reportAwsChange } from './aws-apply.js';
import { formatTable, writeJson } from './output.js';
import { isActive, requireProxyId } from './proxies.js';

export const KEYS_HELP = `Usage: sluice keys <command> [options]

Commands:
  create --proxy <id> [--name N] [--expires-in 30d | --expires-at ISO] [--json]
                                  create a gateway key; the key is printed once
  list [--proxy <id>] [--json]    list keys (ids and fingerprints, never the keys)
  revoke <keyId>                  revoke a key; a local gateway refuses it at once;
                                  with --aws it also drops the key from the DynamoDB
                                  cache layer, and containers that cached it may take
                                  it for up to the auth cache TTL (5 minutes)

Durations: a number and s, m, h, d or w (e.g. 90m, 30d, 2w).
Global options: --data-dir <dir> (local store, default .sluice), --aws [--stack NAME] [--region R]`;

const KEY_ONCE_WARNING =
  'Copy the key now: this is the only time it is shown. Sluice stores only its SHA-256 hash.';

export async function runKeysCommand(argv: string[], io: CliIo, deps: StoreCommandDeps): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    writeLine(sub === undefined ? io.stderr : io.stdout, KEYS_HELP);
    return sub === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const now = deps.now ?? (() => new Date());
  return runReportingErrors(io, `keys ${sub}`, async () => {
    switch (sub) {
      case 'create':
        return createKey(rest, io, deps, now);
      case 'list':
        return listKeys(rest, io, deps, now);
      case 'revoke':
        return revokeKey(rest, io, deps, now);
      default:
        throw new UsageError(`unknown command '${sub}' (expected create, list or revoke)`);
    }
  });
}

async function createKey(argv: string[], io: CliIo, deps: StoreCommandDeps, now: () => Date): Promise<number> {
  const { positionals, values } = parseCommand(argv, {
    proxy: { type: 'string' },
    name: { type: 'string' },
    'expires-in': { type: 'string' },
    'expires-at': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (flag(values, 'help')) return help(io);
  expectPositionals(positionals, []);
  const proxyId = stringOption(values, 'proxy');
  if (proxyId === undefined) throw new UsageError('missing --proxy <id>');
  requireProxyId(proxyId);
  const name = stringOption(values, 'name');
  if (name !== undefined && (name.trim() === '' || name.length > 200)) {
    throw new UsageError('--name must be 1 to 200 characters');
  }
  const createdAt = now();
  const expiresAt = parseExpiry(stringOption(values, 'expires-in'), stringOption(values, 'expires-at'), createdAt);

  const store = await deps.openStore();
  const proxy = await store.getProxy(proxyId);
  if (!proxy) throw new CommandError(`unknown proxy '${proxyId}' (see: sluice proxies list)`);

  const generated = await storeNewKey(async (id, hash) => {
    const record: ApiKeyRecord = { id, hash, proxyId, orgId: proxy.orgId, createdAt: createdAt.toISOString() };
    if (name !== undefined) record.name = name;
    if (expiresAt !== undefined) record.expiresAt = expiresAt.toISOString();
    await store.putKey(record);
  });

  const expiry = expiresAt ? `expires ${expiresAt.toISOString()}` : 'never expires';
  if (flag(values, 'json')) {
    writeJson(io, {
      id: generated.id,
      key: generated.key,
      proxyId,
      orgId: proxy.orgId,
      ...(name !== undefined ? { name } : {}),
      createdAt: createdAt.toISOString(),
      ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}),
      fingerprint: generated.hash.slice(0, 8),
    });
    writeLine(io.stderr, KEY_ONCE_WARNING);
    await reportAwsChange(io, deps, { note: APPLIES_IN_AWS.keyCreated, json: true });
    return EXIT_OK;
  }
  writeLine(io.stdout, `Created key ${generated.id} for proxy ${proxyId} (${expiry}).`);
  writeLine(io.stdout);
  writeLine(io.stdout, `    ${generated.key}`);
  writeLine(io.stdout);
  writeLine(io.stdout, KEY_ONCE_WARNING);
  await reportAwsChange(io, deps, { note: APPLIES_IN_AWS.keyCreated });
  return EXIT_OK;
}

/** Generates and stores a key, retrying on the (astronomically unlikely) id or hash collision. */
async function storeNewKey(put: (id: string, hash: string) => Promise<void>) {
  for (let attempt = 0; ; attempt++) {
    const generated = generateGatewayKey();
    try {
      await put(generated.id, generated.hash);
      return generated;
    } catch (error) {
      if (!(error instanceof DuplicateKeyError) || attempt >= 2) throw error;
    }
  }
}

function parseExpiry(expiresIn: string | undefined, expiresAtText: string | undefined, from: Date): Date | undefined {
  if (expiresIn !== undefined && expiresAtText !== undefined) {
    throw new UsageError('give either --expires-in or --expires-at, not both');
  }
  if (expiresIn !== undefined) return new Date(from.getTime() + parseDuration(expiresIn));
  if (expiresAtText === undefined) return undefined;
  // A full ISO 8601 date, optionally with a time; Date.parse alone accepts too much.
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(expiresAtText)) {
    throw new UsageError(`--expires-at '${expiresAtText}' is not an ISO 8601 time (e.g. 2026-12-31T23:59:59Z)`);
  }
  const at = new Date(expiresAtText);
  if (Number.isNaN(at.getTime())) throw new UsageError(`--expires-at '${expiresAtText}' is not a valid time`);
  if (at.getTime() <= from.getTime()) throw new UsageError(`--expires-at '${expiresAtText}' is in the past`);
  return at;
}

function keyStatus(key: ApiKeyRecord, at: Date): 'active' | 'revoked' | 'expired' {
  if (key.revokedAt !== undefined) return 'revoked';
  return isActive(key, at) ? 'active' : 'expired';
}

async function listKeys(argv: string[], io: CliIo, deps: StoreCommandDeps, now: () => Date): Promise<number> {
  const { positionals, values } = parseCommand(argv, { proxy: { type: 'string' }, json: { type: 'boolean' } });
  if (flag(values, 'help')) return help(io);
  expectPositionals(positionals, []);
  const proxyId = stringOption(values, 'proxy');
  if (proxyId !== undefined) requireProxyId(proxyId);
  const keys = await (await deps.openStore()).listKeys(proxyId);
  const at = now();
  // The hash is never printed in full: the 8-character fingerprint identifies a key in logs.
  const shown = keys.map(({ hash, ...rest }) => ({ ...rest, fingerprint: hash.slice(0, 8), status: keyStatus(rest as ApiKeyRecord, at) }));
  if (flag(values, 'json')) {
    writeJson(io, shown);
    return EXIT_OK;
  }
  if (shown.length === 0) {
    writeLine(io.stdout, proxyId ? `No keys for proxy ${proxyId}.` : 'No keys yet. Create one with: sluice keys create --proxy <id>');
    return EXIT_OK;
  }
  const rows = shown.map((k) => [k.id, k.proxyId, k.name ?? '-', k.status, k.createdAt, k.expiresAt ?? 'never', k.fingerprint]);
  writeLine(io.stdout, formatTable(['id', 'proxy', 'name', 'status', 'created', 'expires', 'fingerprint'], rows));
  return EXIT_OK;
}

async function revokeKey(argv: string[], io: CliIo, deps: StoreCommandDeps, now: () => Date): Promise<number> {
  const { positionals, values } = parseCommand(argv, {});
  if (flag(values, 'help')) return help(io);
  const [keyId] = expectPositionals(positionals, ['<keyId>']) as [string];
  if (!isKeyId(keyId)) {
    // Never echo the argument: someone may have pasted the key itself.
    throw new UsageError("that is not a key id: pass the id shown by 'sluice keys list' (key_…), not the key");
  }
  const store = await deps.openStore();
  const revoked = await store.revokeKey(keyId, now().toISOString());
  if (!revoked) throw new CommandError(`unknown key '${keyId}' (see: sluice keys list)`);
  if (!deps.aws) {
    // The file store is watched by the local gateway; a DynamoDB store from the environment is not.
    const when = store.generation ? 'A local gateway on this store refuses it from its next request.' : 'Gateways stop accepting it within the auth cache TTL (5 minutes by default).';
    writeLine(io.stdout, `Revoked key ${keyId}. ${when}`);
    return EXIT_OK;
  }
  writeLine(io.stdout, `Revoked key ${keyId}.`);
  const hash = (await store.listKeys()).find((k) => k.id === keyId)?.hash;
  await reportAwsChange(io, deps, { note: APPLIES_IN_AWS.keyRevoked, staleCacheKeys: hash ? [authCacheKey(hash)] : [] });
  return EXIT_OK;
}

function help(io: CliIo): number {
  writeLine(io.stdout, KEYS_HELP);
  return EXIT_OK;
}
