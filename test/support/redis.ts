// A real redis-server on a free loopback port with a temp dir; optional AUTH and TLS.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServerOptions {
  /** requirepass: clients must AUTH. */
  password?: string;
  /** Serve TLS only (a self-signed certificate for 127.0.0.1); `ca` is returned to trust it. */
  tls?: boolean;
}

export interface RunningRedis {
  /** redis://[:password@]127.0.0.1:port or rediss://… */
  url: string;
  port: number;
  pid: number;
  /** The TLS certificate (PEM) to trust, with `tls: true`. */
  ca?: string;
  /** SIGSTOP: the process stays, its sockets stay open, nothing answers. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startRedis(opts: RedisServerOptions = {}): Promise<RunningRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-redis-'));
  let ca: string | undefined;
  const tlsArgs: string[] = [];
  if (opts.tls) {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    ca = readFileSync(join(dir, 'cert.pem'), 'utf8');
  }
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    if (opts.tls) {
      tlsArgs.splice(0, tlsArgs.length, '--port', '0', '--tls-port', String(port), '--tls-cert-file', join(dir, 'cert.pem'), '--tls-key-file', join(dir, 'key.pem'), '--tls-ca-cert-file', join(dir, 'cert.pem'), '--tls-auth-clients', 'no');
    }
    const args = [
      ...(opts.tls ? tlsArgs : ['--port', String(port)]),
      '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no',
      ...(opts.password ? ['--requirepass', opts.password] : []),
    ];
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const ready = await waitReady(child);
    if (!ready.ok) {
      if (attempt < 3 && /Address already in use/i.test(ready.output)) continue; // lost the port race
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`redis-server did not start: ${ready.output.slice(-500)}`);
    }
    // Safety net: a worker that dies before its afterAll must not leave a server behind.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    const auth = opts.password ? `:${encodeURIComponent(opts.password)}@` : '';
    return {
      url: `${opts.tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}`,
      port,
      pid: child.pid!,
      ...(ca ? { ca } : {}),
      pause: () => child.kill('SIGSTOP'),
      resume: () => child.kill('SIGCONT'),
      stop: async () => {
        process.off('exit', killOnExit);
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
          child.kill('SIGCONT');
          child.kill('SIGKILL');
          await exited;
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}

function waitReady(child: ChildProcess): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    let output = '';
    let done = false;
    const timer = setTimeout(() => finish(false), 10_000);
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.stdout?.removeAllListeners('data');
      child.stdout?.resume(); // keep draining so the server never blocks on a full pipe
      child.stderr?.resume();
      if (!ok && child.exitCode === null) child.kill('SIGKILL');
      resolve({ ok, output });
    };
    child.stdout?.on('data', (b: Buffer) => {
      output += b.toString();
      if (output.includes('Ready to accept connections')) finish(true);
    });
    child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
    // Not installed (ENOENT) or not runnable: say so, never an empty "did not start:".
    child.once('error', (err: NodeJS.ErrnoException) => {
      output += err.code === 'ENOENT' ? 'redis-server is not installed (npm test installs it: test/setup/system-servers.ts)' : err.message;
      finish(false);
    });
    child.once('exit', (code, signal) => {
      if (!output.trim()) output = `redis-server exited (${signal ?? `status ${code}`}) without printing anything`;
      finish(false);
    });
  });
}
