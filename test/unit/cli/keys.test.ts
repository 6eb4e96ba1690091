import { promises as fs } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { runKeysCommand } from '../../../bin/commands/keys.js';
import { hashKey, looksLikeGatewayKey } from '../../../functions/stores/keys.js';
import { storeCommandHarness } from './support.js';

const NOW = new Date('2026-04-01T12:00:00.000Z');
const cli = storeCommandHarness(runKeysCommand, NOW);
const { run } = cli;

beforeEach(async () => {
  await cli.reader.putProxy({
    id: 'p1', orgId: 'acme', name: 'p1', provider: 'openai', baseUrl: 'https://api.openai.com/v1',
    byok: false, allowPrivateNetwork: false, createdAt: NOW.toISOString(),
  });
});

function printedKey(out: string): string {
  const keys = out.match(/sk-sluice-[0-9A-Za-z]+/g) ?? [];
  expect(keys).toHaveLength(1); // printed exactly once
  return keys[0] as string;
}

describe('sluice keys create', () => {
  it('prints the key once with a warning; the store keeps only its hash', async () => {
    const r = await run('create', '--proxy', 'p1', '--name', 'ci');
    expect(r.code).toBe(0);
    const key = printedKey(r.out);
    expect(looksLikeGatewayKey(key)).toBe(true);
    expect(r.out).toContain('only time it is shown');
    expect(r.out).toMatch(/Created key key_[0-9A-Za-z]{16} for proxy p1 \(never expires\)/);
    const record = await cli.reader.getKeyByHash(hashKey(key));
    expect(record).toMatchObject({ proxyId: 'p1', orgId: 'acme', name: 'ci', createdAt: NOW.toISOString() });
    expect(record?.expiresAt).toBeUndefined();
    expect(r.out).toContain(record?.id);
    expect(await fs.readFile(cli.reader.filePath, 'utf8')).not.toContain(key);
  });

  it('sets the expiry from --expires-in or --expires-at', async () => {
    const inThirty = await run('create', '--proxy', 'p1', '--expires-in', '30d');
    expect((await cli.reader.getKeyByHash(hashKey(printedKey(inThirty.out))))?.expiresAt).toBe('2026-05-01T12:00:00.000Z');
    const at = await run('create', '--proxy', 'p1', '--expires-at', '2027-01-01T00:00:00Z');
    expect(at.out).toContain('expires 2027-01-01T00:00:00.000Z');
    expect((await cli.reader.getKeyByHash(hashKey(printedKey(at.out))))?.expiresAt).toBe('2027-01-01T00:00:00.000Z');
  });

  it('prints JSON with --json, the warning going to stderr', async () => {
    const r = await run('create', '--proxy', 'p1', '--json');
    const json = JSON.parse(r.out);
    expect(Object.keys(json).sort()).toEqual(['createdAt', 'fingerprint', 'id', 'key', 'orgId', 'proxyId']);
    expect(json.fingerprint).toBe(hashKey(json.key).slice(0, 8));
    expect((await cli.reader.getKeyByHash(hashKey(json.key)))?.id).toBe(json.id);
    expect(r.err).toContain('only time it is shown');
  });

  it('refuses an unknown proxy (exit 1) and bad arguments (exit 2), creating nothing', async () => {
    const unknown = await run('create', '--proxy', 'ghost');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain("unknown proxy 'ghost'");
    const bad: [string[], RegExp][] = [
      [['create'], /missing --proxy/],
      [['create', '--proxy', 'P1'], /invalid proxy id/],
      [['create', '--proxy', 'p1', '--expires-in', '30'], /not a duration/],
      [['create', '--proxy', 'p1', '--expires-at', '2020-01-01T00:00:00Z'], /in the past/],
      [['create', '--proxy', 'p1', '--expires-at', 'tomorrow'], /not an ISO 8601 time/],
      [['create', '--proxy', 'p1', '--expires-at', '2027-13-45T00:00:00Z'], /not a valid time/],
      [['create', '--proxy', 'p1', '--expires-in', '1d', '--expires-at', '2027-01-01'], /not both/],
      [['create', '--proxy', 'p1', 'extra'], /unexpected argument 'extra'/],
      [['create', '--proxy'], /--proxy/],
      [['rotate'], /unknown command 'rotate'/],
    ];
    for (const [argv, message] of bad) {
      const r = await run(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err, argv.join(' ')).toMatch(message);
      expect(r.out).not.toContain('sk-sluice-');
    }
    expect(await cli.reader.listKeys()).toEqual([]);
  });
});

