/**
 * `sluice dev` (what `npm start` runs) as a real child process, configured with the
 * real CLI, driven with traffic that exercises every place a secret could leak
 * (valid, invalid and BYOK keys, provider credentials, upstream errors, broken
 * streams), then everything the run wrote is scanned for the raw secrets.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const SLUICE = join(ROOT, 'bin/sluice.ts');

let upstream: OpenAIUpstream;
let dataDir: string;
let dev: ChildProcess;
let url = '';
let stdout = '';
let stderr = '';
/** Length of stdout once the welcome text (which shows the demo key on purpose) was printed. */
let welcomeLength = 0;
const upstreamSecret = `sk-upstream-${randomBytes(12).toString('hex')}`;
const byokProviderKey = `sk-byok-${randomBytes(12).toString('hex')}`;
const strayKey = `sk-sluice-${randomBytes(24).toString('base64url')}`;
const keys: Record<string, string> = {};

async function cli(...args: string[]): Promise<string> {
  const { stdout: out } = await run(TSX, [SLUICE, '--data-dir', dataDir, ...args], { cwd: ROOT, env: { ...process.env } });
  return out;
}
const keyFrom = (out: string) => /sk-sluice-[A-Za-z0-9_-]+/.exec(out)?.[0] ?? '';

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  dataDir = await mkdtemp(join(tmpdir(), 'sluice-dev-'));
  dev = spawn(TSX, [SLUICE, 'dev', '--port', '0', '--data-dir', dataDir], {
    cwd: ROOT,
    env: { ...process.env, OPENAI_API_KEY: '', UPSTREAM_SECRET: upstreamSecret, SLUICE_LOG_LEVEL: 'DEBUG' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  dev.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  dev.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  for (let i = 0; i < 300 && !url; i++) {
    url = /listening on (http:\/\/[\d.:]+)/.exec(stdout)?.[1] ?? '';
    if (!url) await new Promise((r) => setTimeout(r, 100));
  }
  if (!url) throw new Error(`sluice dev did not start:\n${stdout}\n${stderr}`);
  keys.demo = keyFrom(stdout);
  welcomeLength = stdout.length;
  await cli('proxies', 'create', 'up', '--provider', 'openai-compatible', '--base-url', upstream.url, '--credential', 'env:UPSTREAM_SECRET', '--allow-private-network');
  keys.up = keyFrom(await cli('keys', 'create', '--proxy', 'up'));
  await cli('proxies', 'create', 'mine', '--provider', 'openai-compatible', '--base-url', upstream.url, '--byok', '--allow-private-network');
  keys.byok = keyFrom(await cli('keys', 'create', '--proxy', 'mine'));
}, 120_000);

afterAll(async () => {
  dev?.kill('SIGTERM');
  await upstream?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const chat = (model = 'gpt-4o-mini', stream = false) => JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'a short poem about keys' }] });
async function post(path: string, headers: Record<string, string>, body: string) {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

describe('sluice dev', () => {
  it('first run: creates the demo proxy and prints its key once; health answers', async () => {
    expect(keys.demo).toMatch(/^sk-sluice-/);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('without a provider credential, a call answers a clear error naming the variable', async () => {
    const r = await post('/v1/chat/completions', { authorization: `Bearer ${keys.demo}` }, chat());
    expect(r.status).toBe(502);
    expect(r.text).toContain('OPENAI_API_KEY');
  });

  it('proxies and keys made by the CLI in another process work at once', async () => {
    const r = await post('/a/up/openai/v1/chat/completions', { authorization: `Bearer ${keys.up}` }, chat());
    expect(r.status).toBe(200);
    expect(upstream.requests.at(-1)!.headers.authorization).toBe(`Bearer ${upstreamSecret}`);
  });

  it('after traffic of every kind, no raw secret appears in logs, traces or store files', async () => {
    const auth = { authorization: `Bearer ${keys.up}` };
    await post('/v1/chat/completions', auth, chat('gpt-4o-mini', true));
    await post('/v1/chat/completions', auth, chat('test-500'));
    await post('/v1/chat/completions', auth, chat('test-401'));
    await post('/v1/chat/completions', auth, chat('test-cut@after=2', true));
    await post('/v1/chat/completions', { authorization: `Bearer ${strayKey}` }, chat());
    await post('/v1/chat/completions', { 'x-sluice-key': strayKey, authorization: `Bearer ${byokProviderKey}` }, chat());
    const byok = await post('/a/mine/openai/v1/chat/completions', { 'x-sluice-key': keys.byok!, authorization: `Bearer ${byokProviderKey}` }, chat());
    expect(byok.status).toBe(200);
    await post('/a/mine/openai/v1/chat/completions', { 'x-sluice-key': keys.byok!, authorization: `Bearer ${byokProviderKey}` }, chat('test-400'));
    await post('/a/up/openai/v1/chat/completions', { authorization: `Bearer ${keys.byok}` }, chat());
    // Let asynchronous trace writes land.
    await new Promise((r) => setTimeout(r, 500));

    const files = await listFiles(dataDir);
    const traceFiles = files.filter((f) => f.includes(`${join('traces', '')}`));
    expect(traceFiles.length).toBeGreaterThan(0);
    const traces = (await Promise.all(traceFiles.map((f) => readFile(f, 'utf8')))).join('');
    expect(traces.split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(9);
    expect(traces).toMatch(/"keyFingerprint":"[0-9a-f]{8}"/);

    const written = [stderr, stdout.slice(welcomeLength), ...(await Promise.all(files.map((f) => readFile(f, 'latin1'))))].join('\n');
    const secrets = { ...keys, upstreamSecret, byokProviderKey, strayKey };
    for (const [name, secret] of Object.entries(secrets)) {
      expect(secret, name).toBeTruthy();
      expect(written.includes(secret!), `${name} leaked`).toBe(false);
    }
    // Request logs were actually produced (one per request), so the scan had something to read.
    expect((stdout.slice(welcomeLength).match(/"request finished"/g) ?? []).length).toBeGreaterThanOrEqual(9);
  });
});

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir)) {
    const path = join(dir, entry);
    if ((await stat(path)).isDirectory()) out.push(...(await listFiles(path)));
    else out.push(path);
  }
  return out;
}
