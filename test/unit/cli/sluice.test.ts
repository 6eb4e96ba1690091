import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../../bin/commands/cli.js';
import { FileControlStore } from '../../../functions/stores/file-store.js';
import { hashKey } from '../../../functions/stores/keys.js';
import { createSluiceTables, localDynamoClient, startDynalite } from '../../support/dynalite.js';
import { DynamoControlStore } from '../../../functions/stores/dynamodb-store.js';
import { COMMANDS, PLAIN_GROUPS } from './commands.js';
import { recordingIo, tempDataDir } from './support.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
let data: Awaited<ReturnType<typeof tempDataDir>>;
beforeEach(async () => {
  data = await tempDataDir();
});
afterEach(() => data.remove());

async function cli(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const io = recordingIo();
  const code = await runCli(argv, io, env);
  return { code, out: io.out(), err: io.err() };
}

describe('sluice (in process)', () => {
  it('prints help and refuses unknown groups', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: sluice <group> <command>');
    expect((await cli([])).code).toBe(2);
    const unknown = await cli(['frobs', 'list']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("unknown command group 'frobs'");
    const secret = await cli(['sk-sluice-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg']);
    expect(secret.code).toBe(2);
    expect(secret.err).not.toContain('ABCDEFGHIJ');
  });


  it.each(Object.entries(COMMANDS))('%s --help and sluice --help name every command of the group', async (group, commands) => {
    const help = await cli([group, '--help']);
    expect(help.code, help.err).toBe(0);
    const overview = (await cli(['--help'])).out.split('\n').find((l) => l.startsWith(`  ${group} `))!;
    for (const command of commands) {
      expect(help.out, `${group} --help lacks ${command}`).toMatch(new RegExp(`^\\s+(sluice ${group} )?${command}\\b`, 'm'));
      expect(overview, `sluice --help: ${group} lacks ${command}`).toMatch(new RegExp(`\\b${command}\\b`));
    }
  });

  it.each(Object.entries(COMMANDS).filter(([g]) => g !== 'policies'))('the command list of %s is complete (what its "unknown command" error expects)', async (group, commands) => {
    const r = await cli([group, 'no-such-command']);
    expect(r.code).toBe(2);
    const expected = /\(expected ([^)]+)\)/.exec(r.err)?.[1];
    expect(expected, r.err).toBeDefined();
    expect(expected!.split(/, | or /).sort()).toEqual([...commands].sort());
  });

  it.each(Object.entries(COMMANDS))('every %s command answers --help on stdout with exit 0', async (group, commands) => {
    for (const command of commands) {
      const help = await cli([group, command, '--help']);
      expect(help, `${group} ${command} --help`).toMatchObject({ code: 0, err: '' });
      expect(help.out, `${group} ${command} --help`).toMatch(new RegExp(`\\b${command}\\b`));
    }
  });

  it("configuration.md's CLI table names exactly the groups and commands the CLI has", async () => {
    const doc = await fs.readFile(join(ROOT, 'docs/configuration.md'), 'utf8');
    const table = doc.slice(doc.indexOf('## The CLI'), doc.indexOf('Global options:', doc.indexOf('## The CLI')));
    const documented = new Set<string>();
    for (const row of table.split('\n').filter((l) => l.startsWith('| `'))) {
      let group: string | undefined;
      for (const [, span] of row.split(' | ')[0]!.matchAll(/`([^`]+)`/g)) {
        const [first, second] = span!.split(/\s+/);
        if (PLAIN_GROUPS.includes(first!)) {
          documented.add(first!);
          continue;
        }
        if (first! in COMMANDS) {
          group = first;
          for (const c of (second ?? '').split(/\\?\|/)) if (/^[a-z][a-z-]*$/.test(c)) documented.add(`${group} ${c}`);
        } else if (group && /^[a-z][a-z-]*$/.test(first!)) documented.add(`${group} ${first}`); // `get` after `policies set …`
      }
    }
    const actual = [...Object.entries(COMMANDS).flatMap(([g, cs]) => cs.map((c) => `${g} ${c}`)), ...PLAIN_GROUPS];
    expect([...documented].sort()).toEqual(actual.sort());
  });

  it('policies set --help prints the options of the stored-policy commands', async () => {
    const help = await cli(['policies', 'set', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/--stage request\|response/);
    expect(help.out).toMatch(/--request-fail-mode/);
    expect((await cli(['policies'])).code).toBe(2);
    const unknown = await cli(['policies', 'frob']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("unknown command 'frob'");
  });

  it('uses --data-dir, from any position, for the file store', async () => {
    expect((await cli(['proxies', 'create', 'p1', '--provider', 'openai', '--data-dir', data.dir])).code).toBe(0);
    const created = await cli(['--data-dir', data.dir, 'keys', 'create', '--proxy', 'p1', '--json']);
    expect(created.code).toBe(0);
    const { key, id } = JSON.parse(created.out) as { key: string; id: string };
    expect((await new FileControlStore({ dataDir: data.dir }).getKeyByHash(hashKey(key)))?.id).toBe(id);
  });

  it('falls back to SLUICE_DATA_DIR from the environment', async () => {
    expect((await cli(['proxies', 'create', 'p1', '--provider', 'groq'], { SLUICE_DATA_DIR: data.dir })).code).toBe(0);
    expect((await new FileControlStore({ dataDir: data.dir }).getProxy('p1'))?.provider).toBe('groq');
  });

  it('reports a bad global option or combination with exit 2', async () => {
    expect((await cli(['keys', 'list', '--data-dir'])).code).toBe(2);
    const mixed = await cli(['keys', 'list', '--aws', '--data-dir', data.dir]);
    expect(mixed.code).toBe(2);
    expect(mixed.err).toContain('cannot be combined with --aws');
    expect((await cli(['keys', 'list', '--stack', 'S'])).err).toContain('need --aws');
    expect((await cli(['dev', '--aws'])).code).toBe(2);
    expect((await cli(['dev', '--port', 'eighty'])).err).toContain("invalid port 'eighty'");
    expect((await cli(['dev', '--port', '70000'])).code).toBe(2);
    expect((await cli(['dev', '--help'])).out).toContain('Usage: sluice dev');
  });

  it('works against DynamoDB when SLUICE_STORE=dynamodb (dynalite)', async () => {
    const dynamo = await startDynalite();
    const client = localDynamoClient(dynamo.endpoint);
    const saved = { ...process.env };
    try {
      const { controlTable } = await createSluiceTables(client);
      // The SDK reads the endpoint and credentials from the process environment.
      Object.assign(process.env, { AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
      const env = { SLUICE_STORE: 'dynamodb', SLUICE_CONTROL_TABLE: controlTable, AWS_REGION: 'us-east-1' };
      expect((await cli(['proxies', 'create', 'p1', '--provider', 'together'], env)).code).toBe(0);
      const created = await cli(['keys', 'create', '--proxy', 'p1', '--json'], env);
      expect(created.code).toBe(0);
      const { key } = JSON.parse(created.out) as { key: string };
      const store = new DynamoControlStore({ client, tableName: controlTable });
      expect((await store.getKeyByHash(hashKey(key)))?.proxyId).toBe('p1');
      expect((await store.getProxy('p1'))?.baseUrl).toBe('https://api.together.xyz/v1');
      const listed = await cli(['keys', 'list'], env);
      expect(listed.out).toContain(hashKey(key).slice(0, 8));
      expect(listed.out).not.toContain(key);
    } finally {
      process.env = saved;
      client.destroy();
      await dynamo.close();
    }
  });
});

function runProcess(command: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('sluice (child processes)', () => {
  it('runs through npx tsx, the package bin launcher and npm run sluice', async () => {
    const viaTsx = await runProcess('npx', ['tsx', 'bin/sluice.ts', 'proxies', 'create', 'p1', '--provider', 'openai', '--data-dir', data.dir]);
    expect(viaTsx).toMatchObject({ code: 0 });
    expect(viaTsx.out).toContain('Created proxy p1');

    const viaBin = await runProcess(process.execPath, ['bin/sluice.js', 'keys', 'create', '--proxy', 'p1', '--data-dir', data.dir]);
    expect(viaBin.code).toBe(0);
    const key = viaBin.out.match(/sk-sluice-[0-9A-Za-z]+/)?.[0] ?? '';
    expect((await new FileControlStore({ dataDir: data.dir }).getKeyByHash(hashKey(key)))?.proxyId).toBe('p1');

    const viaNpm = await runProcess('npm', ['run', '--silent', 'sluice', '--', 'keys', 'list', '--data-dir', data.dir]);
    expect(viaNpm.code).toBe(0);
    expect(viaNpm.out).toContain(hashKey(key).slice(0, 8));
    expect(viaNpm.out).not.toContain(key);

    const bad = await runProcess(process.execPath, ['bin/sluice.js', 'keys', 'create', '--proxy', 'nope', '--data-dir', data.dir]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("unknown proxy 'nope'");
    const usage = await runProcess(process.execPath, ['bin/sluice.js', 'proxies', 'create']);
    expect(usage.code).toBe(2);
  }, 60_000);

  it('sluice dev starts the local gateway on the given port and data dir', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/sluice.ts', 'dev', '--port', '0', '--host', '127.0.0.1', '--data-dir', data.dir], {
      cwd: ROOT,
      env: { ...process.env, OPENAI_API_KEY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL printed; output so far: ${out}`)), 20_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (match) {
            clearTimeout(timer);
            resolve(match[1] as string);
          }
        });
        let err = '';
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        child.on('exit', (code) => reject(new Error(`sluice dev exited ${code}: ${out} ${err}`)));
      });
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      await health.arrayBuffer();
      await fs.access(join(data.dir, 'control.json')); // the demo proxy went into the given data dir
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    }
  }, 30_000);
});
