/**
 * Issue #15 item 3: on a platform npm brings no Node 24 for, with a system node older than
 * 24, every entry point stops at once with one `Sluice needs Node 24: …` line, before it
 * does anything (no data dir, no server, no work dir, nothing on stdout).
 *
 * "Every entry point" is every script in package.json, run as npm runs it (`sh -c` with
 * node_modules/.bin first on PATH), plus the package bin (bin/sluice.js). A script added
 * later is covered without editing this file; only scripts that run no Sluice code are
 * exempt, by name, below.
 *
 * The old Node on another platform is played by this Node: NODE_OPTIONS preloads a module
 * that makes process.versions.node 22.3.0 and the platform darwin-arm64 (the one npm has
 * no Node 24 for). NODE_OPTIONS reaches every process of the chain (npx, tsx, cdk's app
 * subprocess), as a system node would. `vitest` is the exception: its bundler loads a
 * native binding for the platform it is told, so for it only the version is played. When
 * the machine has a real node older than 24 outside the repository (Debian's nodejs),
 * the scripts that start `node` are also run with it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const scripts = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

/** Scripts that run no Sluice code (only the TypeScript compiler). */
const EXEMPT: Record<string, string> = { typecheck: 'tsc only', 'build:client': 'tsc only (compiles client/ to JavaScript)', prepack: 'npm run build:client: tsc only' };

const work = mkdtempSync(join(tmpdir(), 'sluice-old-node-'));
const dataDir = join(work, 'data-must-not-be-created');
afterAll(() => rmSync(work, { recursive: true, force: true }));

const play = (platform: boolean) =>
  `--import=data:text/javascript,Object.defineProperty(process.versions,'node',{value:'22.3.0'})` +
  (platform ? `;Object.defineProperty(process,'platform',{value:'darwin'});Object.defineProperty(process,'arch',{value:'arm64'})` : '');

function run(command: string, env: NodeJS.ProcessEnv) {
  const started = Date.now();
  const r = spawnSync('sh', ['-c', command], {
    cwd: repo,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...env, SLUICE_DATA_DIR: dataDir, BENCH_OUT: join(work, 'bench.md') },
  });
  return { ...r, ms: Date.now() - started };
}

const onPath = (path: string | undefined) => `${join(repo, 'node_modules/.bin')}${delimiter}${path ?? ''}`;

function expectRefused(r: ReturnType<typeof run>, version: string, platformText: RegExp) {
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('Sluice needs Node 24'));
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^Sluice needs Node 24: this is Node ${version.replace(/\./g, '\\.')} \\(`));
  expect(lines[0]).toMatch(platformText);
  expect(r.status).not.toBe(0);
  expect(r.stdout).toBe('');
  expect(existsSync(dataDir)).toBe(false);
  expect(r.ms).toBeLessThan(20_000); // at once: cdk synth's own start-up is the slowest part
}

const entryPoints: Array<[string, string]> = [
  // npm runs `pre<name>` first (npm test: the pretest set-up, then tsc and vitest).
  ...Object.entries(scripts)
    .filter(([name]) => !(name in EXEMPT))
    .map(([name, cmd]): [string, string] => [`npm run ${name}`, scripts[`pre${name}`] ? `${scripts[`pre${name}`]} && ${cmd}` : cmd]),
  ['the package bin (sluice …)', 'node bin/sluice.js proxies list'],
];

describe('on a platform without a bundled Node 24, with an older system node', () => {
  it('every script is an entry point or exempt by name', () => {
    expect(entryPoints.length).toBeGreaterThanOrEqual(Object.keys(scripts).length - Object.keys(EXEMPT).length);
    for (const name of Object.keys(EXEMPT)) expect(scripts[name], `exempt script ${name} no longer exists`).toBeDefined();
  });

  it.each(entryPoints)('%s stops at once with "Sluice needs Node 24: …"', (_name, command) => {
    const vitest = /(^|\s)vitest(\s|$)/.test(command) && !command.includes('&&');
    const r = run(command, { ...process.env, PATH: onPath(process.env.PATH), NODE_OPTIONS: play(!vitest) });
    expectRefused(r, '22.3.0', vitest ? /on linux|on darwin/ : /on darwin-arm64\. npm has no Node 24 package for darwin-arm64: install Node 24 or newer/);
  });
});

/** A real node older than 24 on this machine, outside the repository, if there is one. */
function systemOldNode(): { path: string; version: string } | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir || dir.startsWith(repo) || dir.includes('node_modules')) continue;
    const path = join(dir, 'node');
    if (!existsSync(path)) continue;
    const version = spawnSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim();
    if (Number(version.split('.')[0]) < 24) return { path, version };
  }
  return undefined;
}

const old = systemOldNode();

describe.skipIf(old === undefined)(`with this machine's own node ${old?.version ?? '(none older than 24 here)'}`, () => {
  const nodeScripts = entryPoints.filter(([, cmd]) => /^(exec )?node /.test(cmd));

  it.each(nodeScripts)('%s stops at once with "Sluice needs Node 24: …"', (_name, command) => {
    // The real old node first on PATH, as on a machine where npm installed no node-* package.
    const r = run(command.replace(/^(exec )?node /, `$1"${old!.path}" `), { ...process.env, PATH: onPath(process.env.PATH), NODE_OPTIONS: '' });
    expectRefused(r, old!.version, /on linux-x64|on linux-arm64|on darwin-x64|on [a-z]+-[a-z0-9]+/);
  });
});
