/**
 * Every documented command is true: each fenced shell block in README.md and docs/*.md
 * that contains `sluice ` runs, in order per file, in a temporary directory with its own
 * data dir, next to a gateway (the real handler on the local runtime, on that data dir)
 * whose `demo` proxy points at the OpenAI-wire test upstream. A block passes when bash
 * exits 0 under `set -eo pipefail`. `<!-- doc-test: skip REASON -->` directly above a
 * fence skips it; more than 15 % skipped fails the test. How to write a testable block:
 * docs/testing.md.
 */
import '../../functions/local/awslambda.js';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayHandler } from '../../functions/gateway/handler.js';
import { depsFromEnv } from '../../functions/gateway/deps.js';
import { startLocalServer, type LocalServer } from '../../functions/local/server.js';
import { FileControlStore } from '../../functions/stores/file-store.js';
import { generateGatewayKey } from '../../functions/stores/keys.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { documentedBlocks, toScript, type DocBlock } from './blocks.js';

const repo = new URL('../..', import.meta.url).pathname;
const MAX_SKIPPED = 0.15;
const BLOCK_TIMEOUT_MS = 120_000;

const blocks = documentedBlocks(repo);
const skipped = blocks.filter((b) => b.skip !== undefined);
const files = [...new Set(blocks.map((b) => b.file))];

interface Sandbox {
  dir: string;
  env: NodeJS.ProcessEnv;
  server: LocalServer;
  demoKey: string;
}

/** A user's shell in a fresh directory: `sluice` on PATH, a data dir, a gateway on it. */
async function sandbox(upstream: OpenAIUpstream): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-doc-'));
  const dataDir = join(dir, '.sluice');
  const bin = join(dir, '.bin');
  await mkdir(bin);
  // The package bin (bin/sluice.js), what `npm run sluice --` and an installed `sluice` run.
  await writeFile(join(bin, 'sluice'), `#!/bin/sh\nexec "${process.execPath}" "${join(repo, 'bin/sluice.js')}" "$@"\n`);
  await chmod(join(bin, 'sluice'), 0o755);
  // Nothing a block runs may reach AWS: the aws and cdk CLIs are refused, and the SDK's
  // endpoint is a closed loopback port (an --aws command fails at once instead of hanging).
  for (const tool of ['aws', 'cdk']) {
    await writeFile(join(bin, tool), `#!/bin/sh\necho "doc test: '${tool}' does not run here; mark the block <!-- doc-test: skip REASON -->" >&2\nexit 97\n`);
    await chmod(join(bin, tool), 0o755);
  }
  // Files the docs name by their repository path (docs/policies/*.rego) are there, as in a checkout.
  await symlink(join(repo, 'docs'), join(dir, 'docs'));
  const store = new FileControlStore({ dataDir });
  await store.putProxy({
    id: 'demo', orgId: 'default', name: 'Demo proxy (OpenAI)', provider: 'openai', baseUrl: upstream.url,
    credentialRef: 'env:OPENAI_API_KEY', byok: false, allowPrivateNetwork: true, createdAt: new Date().toISOString(),
  });
  const { key, id, hash } = generateGatewayKey();
  await store.putKey({ id, hash, proxyId: 'demo', orgId: 'default', name: 'demo', createdAt: new Date().toISOString() });
  const env: NodeJS.ProcessEnv = {
    PATH: `${bin}:${join(repo, 'node_modules/.bin')}:${process.env.PATH ?? ''}`,
    HOME: process.env.HOME ?? dir,
    LANG: 'C.UTF-8',
    SLUICE_DATA_DIR: dataDir,
    SLUICE_LOG_LEVEL: 'SILENT',
    OPENAI_API_KEY: 'sk-test-openai-key',
    AWS_ACCESS_KEY_ID: 'AKIDOCTEST', AWS_SECRET_ACCESS_KEY: 'doc-test', AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_EC2_METADATA_DISABLED: 'true', AWS_MAX_ATTEMPTS: '1',
  };
  const handler = createGatewayHandler(depsFromEnv({ ...env, SLUICE_IDENTITY_SIGNING_KEY: 'doc-test' }));
  const server = await startLocalServer({ handler });
  return { dir, env: { ...env, SLUICE_URL: server.url }, server, demoKey: key };
}

function runBash(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', `set -eo pipefail\n${script}`], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), BLOCK_TIMEOUT_MS - 5_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const where = (b: DocBlock) => `${b.file}:${b.line}`;

describe('documented commands', () => {
  let upstream: OpenAIUpstream;
  beforeAll(async () => {
    upstream = await startOpenAIUpstream({ record: false });
    const ran = blocks.length - skipped.length;
    const share = blocks.length ? ((100 * skipped.length) / blocks.length).toFixed(1) : '0';
    console.log(`doc test: ${blocks.length} blocks with \`sluice \` in README.md and docs/*.md: ${ran} run, ${skipped.length} skipped (${share} %)`);
    for (const b of skipped) console.log(`  skipped ${where(b)}: ${b.skip}`);
  });
  afterAll(async () => {
    await upstream?.close();
  });

  it('finds the documented blocks, and skips at most 15 % of them', () => {
    expect(blocks.length).toBeGreaterThan(5);
    expect(skipped.length / blocks.length, `skipped: ${skipped.map(where).join(', ')}`).toBeLessThanOrEqual(MAX_SKIPPED);
    for (const b of skipped) expect(b.skip, `${where(b)} needs a reason`).not.toBe('no reason given');
  });

  describe.each(files)('%s', (file) => {
    let box: Sandbox;
    beforeAll(async () => {
      box = await sandbox(upstream);
    });
    afterAll(async () => {
      await box?.server.close();
      if (box) await rm(box.dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    });

    for (const block of blocks.filter((b) => b.file === file)) {
      // A skipped block is reported as skipped (and counted against the 15 % above), never as passed.
      (block.skip !== undefined ? it.skip : it)(`line ${block.line}${block.skip ? ` (${block.skip})` : ''}`, async () => {
        const script = toScript(block.code, { gatewayUrl: box.server.url, demoKey: box.demoKey });
        const { code, output } = await runBash(script, box.dir, box.env);
        expect(code, `${where(block)} exited ${code}:\n--- block as run ---\n${script}\n--- output ---\n${output.slice(-4000)}`).toBe(0);
      }, BLOCK_TIMEOUT_MS);
    }
  });
});
