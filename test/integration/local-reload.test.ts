/**
 * Local changes take effect at once: a key, proxy, policy, budget or limit changed with the
 * CLI (another process, as a user runs it) applies to the running local gateway on its next
 * request — its auth cache (5 minutes) and spend definitions cache (5 s) notwithstanding —
 * and serving requests stats or reads no store file.
 */
import '../../functions/local/awslambda.js';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createGatewayHandler } from '../../functions/gateway/handler.js';
import { depsFromEnv } from '../../functions/gateway/deps.js';
import { startLocalServer, type LocalServer } from '../../functions/local/server.js';
import { DEBOUNCE_MS } from '../../functions/stores/data-dir-watch.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';

const run = promisify(execFile);
const repo = new URL('../..', import.meta.url).pathname;

describe('the local gateway applies CLI changes on the next request', () => {
  let upstream: OpenAIUpstream;
  let dataDir: string;
  let server: LocalServer;
  let key: string;
  let keyId: string;

  /** The CLI, in its own process, exactly as `npm run sluice --` runs it. */
  const sluice = async (...args: string[]) => (await run(process.execPath, [join(repo, 'bin/sluice.js'), '--data-dir', dataDir, ...args], { cwd: dataDir })).stdout;
  /** Past the watch's debounce: "the next request" after the CLI returned. */
  const settle = () => new Promise((r) => setTimeout(r, DEBOUNCE_MS + 30));
  const chat = async (content = 'hello', model = 'gpt-4o-mini') => {
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content }] }),
    });
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    return { status: res.status, code: body.error?.code };
  };

  beforeAll(async () => {
    upstream = await startOpenAIUpstream({ record: false });
    dataDir = await mkdtemp(join(tmpdir(), 'sluice-reload-'));
    await sluice('proxies', 'create', 'app', '--provider', 'openai', '--base-url', upstream.url, '--allow-private-network');
    const created = JSON.parse(await sluice('keys', 'create', '--proxy', 'app', '--json')) as { id: string; key: string };
    key = created.key;
    keyId = created.id;
    const env = { SLUICE_DATA_DIR: dataDir, SLUICE_IDENTITY_SIGNING_KEY: 'reload-test', SLUICE_LOG_LEVEL: 'SILENT' };
    server = await startLocalServer({ handler: createGatewayHandler(depsFromEnv(env)) });
  }, 120_000);
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await server?.close();
    await upstream?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('serving requests stats and reads no store file (the watch says when to re-read)', async () => {
    expect((await chat()).status).toBe(200); // warm: the files are read once
    const stat = vi.spyOn(fs.promises, 'stat');
    const open = vi.spyOn(fs.promises, 'open');
    const readFile = vi.spyOn(fs.promises, 'readFile');
    for (let i = 0; i < 10; i++) expect((await chat()).status).toBe(200);
    const touched = [...stat.mock.calls, ...open.mock.calls, ...readFile.mock.calls].map((c) => String(c[0])).filter((p) => /control\.json|spend\.json/.test(p));
    expect(touched).toEqual([]);
  });

  it('a proxy changed with --replace: the new allow-list applies', async () => {
    expect((await chat('hi', 'gpt-4o-mini')).status).toBe(200);
    await sluice('proxies', 'create', 'app', '--provider', 'openai', '--base-url', upstream.url, '--allow-private-network', '--allowed-models', 'only-this-one', '--replace');
    await settle();
    expect(await chat('hi', 'gpt-4o-mini')).toEqual({ status: 403, code: 'model_not_allowed' });
    await sluice('proxies', 'create', 'app', '--provider', 'openai', '--base-url', upstream.url, '--allow-private-network', '--replace');
    await settle();
    expect((await chat('hi', 'gpt-4o-mini')).status).toBe(200);
  }, 60_000);

  it('a request policy set and removed', async () => {
    const policy = join(dataDir, 'no-secrets.rego');
    await writeFile(policy, 'package sluice.policy\n\ndeny contains "mentions a secret" if {\n  some m in input.messages\n  contains(m.text, "secret")\n}\n');
    expect((await chat('my secret')).status).toBe(200);
    await sluice('policies', 'set', 'app', '--stage', 'request', policy);
    await sluice('policies', 'config', 'app', '--on');
    await settle();
    expect(await chat('my secret')).toMatchObject({ status: 403 });
    await sluice('policies', 'delete', 'app', '--stage', 'request');
    await settle();
    expect((await chat('my secret')).status).toBe(200);
  }, 60_000);

  it('a rate limit and a budget', async () => {
    await sluice('limits', 'set', '--key', keyId, '--rpm', '1');
    await settle();
    expect((await chat()).status).toBe(200);
    expect(await chat()).toEqual({ status: 429, code: 'rate_limit_exceeded' });
    await sluice('limits', 'delete', '--key', keyId);
    await settle();
    expect((await chat()).status).toBe(200);
    await sluice('budgets', 'set', '--proxy', 'app', '--limit', '0', '--period', 'day');
    await settle();
    expect(await chat()).toEqual({ status: 429, code: 'budget_exceeded' });
    await sluice('budgets', 'delete', '--proxy', 'app');
    await settle();
    expect((await chat()).status).toBe(200);
  }, 60_000);

  it('a revoked key stops working (last: it ends the key)', async () => {
    expect((await chat()).status).toBe(200);
    await sluice('keys', 'revoke', keyId);
    await settle();
    expect(await chat()).toEqual({ status: 401, code: 'key_revoked' });
  }, 60_000);
});
