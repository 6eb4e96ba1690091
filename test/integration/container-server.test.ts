/**
 * The container server, started exactly as the Dockerfile's CMD starts it (the command is
 * read from the Dockerfile), from the same sources the image copies. No Docker engine is
 * available here, so the image itself is not built; this runs the process it would run.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateAdminKey } from '../../functions/console/admin-keys.js';
import { FileAdminStore } from '../../functions/console/admin-store.js';
import { FileControlStore } from '../../functions/stores/file-store.js';
import { generateGatewayKey } from '../../functions/stores/keys.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';

const repo = new URL('../..', import.meta.url).pathname;

async function dockerCmd(): Promise<string[]> {
  const text = await readFile(join(repo, 'Dockerfile'), 'utf8');
  const line = text.split('\n').find((l) => l.startsWith('CMD '));
  if (!line) throw new Error('Dockerfile has no CMD');
  return JSON.parse(line.slice(4)) as string[];
}

interface Started {
  child: ChildProcessWithoutNullStreams;
  url: string;
  port: number;
  exited: Promise<number | null>;
  output: () => string;
}

async function startContainerServer(dataDir: string, extraEnv: Record<string, string> = {}): Promise<Started> {
  const [cmd, ...args] = await dockerCmd();
  const child = spawn(cmd === 'node' ? process.execPath : cmd!, args, {
    cwd: repo,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', SLUICE_DATA_DIR: dataDir, SLUICE_STORE: 'file', NODE_ENV: 'production', SLUICE_LOG_LEVEL: 'SILENT', ...extraEnv },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line in 60 s: ${out}`)), 60_000);
    const check = () => {
      const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout.on('data', check);
    void exited.then((code) => reject(new Error(`exited ${code} before listening: ${out}`)));
  });
  return { child, url, port: Number(new URL(url).port), exited, output: () => out };
}

/** Sends raw bytes, returns everything the server answers before it closes. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    socket.on('data', (d) => (got += d.toString()));
    socket.on('end', () => resolve(got));
    socket.on('close', () => resolve(got));
    socket.on('error', reject);
    socket.write(bytes);
  });
}

function parseRaw(text: string): { status: number; headers: string; body: unknown } {
  const at = text.indexOf('\r\n\r\n');
  const head = text.slice(0, at);
  return { status: Number(head.split(' ')[1]), headers: head.toLowerCase(), body: JSON.parse(text.slice(at + 4)) };
}

describe('container server (Dockerfile CMD)', () => {
  let upstream: OpenAIUpstream;
  let dataDir: string;
  let key: string;
  let server: Started;

  beforeAll(async () => {
    upstream = await startOpenAIUpstream();
    dataDir = await mkdtemp(join(tmpdir(), 'sluice-container-'));
    const store = new FileControlStore({ dataDir });
    await store.putProxy({
      id: 'up', orgId: 'default', name: 'up', provider: 'openai-compatible', baseUrl: upstream.url,
      byok: false, allowPrivateNetwork: true, createdAt: new Date().toISOString(),
    });
    const generated = generateGatewayKey();
    await store.putKey({ id: generated.id, hash: generated.hash, proxyId: 'up', orgId: 'default', name: 'container', createdAt: new Date().toISOString() });
    key = generated.key;
    server = await startContainerServer(dataDir);
  }, 90_000);
  afterAll(async () => {
    if (server?.child.exitCode === null) server.child.kill('SIGKILL');
    await upstream?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('/healthz answers 200 JSON without a credential (load-balancer readiness), and nothing more', async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
    const post = await fetch(`${server.url}/healthz`, { method: 'POST' });
    expect(post.status).not.toBe(200); // not the probe: a gateway route (405 for this path)
    expect(post.headers.get('content-type')).toContain('application/json');
  });

  it('model calls and the admin API answer 401 without a credential', async () => {
    const call = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"m","messages":[]}' });
    expect(call.status).toBe(401);
    expect(((await call.json()) as { error: { message: string } }).error.message).toBeTruthy();
    const admin = await fetch(`${server.url}/admin/v1/traces`);
    expect(admin.status).toBe(401);
  });

  it('a real call streams through to the upstream', async () => {
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hello' }] }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get('x-sluice-trace-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect((await res.text()).trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('CORS as the Function URL: a preflight is answered without a credential; answers (a 401 too) let the browser read them and the X-Sluice-* headers', async () => {
    const origin = 'https://app.example';
    const pre = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(pre.headers.get('access-control-allow-headers')).toBe('authorization,content-type');
    expect(pre.headers.get('access-control-allow-methods')).toContain('POST');
    expect(pre.headers.get('access-control-max-age')).toBe('3600');
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });
    const refused = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { origin, 'content-type': 'application/json' }, body });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');
    const ok = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { origin, authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe('*');
    expect(ok.headers.get('access-control-expose-headers')?.split(',')).toContain('X-Sluice-Trace-Id');
    expect(ok.headers.get('x-sluice-trace-id')).toMatch(/^[0-9a-f-]{36}$/);
    await ok.text();
  });

  it('oversized headers: 431 with a JSON body (Node answers an empty body by default)', async () => {
    const answer = parseRaw(await raw(server.port, `GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`));
    expect(answer.status).toBe(431);
    expect(answer.headers).toContain('content-type: application/json');
    expect(answer.body).toMatchObject({ error: { code: 'headers_too_large' } });
  });

  it('body over the limit by Content-Length: 413 in the OpenAI error shape at once, before the body is sent', async () => {
    const before = upstream.requests.length;
    const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${7 * 1024 * 1024}\r\n\r\n`;
    const text = await raw(server.port, `${head}{"model":"gpt-4o-mini"`);
    const answer = parseRaw(text);
    expect(answer.status).toBe(413);
    expect(answer.headers).toContain('content-type: application/json');
    expect(answer.body).toMatchObject({ error: { type: 'invalid_request_error', code: 'payload_too_large', param: null } });
    expect(upstream.requests.length).toBe(before);
  });

  it('chunked body that grows past the limit: 413 in the OpenAI error shape, nothing reaches the upstream', async () => {
    const before = upstream.requests.length;
    const chunk = 'a'.repeat(1024 * 1024);
    const chunks = Array.from({ length: 7 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join('');
    const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const answer = parseRaw(await raw(server.port, `${head}${chunks}0\r\n\r\n`));
    expect(answer.status).toBe(413);
    expect(answer.body).toMatchObject({ error: { code: 'payload_too_large' } });
    expect(upstream.requests.length).toBe(before);
  });

  it('malformed HTTP: 400 with a JSON body', async () => {
    const answer = parseRaw(await raw(server.port, 'THIS IS NOT HTTP\r\n\r\n'));
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: { code: 'malformed_request' } });
  });

  it('CONNECT: 405 with a JSON body (Node closes the socket without a word by default)', async () => {
    const answer = parseRaw(await raw(server.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'));
    expect(answer.status).toBe(405);
    expect(answer.body).toMatchObject({ error: { code: 'method_not_allowed' } });
  });

  it('SIGTERM mid-stream: the stream completes, then the process exits 0', async () => {
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test-slow@first=300,gap=100', stream: true, messages: [{ role: 'user', content: 'count slowly to twelve please' }] }),
    });
    expect(res.status).toBe(200);
    server.child.kill('SIGTERM');
    const body = await res.text();
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(await server.exited).toBe(0);
    expect(server.output()).toContain('SIGTERM received');
  }, 30_000);
});

describe('container server: SLUICE_REQUEST_TIMEOUT_SECONDS (the Fargate stack sets it from sluice:timeoutSeconds)', () => {
  let upstream: OpenAIUpstream;
  let dataDir: string;
  let key: string;
  let server: Started;

  beforeAll(async () => {
    upstream = await startOpenAIUpstream();
    dataDir = await mkdtemp(join(tmpdir(), 'sluice-container-deadline-'));
    const store = new FileControlStore({ dataDir });
    await store.putProxy({
      id: 'up', orgId: 'default', name: 'up', provider: 'openai-compatible', baseUrl: upstream.url,
      byok: false, allowPrivateNetwork: true, createdAt: new Date().toISOString(),
    });
    const generated = generateGatewayKey();
    await store.putKey({ id: generated.id, hash: generated.hash, proxyId: 'up', orgId: 'default', name: 'container', createdAt: new Date().toISOString() });
    key = generated.key;
    server = await startContainerServer(dataDir, { SLUICE_REQUEST_TIMEOUT_SECONDS: '1' });
  }, 90_000);
  afterAll(async () => {
    if (server?.child.exitCode === null) server.child.kill('SIGKILL');
    await upstream?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('a stream still running at the limit ends with an error chunk and [DONE], not a silent cut; the server keeps serving', async () => {
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test-slow@first=0,gap=5000', stream: true, messages: [{ role: 'user', content: 'count slowly to twelve please' }] }),
    });
    expect(res.status).toBe(200);
    const events = (await res.text()).trimEnd().split('\n\n');
    expect(events.at(-1)).toBe('data: [DONE]');
    const error = JSON.parse(events.at(-2)!.slice('data: '.length)) as { error: { type: string; code: string; message: string } };
    expect(error.error).toMatchObject({ type: 'timeout_error', code: 'request_timeout', message: "The request ran past the gateway's 1 s time limit and was stopped." });
    // Everything before the error is the model's own chunks, none of them a finish.
    for (const e of events.slice(0, -2)) expect(JSON.parse(e.slice('data: '.length)).choices[0].finish_reason).toBeNull();
    // The gateway still answers (the stopped invocation took nothing down).
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    // The trace says the stream was cut ("client disconnected", as the gateway sees it); the
    // server's log line says why, under the same trace id.
    const line = server.output().split('\n').find((l) => l.includes('request stopped at the time limit'));
    expect(JSON.parse(line!)).toMatchObject({ level: 'WARN', traceId: res.headers.get('x-sluice-trace-id'), timeoutMs: 1000, path: '/v1/chat/completions', responseBegun: true });
  }, 30_000);

  it('a value that is not 1-3600 whole seconds: the server refuses to start (exit 2)', async () => {
    await expect(startContainerServer(dataDir, { SLUICE_REQUEST_TIMEOUT_SECONDS: '1.5' })).rejects.toThrow(/exited 2 before listening: .*SLUICE_REQUEST_TIMEOUT_SECONDS must be an integer 1-3600/s);
  }, 30_000);
});

describe('container server: SLUICE_PUBLIC_HOST (the console behind a load balancer on a real hostname)', () => {
  const publicHost = 'gateway.example.test';
  let dataDir: string;
  let adminKey: string;
  let server: Started;

  /** A request with an arbitrary Host header (fetch cannot set one). */
  const hostCall = (host: string, method: string, path: string, headers: Record<string, string>, body?: string) =>
    new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: server.port, method, path, headers: { host, ...headers } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'sluice-container-host-'));
    const generated = generateAdminKey();
    await new FileAdminStore(dataDir).putKey({ id: generated.id, hash: generated.hash, role: 'admin', createdAt: new Date().toISOString() });
    adminKey = generated.key;
    server = await startContainerServer(dataDir, { SLUICE_PUBLIC_HOST: 'Gateway.Example.Test' });
  }, 90_000);
  afterAll(async () => {
    if (server?.child.exitCode === null) server.child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('the configured Host is served; any other Host (loopback ones too) answers 421 in JSON', async () => {
    const auth = { authorization: `Bearer ${adminKey}` };
    expect((await hostCall(publicHost, 'GET', '/admin/v1/traces', auth)).status).toBe(200);
    for (const host of ['attacker.example', `127.0.0.1:${server.port}`, `localhost:${server.port}`, `${publicHost}.attacker.example`, '']) {
      const r = await hostCall(host, 'GET', '/admin/v1/traces', auth);
      expect(r.status, host).toBe(421);
      expect(JSON.parse(r.body).error.code).toBe('misdirected_host');
    }
  });

  it('sign-in works from https://<public host> and sets the __Host- cookie with Secure; another origin is refused', async () => {
    const body = JSON.stringify({ admin_key: adminKey });
    const json = { 'content-type': 'application/json' };
    const ok = await hostCall(publicHost, 'POST', '/admin/v1/session', { ...json, origin: `https://${publicHost}` }, body);
    expect(ok.status).toBe(200);
    const cookie = String(ok.headers['set-cookie']);
    expect(cookie).toMatch(/^__Host-sluice_console=/);
    expect(cookie).toContain('Secure');
    const session = await hostCall(publicHost, 'GET', '/admin/v1/session', { cookie: cookie.split(';')[0]! });
    expect(session.status).toBe(200);
    const wrongOrigin = await hostCall(publicHost, 'POST', '/admin/v1/session', { ...json, origin: `http://${publicHost}` }, body);
    expect(wrongOrigin.status).toBe(403);
  });

  it('model calls still need a gateway key on the public host (401)', async () => {
    const r = await hostCall(publicHost, 'POST', '/v1/chat/completions', { 'content-type': 'application/json' }, JSON.stringify({ model: 'gpt-4o-mini', messages: [] }));
    expect(r.status).toBe(401);
  });
});

