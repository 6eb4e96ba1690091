/**
 * A real clickhouse-server (Debian's 18.16 here, whatever the machine has in CI) on
 * free loopback ports with a temp data directory, for integration tests and benchmarks.
 * Debian ships `clickhouse-server`; newer packages ship one `clickhouse` binary that
 * takes `server` as its first argument; both are supported.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunningClickHouse {
  /** HTTP interface, e.g. http://127.0.0.1:41234 */
  url: string;
  version: string;
  /** Runs a statement and returns the response text; throws with ClickHouse's message on failure. */
  query(sql: string): Promise<string>;
  close(): Promise<void>;
}

function serverCommand(): { cmd: string; args: string[] } {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/bin']) {
    if (existsSync(join(dir, 'clickhouse-server'))) return { cmd: join(dir, 'clickhouse-server'), args: [] };
  }
  for (const dir of ['/usr/bin', '/usr/local/bin']) {
    if (existsSync(join(dir, 'clickhouse'))) return { cmd: join(dir, 'clickhouse'), args: ['server'] };
  }
  const which = spawnSync('sh', ['-c', 'command -v clickhouse-server || command -v clickhouse'], { encoding: 'utf8' });
  const found = which.stdout.trim();
  if (!found) throw new Error('clickhouse-server is not installed (apt-get install clickhouse-server)');
  return found.endsWith('clickhouse') ? { cmd: found, args: ['server'] } : { cmd: found, args: [] };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function configXml(dir: string, httpPort: number, tcpPort: number): string {
  return `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${dir}/server.log</log><errorlog>${dir}/error.log</errorlog><console>0</console></logger>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>5368709</mark_cache_size>
  <uncompressed_cache_size>8589934</uncompressed_cache_size>
  <max_concurrent_queries>200</max_concurrent_queries>
</yandex>
`;
}

/** A read-only user (profile readonly=1), as the console's ClickHouse reader is in AWS. */
export const READER_USER = 'sluice_reader';
export const READER_PASSWORD = 'reader-test-password';

const USERS_XML = `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default><readonly><readonly>1</readonly></readonly></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default><sluice_reader><password>${READER_PASSWORD}</password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>readonly</profile><quota>default</quota></sluice_reader></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`;

async function httpQuery(url: string, sql: string): Promise<string> {
  const res = await fetch(url, { method: 'POST', body: sql });
  const text = await res.text();
  if (!res.ok) throw new Error(`ClickHouse ${res.status}: ${text.trim()}`);
  return text;
}

/** Starts clickhouse-server on two free loopback ports; resolves once it answers queries. */
export async function startClickHouse(): Promise<RunningClickHouse> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-ch-'));
  const { cmd, args } = serverCommand();
  let child: ChildProcess | undefined;
  let url = '';
  let version = '';
  // A port taken between probing and binding makes the server exit; try a few times.
  for (let attempt = 0; attempt < 4 && !version; attempt++) {
    const [httpPort, tcpPort] = [await freePort(), await freePort()];
    await writeFile(join(dir, 'config.xml'), configXml(dir, httpPort, tcpPort));
    await writeFile(join(dir, 'users.xml'), USERS_XML);
    url = `http://127.0.0.1:${httpPort}/`;
    const proc = spawn(cmd, [...args, `--config-file=${join(dir, 'config.xml')}`], { cwd: dir, stdio: 'ignore' });
    child = proc;
    let exited = false;
    proc.once('exit', () => {
      exited = true;
    });
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !exited) {
      try {
        version = (await httpQuery(url, 'SELECT version()')).trim();
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    if (!version && !exited) proc.kill('SIGKILL');
  }
  if (!version || !child) {
    const log = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
    await rm(dir, { recursive: true, force: true });
    throw new Error(`clickhouse-server did not start: ${log.slice(-2000)}`);
  }
  const proc = child;
  return {
    url,
    version,
    query: (sql) => httpQuery(url, sql),
    async close() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
