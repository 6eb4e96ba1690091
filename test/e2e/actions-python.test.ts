/**
 * The Python action-check snippet of docs/policies.md ("Actions"), exactly as documented, run
 * with python3 against the real handler on the local runtime: the quickstart policy as the
 * action policy; allow, deny, hold → approve (CLI) → allow once, and fail closed.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/commands/cli.js';
import type { StoredPolicy } from '../../functions/stores/types.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { ACTION_POLICY, governedProxy } from './governance-helpers.js';

const repo = new URL('../..', import.meta.url).pathname;

/** The ```python block of docs/policies.md that calls /v1/actions/check. */
function pythonSnippet(markdown: string): string {
  const blocks = [...markdown.matchAll(/^```python\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  const snippet = blocks.find((b) => b.includes('/v1/actions/check'));
  if (!snippet) throw new Error('docs/policies.md has no ```python block calling /v1/actions/check');
  return snippet;
}

let upstream: OpenAIUpstream;
let gw: TestGateway;
let dir: string;
let script: string;

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  gw = await startTestGateway({ upstreamUrl: upstream.url });
  dir = await mkdtemp(join(tmpdir(), 'sluice-python-'));
  script = join(dir, 'check_action.py');
  await writeFile(script, pythonSnippet(await readFile(join(repo, 'docs/policies.md'), 'utf8')));
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** python3 check_action.py <action> [arguments]; `onLine` sees stdout line by line while it runs. */
function python(key: string, args: string[], onLine?: (line: string) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [script, ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir, SLUICE_URL: gw.url, SLUICE_KEY: key, SLUICE_POLL_SECONDS: '0.05' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      const before = out;
      out += d.toString();
      if (onLine) for (const line of out.slice(before.lastIndexOf('\n') + 1).split('\n').slice(0, -1)) onLine(line);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', (e) => reject(new Error(`python3 could not be started (${e.message}); npm test installs it (test/setup/system-servers.ts)`)));
    child.once('exit', (code) => resolve({ code, out, err }));
  });
}

describe('the documented Python snippet (standard library only)', () => {
  it('allow exits 0; delete_database is denied with the reason, exit 1', async () => {
    const p = await governedProxy(gw, { policies: { action: ACTION_POLICY } });
    expect(await python(p.key, ['list_tables', '{"schema": "public"}'])).toMatchObject({ code: 0, out: 'allow\n' });
    expect(await python(p.key, ['delete_database', '{"name": "prod"}'])).toMatchObject({ code: 1, out: 'deny denied by policy\n' });
  });

  it('hold → the operator approves while it polls → the same bytes again → allow, once', async () => {
    const p = await governedProxy(gw, { policies: { action: ACTION_POLICY } });
    let approving: Promise<number> | undefined;
    const held = await python(p.key, ['refund', '{"amount": 250, "order": "A-17"}'], (line) => {
      const id = /^held: ([0-9a-f-]{36})$/.exec(line)?.[1];
      const sink = { write: () => true };
      if (id) approving = runCli(['--data-dir', gw.dataDir, 'approvals', 'approve', id, '--by', 'alice@example.com'], { stdout: sink, stderr: sink }, {});
    });
    expect(held.err).toBe('');
    expect(held.code).toBe(0);
    expect(await approving).toBe(0);
    const [first, second] = held.out.trim().split('\n');
    expect(first).toMatch(/^held: [0-9a-f-]{36}$/);
    expect(second).toBe('allow');
    const id = first!.slice('held: '.length);
    const approval = (await (await fetch(`${gw.url}/v1/approvals/${id}`, { headers: { authorization: `Bearer ${p.key}` } })).json()) as { status: string };
    expect(approval.status).toBe('consumed');
  });

  it('an engine failure (fail mode closed) raises: exit non-zero naming policy_unavailable, the action is not run', async () => {
    const broken: StoredPolicy = { version: 1, format: 'bundle', body: Buffer.from('not a bundle').toString('base64'), sha256: createHash('sha256').update('broken').digest('hex'), updatedAt: new Date().toISOString() };
    const p = await governedProxy(gw, { governance: { policies: { action: broken } } });
    const res = await python(p.key, ['list_tables']);
    expect(res.code).not.toBe(0);
    expect(res.out).toBe('');
    expect(res.err).toContain('RuntimeError: action check failed (503): policy_unavailable');
  });
});
