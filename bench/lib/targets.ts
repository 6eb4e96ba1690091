/**
 * Starts what the benchmark measures, each in its own process on 127.0.0.1:
 * the test upstream, Sluice's local runtime (`sluice dev`, configured through the
 * `sluice` CLI like a user would), and Portkey's open-source gateway.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startChild, waitForHttp, waitForOutput, type Child } from './children.js';
import type { Target } from './http-load.js';
import { GATEWAY_NODE_FLAGS } from '../../functions/local/node-flags.js';

export const UPSTREAM_KEY_ENV = 'BENCH_UPSTREAM_KEY';

/** A free loopback port (for servers that cannot be told to take port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface Started {
  child: Child;
  target: Target;
}

export interface BenchEnv {
  root: string;
  workDir: string;
  upstreamKey: string;
}

export function newUpstreamKey(): string {
  return `sk-bench-upstream-${randomBytes(12).toString('hex')}`;
}

const tsxArgs = (script: string, ...args: string[]) => ['--import', 'tsx', script, ...args];

export async function startUpstream(env: BenchEnv): Promise<Started & { url: string }> {
  const child = startChild('upstream', tsxArgs('bench/upstream-server.ts'), {
    cwd: env.root,
    env: { ...process.env, [UPSTREAM_KEY_ENV]: env.upstreamKey },
    logFile: join(env.workDir, 'upstream.log'),
  });
  const [, url] = await waitForOutput(child, /UPSTREAM_URL=(\S+)/);
  return {
    child,
    url: url!,
    target: { name: 'direct', baseUrl: url!, headers: { authorization: `Bearer ${env.upstreamKey}` } },
  };
}

/** Runs the `sluice` CLI against the benchmark's data directory; returns stdout. */
function sluiceCli(env: BenchEnv, dataDir: string, args: string[]): string {
  const result = spawnSync(process.execPath, tsxArgs('bin/sluice.ts', '--data-dir', dataDir, ...args), {
    cwd: env.root,
    env: process.env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.status !== 0) {
    throw new Error(`sluice ${args.slice(0, 2).join(' ')} failed (exit ${result.status}): ${result.stderr.replace(/sk-[\w-]+/g, 'sk-…')}`);
  }
  return result.stdout;
}

export const SLUICE_PROXY_ID = 'bench';

/**
 * `nodeArgs` go before the script (e.g. `--cpu-prof` for bench/profile.ts); `name` names
 * the target and its data directory (a second Sluice, e.g. a baseline commit run from
 * its own checkout at `env.root`).
 */
export async function startSluice(
  env: BenchEnv,
  upstreamUrl: string,
  opts: {
    nodeArgs?: string[];
    name?: string;
    /** Extra environment for the gateway process. */
    env?: NodeJS.ProcessEnv;
    /** Runs after the proxy and key exist, before the gateway starts: more `sluice` CLI configuration. */
    setup?: (cli: (args: string[]) => string, dataDir: string) => void;
  } = {},
): Promise<Started & { dataDir: string }> {
  const name = opts.name ?? 'sluice';
  const dataDir = join(env.workDir, name === 'sluice' ? 'sluice-data' : `${name.replace(/[^\w.-]/g, '_')}-data`);
  sluiceCli(env, dataDir, [
    'proxies', 'create', SLUICE_PROXY_ID,
    '--provider', 'openai-compatible',
    '--base-url', upstreamUrl,
    '--credential', `env:${UPSTREAM_KEY_ENV}`,
    '--allow-private-network',
  ]);
  const printed = sluiceCli(env, dataDir, ['keys', 'create', '--proxy', SLUICE_PROXY_ID, '--name', 'bench']);
  const key = printed.match(/sk-sluice-[A-Za-z0-9_-]+/)?.[0];
  if (!key) throw new Error('sluice keys create printed no sk-sluice- key');
  opts.setup?.((args) => sluiceCli(env, dataDir, args), dataDir);

  const port = await freePort();
  // As `npm start` runs it (package.json): the gateway's V8 heap flags first.
  const child = startChild(name, [...GATEWAY_NODE_FLAGS, ...(opts.nodeArgs ?? []), ...tsxArgs('bin/sluice.ts', 'dev', '--port', String(port), '--host', '127.0.0.1', '--data-dir', dataDir)], {
    cwd: env.root,
    env: {
      ...process.env,
      [UPSTREAM_KEY_ENV]: env.upstreamKey,
      SLUICE_DATA_DIR: dataDir,
      SLUICE_STORE: 'file',
      SLUICE_IDENTITY_SIGNING_KEY: randomBytes(32).toString('hex'),
      ...opts.env,
    },
    logFile: join(env.workDir, `${name.replace(/[^\w.-]/g, '_')}.log`),
  });
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(child, `${base}/healthz`);
  return {
    child,
    dataDir,
    target: { name, baseUrl: `${base}/a/${SLUICE_PROXY_ID}/openai/v1`, headers: { authorization: `Bearer ${key}` } },
  };
}

export async function startPortkey(env: BenchEnv, upstreamUrl: string): Promise<Started> {
  const port = await freePort();
  const child = startChild(
    'portkey',
    [
      // Loopback-only listen/fetch and the issue #1389 workaround: see the file's header.
      '--import', './bench/portkey/preload.mjs',
      'node_modules/@portkey-ai/gateway/build/start-server.js',
      `--port=${port}`,
      '--headless',
    ],
    { cwd: env.root, env: process.env, logFile: join(env.workDir, 'portkey.log') },
  );
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(child, `${base}/`);
  return {
    child,
    target: {
      name: 'portkey',
      baseUrl: `${base}/v1`,
      headers: {
        authorization: `Bearer ${env.upstreamKey}`,
        'x-portkey-provider': 'openai',
        'x-portkey-custom-host': upstreamUrl,
      },
    },
  };
}

/** The bare Node pipe proxy (bench/bare-proxy.ts): the limit reference, same hop, no gateway work. */
export async function startBareProxy(env: BenchEnv, upstreamUrl: string): Promise<Started> {
  const child = startChild('bare-proxy', tsxArgs('bench/bare-proxy.ts'), {
    cwd: env.root,
    env: { ...process.env, BARE_PROXY_UPSTREAM: upstreamUrl },
    logFile: join(env.workDir, 'bare-proxy.log'),
  });
  const [, url] = await waitForOutput(child, /BARE_PROXY_URL=(\S+)/);
  return { child, target: { name: 'bare-proxy', baseUrl: url!, headers: { authorization: `Bearer ${env.upstreamKey}` } } };
}
