/**
 * `npm test` on a machine without the real servers: as a user who cannot install them it
 * stops at once with one message naming each missing server and the exact command; as one
 * who can (root, passwordless sudo) it says in one line what it installs and runs apt-get.
 *
 * The machine running this suite has the servers, so their absence is played with
 * SLUICE_SYSTEM_PATH (the only directories the set-up looks in) and, when the suite runs
 * as root, by dropping to `nobody` with setpriv. apt-get and sudo are stand-ins only where
 * the test must not really install: the message path runs against the real apt-get.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = new URL('../..', import.meta.url).pathname;
const isRoot = process.getuid?.() === 0;
const which = (name: string) => spawnSync('sh', ['-c', `command -v ${name} || ls /usr/sbin/${name} 2>/dev/null`], { encoding: 'utf8' }).stdout.trim().split('\n')[0]!;

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `npm <args>` in the repository as a non-root user, the set-up seeing only `systemPath`. */
function npmAsUser(args: string[], systemPath: string, home: string, asSelf = false): Promise<Outcome> {
  const env = {
    ...process.env,
    SLUICE_SYSTEM_PATH: systemPath,
    HOME: home,
    npm_config_cache: join(home, '.npm'),
    npm_config_update_notifier: 'false',
  };
  const [cmd, cmdArgs] = isRoot && !asSelf
    ? ['setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'npm', ...args]]
    : ['npm', args];
  const started = Date.now();
  const child = spawn(cmd as string, cmdArgs as string[], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started })));
}

/** Our own lines on stderr (npm adds its own `npm error` trailer for a failed script). */
const ownLines = (stderr: string) => stderr.split('\n').filter((l) => l.trim() !== '' && !/^npm (error|warn|notice|ERR)/.test(l));