describe('sluice keys list', () => {
  it('shows ids, status and fingerprints, never keys or hashes', async () => {
    const active = printedKey((await run('create', '--proxy', 'p1', '--name', 'active')).out);
    const revoked = printedKey((await run('create', '--proxy', 'p1', '--name', 'revoked')).out);
    const expiring = printedKey((await run('create', '--proxy', 'p1', '--name', 'expiring', '--expires-in', '1h')).out);
    const revokedRecord = await cli.reader.getKeyByHash(hashKey(revoked));
    await cli.reader.revokeKey(revokedRecord?.id ?? '', NOW.toISOString());
    cli.deps.now = () => new Date(NOW.getTime() + 2 * 3_600_000);

    const r = await run('list');
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+PROXY\s+NAME\s+STATUS\s+CREATED\s+EXPIRES\s+FINGERPRINT$/);
    expect(lines).toHaveLength(4);
    for (const [key, status, name] of [[active, 'active', 'active'], [revoked, 'revoked', 'revoked'], [expiring, 'expired', 'expiring']] as const) {
      const hash = hashKey(key);
      expect(r.out).not.toContain(key);
      expect(r.out).not.toContain(hash.slice(0, 9));
      expect(lines.find((l) => l.includes(` ${name} `))).toMatch(new RegExp(`\\s${status}\\s.*\\s${hash.slice(0, 8)}$`));
    }

    const json = JSON.parse((await run('list', '--json')).out) as Record<string, unknown>[];
    expect(json).toHaveLength(3);
    for (const entry of json) {
      expect(entry).not.toHaveProperty('hash');
      expect(entry.fingerprint).toMatch(/^[0-9a-f]{8}$/);
    }
    expect(JSON.stringify(json)).not.toContain(hashKey(active));
  });

  it('filters by proxy', async () => {
    await cli.reader.putProxy({ ...(await cli.reader.getProxy('p1'))!, id: 'p2' });
    await run('create', '--proxy', 'p1', '--name', 'one');
    await run('create', '--proxy', 'p2', '--name', 'two');
    const r = JSON.parse((await run('list', '--proxy', 'p2', '--json')).out) as { name: string }[];
    expect(r.map((k) => k.name)).toEqual(['two']);
    expect((await run('list', '--proxy', 'p3')).out).toContain('No keys for proxy p3.');
  });
});

describe('sluice keys revoke', () => {
  it('revokes by id', async () => {
    const key = printedKey((await run('create', '--proxy', 'p1')).out);
    const record = await cli.reader.getKeyByHash(hashKey(key));
    const r = await run('revoke', record?.id ?? '');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`Revoked key ${record?.id}`);
    expect((await cli.reader.getKeyByHash(hashKey(key)))?.revokedAt).toBe(NOW.toISOString());
  });

  it('locally: the running local gateway refuses it from its next request', async () => {
    const key = printedKey((await run('create', '--proxy', 'p1')).out);
    const record = await cli.reader.getKeyByHash(hashKey(key));
    expect((await run('revoke', record!.id)).out).toContain('A local gateway on this store refuses it from its next request.');
  });

  it('with --aws: drops the key from the DynamoDB cache layer and says how long containers may still take it', async () => {
    const forgotten: string[][] = [];
    cli.deps.aws = true;
    cli.deps.forgetCached = async (keys) => void forgotten.push(keys);
    const created = await run('create', '--proxy', 'p1');
    expect(created.out).toContain('In AWS the key works at once');
    const key = printedKey(created.out);
    const record = await cli.reader.getKeyByHash(hashKey(key));
    const r = await run('revoke', record!.id);
    expect(r.code).toBe(0);
    expect(r.out).toContain('In AWS a container that accepted the key in the last 5 minutes (SLUICE_AUTH_CACHE_TTL_MS) may still accept it');
    expect(forgotten).toEqual([[`auth:${hashKey(key)}`]]);
  });

  it('fails on an unknown id, and refuses a pasted key without echoing it', async () => {
    const unknown = await run('revoke', 'key_0000000000000000');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain("unknown key 'key_0000000000000000'");
    const key = printedKey((await run('create', '--proxy', 'p1')).out);
    const pasted = await run('revoke', key);
    expect(pasted.code).toBe(2);
    expect(pasted.err).toContain('not a key id');
    expect(pasted.err).not.toContain(key);
    const asCommand = await run(key);
    expect(asCommand.code).toBe(2);
    expect(asCommand.err).not.toContain(key.slice(10));
    expect((await run('revoke')).err).toContain('missing <keyId>');
  });

  it('prints help', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('Usage: sluice keys <command>');
    expect((await run()).code).toBe(2);
  });
});
