/**
 * `npm start` as a user runs it, stopped the way process managers and Ctrl-C stop it: a
 * signal to the PID npm start has. The gateway must finish the request in flight, write
 * its trace, close the port and exit 0 — not leave an orphan listening on the port.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FileControlStore } from '../../functions/stores/file-store.js';
import { generateGatewayKey } from '../../functions/stores/keys.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';

const repo = new URL('../..', import.meta.url).pathname;

interface Started {
  npm: ChildProcessWithoutNullStreams;
  url: string;
  port: number;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running: Started[] = [];

async function npmStart(dataDir: string): Promise<Started> {
  // The user's npm (whatever is first on PATH), in the repository, exactly `npm start`.
  const npm = spawn('npm', ['start'], {
    cwd: repo,
    env: { ...process.env, PORT: '0', SLUICE_DATA_DIR: dataDir, OPENAI_API_KEY: '', SLUICE_LOG_LEVEL: 'SILENT' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  npm.stdout.on('data', (d: Buffer) => (out += d.toString()));
  npm.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => npm.once('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start printed no URL in 60 s: ${out}`)), 60_000);
    const check = () => {
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    npm.stdout.on('data', check);
    void exited.then(({ code }) => reject(new Error(`npm start exited ${code} before listening: ${out}`)));
  });
  const started = { npm, url, port: Number(new URL(url).port), output: () => out, exited };
  running.push(started);
  return started;
}

/** Whether something accepts TCP connections on the port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function closedWithin(port: number, ms: number): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (!(await accepts(port))) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`port ${port} still accepts connections after ${ms} ms`);
}

describe('npm start stops cleanly on a signal to its PID', () => {
  let upstream: OpenAIUpstream;
  let dataDir: string;
  let key: string;

  beforeAll(async () => {
    upstream = await startOpenAIUpstream();
    dataDir = await mkdtemp(join(tmpdir(), 'sluice-npm-start-'));
    const store = new FileControlStore({ dataDir });
    await store.putProxy({
      id: 'slow', orgId: 'default', name: 'slow', provider: 'openai-compatible', baseUrl: upstream.url,
      byok: false, allowPrivateNetwork: true, createdAt: new Date().toISOString(),
    });
    const generated = generateGatewayKey();
    await store.putKey({ id: generated.id, hash: generated.hash, proxyId: 'slow', orgId: 'default', name: 'signals', createdAt: new Date().toISOString() });
    key = generated.key;
  });
  afterEach(() => {
    for (const s of running.splice(0)) if (s.npm.exitCode === null) s.npm.kill('SIGKILL');
  });
  afterAll(async () => {
    await upstream.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('SIGTERM: the request in flight completes with its trace, the port closes within 11 s, exit 0', async () => {
    const s = await npmStart(dataDir);
    // A stream that takes ~1.5 s: the signal lands in the middle of it.
    const call = fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test-slow@first=300,gap=100', stream: true, messages: [{ role: 'user', content: 'count slowly to twelve please' }] }),
    });
    const res = await call;
    expect(res.status).toBe(200);
    const traceId = res.headers.get('x-sluice-trace-id');
    const signalledAt = Date.now();
    process.kill(s.npm.pid!, 'SIGTERM');
    const body = await res.text();
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(Date.now() - signalledAt).toBeGreaterThan(200); // the stream really was still running
    await closedWithin(s.port, 11_000);
    const { code } = await s.exited;
    expect(code).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(11_000);
    expect(s.output()).toMatch(/SIGTERM received/);
    // The trace of the drained request was written before the process went away.
    const days = await readdir(join(dataDir, 'traces'));
    const lines = (await Promise.all(days.filter((d) => d.endsWith('.jsonl')).map((d) => readFile(join(dataDir, 'traces', d), 'utf8')))).join('');
    expect(lines).toContain(`"traceId":"${traceId}"`);
  }, 90_000);

  it('SIGINT: same clean stop, and nothing listens afterwards', async () => {
    const s = await npmStart(dataDir);
    expect(await accepts(s.port)).toBe(true);
    const signalledAt = Date.now();
    process.kill(s.npm.pid!, 'SIGINT');
    await closedWithin(s.port, 11_000);
    const { code } = await s.exited;
    expect(code).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(11_000);
    expect(s.output()).toMatch(/SIGINT received/);
  }, 90_000);

  it('a request still running after the grace period is cut and the process still exits', async () => {
    // The grace period is 10 s; a stream that hangs forever must not hold the stop past it.
    const s = await npmStart(dataDir);
    const reading = fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test-hang@phase=body', stream: true, messages: [{ role: 'user', content: 'hang' }] }),
    }).then((res) => res.text()).then(() => 'ended', () => 'cut');
    while (upstream.requests.filter((r) => r.rawBody.includes('test-hang')).length === 0) await new Promise((r) => setTimeout(r, 50));
    const signalledAt = Date.now();
    process.kill(s.npm.pid!, 'SIGTERM');
    await closedWithin(s.port, 11_000);
    const { code } = await s.exited;
    const took = Date.now() - signalledAt;
    expect(code).toBe(0);
    expect(took).toBeGreaterThanOrEqual(9_500);
    expect(took).toBeLessThan(11_500);
    expect(await reading).toMatch(/ended|cut/);
    expect(s.output()).toMatch(/1 request\(s\) still running after 10 s were cut off/);
  }, 90_000);
});