describe('npm test makes sure the real servers exist', () => {
  let dir: string;
  let home: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-system-servers-'));
    home = join(dir, 'home');
    await writeFile(join(dir, '.keep'), '');
    await chmod(dir, 0o777);
    spawnSync('mkdir', ['-m', '0777', home]);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function systemDir(name: string, links: Record<string, string>): Promise<string> {
    const d = join(dir, name);
    spawnSync('mkdir', ['-m', '0777', d]);
    for (const [as, target] of Object.entries(links)) await symlink(target, join(d, as));
    return d;
  }

  it('none installed, no way to install: `npm test` stops in under 5 s with one message and the exact command', async () => {
    const sys = await systemDir('none', { 'apt-get': which('apt-get') });
    const r = await npmAsUser(['test'], sys, home);
    expect(r.code).not.toBe(0);
    expect(r.ms).toBeLessThan(5_000);
    const lines = ownLines(r.stderr);
    expect(lines[0]).toMatch(/^npm test needs redis-server, clickhouse-server, chromium and python3, not installed here/);
    expect(lines).toContain('  sudo apt-get update && sudo apt-get install -y --no-install-recommends redis-server clickhouse-server chromium python3');
    expect(lines.at(-1)).toBe('Then run npm test again.');
    expect(lines).toHaveLength(4); // one message: what is missing, "Install them with:", the command, "Then …"
    // The suite never started: no type check, no vitest.
    expect(r.stdout).not.toMatch(/tsc --noEmit|RUN|Test Files/);
  }, 30_000);

  it('a user whose sudo asks for a password gets the same one message, not a prompt', async () => {
    // `sudo -n true` fails as real sudo does for a user without a NOPASSWD rule.
    const sys = await systemDir('sudo-password', { 'apt-get': which('apt-get') });
    await writeFile(join(sys, 'sudo'), '#!/bin/sh\necho "sudo: a password is required" >&2\nexit 1\n');
    await chmod(join(sys, 'sudo'), 0o755);
    const r = await npmAsUser(['test'], sys, home);
    expect(r.code).not.toBe(0);
    expect(r.ms).toBeLessThan(5_000);
    const lines = ownLines(r.stderr);
    expect(lines[0]).toMatch(/^npm test needs redis-server, clickhouse-server, chromium and python3, not installed here/);
    expect(lines).toContain('  sudo apt-get update && sudo apt-get install -y --no-install-recommends redis-server clickhouse-server chromium python3');
    expect(lines).toHaveLength(4);
    expect(r.stderr).not.toContain('password is required');
  }, 30_000);

  it('names only what is missing', async () => {
    const sys = await systemDir('some', { 'apt-get': which('apt-get'), 'redis-server': which('redis-server'), chromium: which('chromium') });
    // Present is all the check asks of python3 (this machine's may live where the test user cannot reach it).
    await writeFile(join(sys, 'python3'), '#!/bin/sh\n');
    await chmod(join(sys, 'python3'), 0o755);
    const r = await npmAsUser(['run', 'pretest'], sys, home);
    expect(r.code).toBe(1);
    const text = ownLines(r.stderr).join('\n');
    expect(text).toMatch(/^npm test needs clickhouse-server, not installed here/);
    expect(text).not.toMatch(/redis-server|chromium|python3/);
    expect(text).toContain('sudo apt-get update && sudo apt-get install -y --no-install-recommends clickhouse-server');
  }, 30_000);

  it('without apt-get it says so instead of printing a command that cannot work', async () => {
    const sys = await systemDir('no-apt', {});
    const r = await npmAsUser(['run', 'pretest'], sys, home);
    expect(r.code).toBe(1);
    const text = ownLines(r.stderr).join('\n');
    expect(text).toMatch(/^npm test needs redis-server, clickhouse-server, chromium and python3/);
    expect(text).toContain('This machine has no apt-get');
    expect(text).not.toContain('apt-get update &&');
  }, 30_000);

  it.each([
    { as: 'a user with passwordless sudo', dirName: 'sudo', root: false },
    ...(isRoot ? [{ as: 'root (apt-get itself, no sudo)', dirName: 'root', root: true }] : []),
  ])('as $as it prints one line and installs through apt-get (update, then install)', async ({ dirName, root }) => {
    const sys = join(dir, dirName);
    spawnSync('mkdir', ['-m', '0777', sys]);
    const log = join(sys, 'calls.log');
    // Stand-ins: `sudo -n CMD…` runs CMD (and `sudo -n true` succeeds: passwordless);
    // apt-get records its arguments and environment, and "installs" by creating the executables.
    if (!root) await writeFile(join(sys, 'sudo'), '#!/bin/sh\n[ "$1" = "-n" ] && shift\nexec "$@"\n');
    await writeFile(
      join(sys, 'apt-get'),
      [
        '#!/bin/sh',
        `echo "DEBIAN_FRONTEND=$DEBIAN_FRONTEND $*" >> ${log}`,
        'if [ "$1" = "install" ]; then',
        `  for p in "$@"; do case "$p" in -*|install) ;; *) printf '#!/bin/sh\\n' > ${sys}/$p; chmod 755 ${sys}/$p ;; esac; done`,
        'fi',
      ].join('\n'),
    );
    if (!root) await chmod(join(sys, 'sudo'), 0o755);
    await chmod(join(sys, 'apt-get'), 0o755);
    const r = await npmAsUser(['run', 'pretest'], sys, home, root);
    const sudo = root ? '' : 'sudo ';
    expect(ownLines(r.stderr)).toEqual([
      `npm test: installing redis-server, clickhouse-server, chromium and python3 with apt-get (${sudo}apt-get update && ${sudo}apt-get install -y --no-install-recommends redis-server clickhouse-server chromium python3): the suite runs them for real.`,
    ]);
    expect(r.code).toBe(0);
    expect((await readFile(log, 'utf8')).trim().split('\n')).toEqual([
      'DEBIAN_FRONTEND=noninteractive update -qq',
      'DEBIAN_FRONTEND=noninteractive install -y -qq --no-install-recommends redis-server clickhouse-server chromium python3',
    ]);
  }, 30_000);

  it('an apt-get that fails is reported with its own output, never an empty error', async () => {
    const sys = join(dir, 'failing');
    spawnSync('mkdir', ['-m', '0777', sys]);
    await writeFile(join(sys, 'sudo'), '#!/bin/sh\n[ "$1" = "-n" ] && shift\nexec "$@"\n');
    await writeFile(join(sys, 'apt-get'), '#!/bin/sh\necho "E: Unable to locate package clickhouse-server" >&2\nexit 100\n');
    await chmod(join(sys, 'sudo'), 0o755);
    await chmod(join(sys, 'apt-get'), 0o755);
    const r = await npmAsUser(['run', 'pretest'], sys, home);
    expect(r.code).toBe(1);
    const text = ownLines(r.stderr).join('\n');
    expect(text).toContain('apt-get update failed (exit 100)');
    expect(text).toContain('E: Unable to locate package clickhouse-server');
  }, 30_000);
});
