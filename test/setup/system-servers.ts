/**
 * `npm test`'s first step (the `pretest` script): makes sure the real servers the suite
 * talks to exist. No npm package ships redis-server, clickhouse-server, a browser or python3, so:
 *  - all present: prints nothing, exits 0;
 *  - missing, and this is root or has passwordless sudo and apt-get: prints ONE line saying
 *    what it installs, runs `apt-get update` + `apt-get install`, checks again;
 *  - missing otherwise: ONE message naming each missing server and the exact command that
 *    installs it, exit 1, within a second or two (nothing slow runs before it).
 *
 * Programs are looked up in $PATH plus the sbin directories (Debian puts clickhouse-server
 * in /usr/sbin, outside a normal user's PATH); SLUICE_SYSTEM_PATH replaces that list (the
 * suite uses it to play a machine without the servers).
 */
import '../../bin/require-node.js';
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface SystemServer {
  /** What the message calls it. */
  name: string;
  /** The Debian package that installs it. */
  aptPackage: string;
  /** Any of these executables counts as installed. */
  executables: string[];
  /** What needs it. */
  usedFor: string;
}

export const SYSTEM_SERVERS: readonly SystemServer[] = [
  { name: 'redis-server', aptPackage: 'redis-server', executables: ['redis-server'], usedFor: 'cache and rate-limit tests' },
  { name: 'clickhouse-server', aptPackage: 'clickhouse-server', executables: ['clickhouse-server', 'clickhouse'], usedFor: 'trace store tests' },
  { name: 'chromium', aptPackage: 'chromium', executables: ['chromium'], usedFor: 'console browser tests' },
  { name: 'python3', aptPackage: 'python3', executables: ['python3'], usedFor: 'the documented Python action-check snippet' },
];

export function searchDirs(env: NodeJS.ProcessEnv): string[] {
  const own = env.SLUICE_SYSTEM_PATH;
  const dirs = own !== undefined ? own.split(delimiter) : [...(env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  return [...new Set(dirs.filter(Boolean))];
}

export function findExecutable(name: string, dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function missingServers(dirs: readonly string[]): SystemServer[] {
  return SYSTEM_SERVERS.filter((s) => !s.executables.some((e) => findExecutable(e, dirs)));
}

export function installCommand(packages: readonly string[], sudo: boolean): string {
  const p = sudo ? 'sudo ' : '';
  return `${p}apt-get update && ${p}apt-get install -y --no-install-recommends ${packages.join(' ')}`;
}

function list(names: readonly string[]): string {
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/** The one message for a machine where the suite cannot install what is missing. */
export function missingMessage(missing: readonly SystemServer[], hasApt: boolean): string {
  const names = list(missing.map((s) => s.name));
  const why = missing.map((s) => `${s.name} (${s.usedFor})`).join(', ');
  const how = hasApt
    ? `Install ${missing.length === 1 ? 'it' : 'them'} with:\n  ${installCommand(missing.map((s) => s.aptPackage), true)}`
    : `This machine has no apt-get: install ${missing.length === 1 ? 'it' : 'them'} with its package manager (the Debian packages are ${list(missing.map((s) => s.aptPackage))}).`;
  return `npm test needs ${names}, not installed here (no npm package ships ${missing.length === 1 ? 'it' : 'them'}; the suite talks to the real servers): ${why}.\n${how}\nThen run npm test again.`;
}

type Run = (cmd: string, args: string[], env?: NodeJS.ProcessEnv) => { status: number | null; output: string };

const run: Run = (cmd, args, env) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: env ?? process.env, timeout: 15 * 60_000, maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error.message) : ''}` };
};

/** Root runs apt-get itself; a user with passwordless sudo through `sudo -n`; anyone else cannot install. */
function installer(dirs: readonly string[]): { prefix: string[]; sudo: boolean } | undefined {
  if (process.getuid?.() === 0) return { prefix: [], sudo: false };
  const sudo = findExecutable('sudo', dirs);
  if (!sudo) return undefined;
  const probe = spawnSync(sudo, ['-n', 'true'], { stdio: 'ignore', timeout: 3_000 });
  return probe.status === 0 ? { prefix: [sudo, '-n'], sudo: true } : undefined;
}

/** Returns the process exit status: 0 when every server is there (now). */
export function ensureSystemServers(env: NodeJS.ProcessEnv = process.env, out: (text: string) => void = (t) => process.stderr.write(`${t}\n`)): number {
  const dirs = searchDirs(env);
  const missing = missingServers(dirs);
  if (missing.length === 0) return 0;
  const aptGet = findExecutable('apt-get', dirs);
  const how = aptGet ? installer(dirs) : undefined;
  if (!aptGet || !how) {
    out(missingMessage(missing, Boolean(aptGet)));
    return 1;
  }
  const packages = missing.map((s) => s.aptPackage);
  out(`npm test: installing ${list(packages)} with apt-get (${installCommand(packages, how.sudo)}): the suite runs them for real.`);
  const aptEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const [cmd, ...pre] = how.prefix.length ? how.prefix : [aptGet];
  const argsFor = (rest: string[]) => (how.prefix.length ? [...pre, aptGet, ...rest] : rest);
  for (const step of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', ...packages]]) {
    const r = run(cmd!, argsFor(step), aptEnv);
    if (r.status !== 0) {
      out(`npm test: apt-get ${step[0]} failed (exit ${r.status ?? 'by signal'}):\n${r.output.trim().split('\n').slice(-15).join('\n') || '(apt-get printed nothing)'}\nInstall them by hand with:\n  ${installCommand(packages, true)}`);
      return 1;
    }
  }
  const still = missingServers(dirs);
  if (still.length > 0) {
    out(`npm test: apt-get finished but ${list(still.map((s) => s.name))} still cannot be found in ${dirs.join(delimiter)}.`);
    return 1;
  }
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exit(ensureSystemServers());