/**
 * A raw connection that sends `parts` with `gapMs` between them (stopping once the server has
 * answered) and resolves with everything answered and when, once the server closes it.
 */
function trickle(port: number, parts: string[], gapMs: number): Promise<{ text: string; answeredAfterMs: number; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let answeredAfterMs = -1;
    let timer: NodeJS.Timeout | undefined;
    socket.on('data', (d) => {
      if (answeredAfterMs < 0) answeredAfterMs = Date.now() - started;
      text += d.toString();
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, answeredAfterMs, closedAfterMs: Date.now() - started });
    });
    // A write racing the server's close is the client's problem, not the test's.
    socket.on('error', () => {});
    const next = (i: number) => {
      if (i >= parts.length || answeredAfterMs >= 0 || socket.destroyed) return;
      socket.write(parts[i]!);
      timer = setTimeout(() => next(i + 1), gapMs);
    };
    socket.once('connect', () => next(0));
    setTimeout(() => reject(new Error(`no close in 30 s; got ${JSON.stringify(text)}`)), 30_000).unref();
  });
}

describe('container server: slow-loris bounds (SLUICE_HEADERS_TIMEOUT_MS / SLUICE_REQUEST_BODY_TIMEOUT_MS at 1 s)', () => {
  let upstream: OpenAIUpstream;
  let dataDir: string;
  let key: string;
  let server: Started;

  beforeAll(async () => {
    upstream = await startOpenAIUpstream();
    dataDir = await mkdtemp(join(tmpdir(), 'sluice-container-slow-'));
    const store = new FileControlStore({ dataDir });
    await store.putProxy({
      id: 'up', orgId: 'default', name: 'up', provider: 'openai-compatible', baseUrl: upstream.url,
      byok: false, allowPrivateNetwork: true, createdAt: new Date().toISOString(),
    });
    const generated = generateGatewayKey();
    await store.putKey({ id: generated.id, hash: generated.hash, proxyId: 'up', orgId: 'default', name: 'container', createdAt: new Date().toISOString() });
    key = generated.key;
    server = await startContainerServer(dataDir, { SLUICE_HEADERS_TIMEOUT_MS: '1000', SLUICE_REQUEST_BODY_TIMEOUT_MS: '1000' });
  }, 90_000);
  afterAll(async () => {
    if (server?.child.exitCode === null) server.child.kill('SIGKILL');
    await upstream?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });
  const head = (length: number) => `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

  it('headers never finished: 408 in the OpenAI error shape after the headers bound, then the connection is closed', async () => {
    const got = await trickle(server.port, [`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\n`], 0);
    const answer = parseRaw(got.text);
    expect(answer.status).toBe(408);
    expect(answer.headers).toContain('content-type: application/json');
    expect(answer.body).toEqual({ error: { message: 'The request headers did not arrive in time.', type: 'invalid_request_error', code: 'request_timeout', param: null } });
    // Kept within a quarter of the bound (Node checks it on an interval, 30 s by default).
    expect(got.answeredAfterMs).toBeGreaterThanOrEqual(950);
    expect(got.answeredAfterMs).toBeLessThan(2_000);
  });

  it('a connection that sends nothing at all is closed with a 408 too', async () => {
    const got = await trickle(server.port, [], 0);
    expect(parseRaw(got.text).status).toBe(408);
    expect(got.closedAfterMs).toBeLessThan(2_000);
  });

  it('body stalls mid-way: 408 in the OpenAI error shape after the body bound; nothing reaches the upstream', async () => {
    const before = upstream.requests.length;
    const got = await trickle(server.port, [head(Buffer.byteLength(body)) + body.slice(0, 20)], 0);
    const answer = parseRaw(got.text);
    expect(answer.status).toBe(408);
    expect(answer.headers).toContain('connection: close');
    expect(answer.headers).toMatch(/x-sluice-trace-id: [0-9a-f-]{36}/);
    expect(answer.body).toEqual({ error: { message: 'The request body did not arrive within 1000 ms.', type: 'invalid_request_error', code: 'request_timeout', param: null } });
    expect(got.answeredAfterMs).toBeGreaterThanOrEqual(950);
    expect(got.answeredAfterMs).toBeLessThan(2_000);
    expect(upstream.requests.length).toBe(before);
  });

  it('body trickling slower than the bound (a byte every 100 ms, never idle long): 408 at the bound, the connection closed', async () => {
    const before = upstream.requests.length;
    const got = await trickle(server.port, [head(Buffer.byteLength(body)), ...body.split('')], 100);
    const answer = parseRaw(got.text);
    expect(answer.status).toBe(408);
    expect(answer.body).toMatchObject({ error: { code: 'request_timeout' } });
    expect(got.answeredAfterMs).toBeGreaterThanOrEqual(950);
    expect(got.answeredAfterMs).toBeLessThan(2_000);
    // Closed by the server right after its answer (the client would have gone on for seconds).
    expect(got.closedAfterMs).toBeLessThan(2_500);
    expect(upstream.requests.length).toBe(before);
  });

  it('a body that arrives within the bound in pieces is served', async () => {
    const closing = head(Buffer.byteLength(body)).replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n');
    const got = await trickle(server.port, [closing, body.slice(0, 10), body.slice(10, 30), body.slice(30)], 200);
    expect(got.text.startsWith('HTTP/1.1 200')).toBe(true);
    expect(got.text).toContain('You said: hello');
  });

  it('a pipelined request whose headers stall behind a streaming response: the stream is not corrupted or cut, then the connection closes', async () => {
    const stream = JSON.stringify({ model: 'test-slow@first=500,gap=500', stream: true, messages: [{ role: 'user', content: 'one two three four' }] });
    const got = await trickle(server.port, [head(Buffer.byteLength(stream)) + stream + 'GET /v1/models HTTP/1.1\r\nHost: x\r\n'], 0);
    expect(got.closedAfterMs).toBeGreaterThan(3_000); // the stream's own length, well past the 1 s bound
    const at = got.text.indexOf('\r\n\r\n');
    expect(got.text.slice(0, at)).toMatch(/^HTTP\/1\.1 200 /);
    // The chunked body is whole: every chunk's length is right, the last is the zero chunk, nothing after it.
    let rest = got.text.slice(at + 4);
    let decoded = '';
    for (;;) {
      const line = rest.indexOf('\r\n');
      const size = parseInt(rest.slice(0, line), 16);
      expect(Number.isNaN(size)).toBe(false);
      decoded += rest.slice(line + 2, line + 2 + size);
      expect(rest.slice(line + 2 + size, line + 4 + size)).toBe('\r\n');
      rest = rest.slice(line + 4 + size);
      if (size === 0) break;
    }
    expect(rest).toBe('');
    expect(decoded.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('a stream running 10 s+ (10 × the bounds) is not cut: every event arrives, [DONE] last', async () => {
    const started = Date.now();
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test-slow@first=1500,gap=1500', stream: true, messages: [{ role: 'user', content: 'one two three four' }] }),
    });
    expect(res.status).toBe(200);
    const events = (await res.text()).trimEnd().split('\n\n');
    expect(Date.now() - started).toBeGreaterThanOrEqual(10_000);
    expect(events.at(-1)).toBe('data: [DONE]');
    const text = events.slice(0, -1).map((e) => JSON.parse(e.slice('data: '.length)) as { choices: { delta?: { content?: string } }[] })
      .map((c) => c.choices[0]?.delta?.content ?? '').join('');
    expect(text).toBe('You said: one two three four');
  }, 30_000);

  it('a value that is not 100-3600000 whole milliseconds: the server refuses to start (exit 2)', async () => {
    await expect(startContainerServer(dataDir, { SLUICE_REQUEST_BODY_TIMEOUT_MS: '5s' })).rejects.toThrow(/exited 2 before listening: .*SLUICE_REQUEST_BODY_TIMEOUT_MS must be an integer 100-3600000/s);
    await expect(startContainerServer(dataDir, { SLUICE_HEADERS_TIMEOUT_MS: '50' })).rejects.toThrow(/exited 2 before listening: .*SLUICE_HEADERS_TIMEOUT_MS must be an integer/s);
  }, 30_000);
});
