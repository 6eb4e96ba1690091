import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/**
 * A small ClickHouse HTTP client: statements, JSONEachRow inserts and reads, server
 * version. Credentials come from the URL (`http://user:pass@host:8123/?database=db`)
 * and travel as X-ClickHouse-User/-Key headers, never in the query string or a log.
 * node:http with a keep-alive agent rather than fetch: a third of the CPU per insert,
 * which the gateway pays on every traced request with the direct sink.
 */

export interface ClickHouseClientOptions {
  url: string;
  /** Per-request timeout, ms (default 10 s). */
  timeoutMs?: number;
}

export class ClickHouseError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ClickHouseError';
  }
}

/** Which table layout a server gets: `modern` (DateTime64, Map, LowCardinality, TTL) or `legacy` (18.x). */
export type SchemaVariant = 'modern' | 'legacy';

/** Map and DateTime64 are usable without experimental settings from 22.x on. */
export function variantForVersion(version: string): SchemaVariant {
  const major = Number(version.split('.')[0]);
  return Number.isFinite(major) && major >= 22 ? 'modern' : 'legacy';
}

export class ClickHouseClient {
  private readonly endpoint: string;
  private readonly headers: Record<string, string> = {};
  private readonly timeoutMs: number;
  private readonly agent: HttpAgent;
  private readonly send: typeof httpRequest;
  private version?: Promise<string>;

  constructor(opts: ClickHouseClientOptions) {
    const url = new URL(opts.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('ClickHouse URL must be http(s)://');
    if (url.username) this.headers['x-clickhouse-user'] = decodeURIComponent(url.username);
    if (url.password) this.headers['x-clickhouse-key'] = decodeURIComponent(url.password);
    const database = url.searchParams.get('database');
    if (database) this.headers['x-clickhouse-database'] = database;
    url.username = '';
    url.password = '';
    url.search = '';
    this.endpoint = url.toString();
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    const https = url.protocol === 'https:';
    this.agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: 16 }) : new HttpAgent({ keepAlive: true, maxSockets: 16 });
    this.send = (https ? httpsRequest : httpRequest) as typeof httpRequest;
  }

  /** The URL without credentials, safe to print. */
  get displayUrl(): string {
    return this.endpoint;
  }

  /** Runs one statement; the SQL is the request body. Returns the raw response text. */
  async exec(sql: string, settings: Record<string, string | number> = {}): Promise<string> {
    const query = new URLSearchParams(Object.entries(settings).map(([k, v]): [string, string] => [k, String(v)]));
    const url = query.size ? `${this.endpoint}?${query}` : this.endpoint;
    const { status, text } = await this.post(url, sql);
    if (status < 200 || status >= 300) throw new ClickHouseError(`ClickHouse answered ${status}: ${text.trim().slice(0, 500)}`, status);
    return text;
  }

  private post(url: string, body: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = this.send(url, { method: 'POST', agent: this.agent, headers: { ...this.headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`ClickHouse did not answer within ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Closes idle keep-alive connections (CLI commands, tests). */
  close(): void {
    this.agent.destroy();
  }

  /** Rows of a SELECT, read as JSONEachRow (64-bit integers arrive as strings). */
  async select<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    const text = await this.exec(`${sql}\nFORMAT JSONEachRow`);
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as T);
  }

  /** Inserts rows in one request. Unknown fields are an error, so a schema drift is loud. */
  async insertJsonEachRow(table: string, rows: readonly object[]): Promise<void> {
    if (rows.length === 0) return;
    if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(table)) throw new Error(`invalid table name ${table}`);
    const body = rows.map((row) => JSON.stringify(row)).join('\n');
    await this.exec(`INSERT INTO ${table} FORMAT JSONEachRow\n${body}`);
  }

  /** `SELECT version()`, asked once per client. */
  serverVersion(): Promise<string> {
    this.version ??= this.exec('SELECT version()').then((v) => v.trim());
    this.version.catch(() => {
      this.version = undefined;
    });
    return this.version;
  }

  async variant(): Promise<SchemaVariant> {
    return variantForVersion(await this.serverVersion());
  }
}

/** Quotes a string literal for ClickHouse SQL (the 18.x server has no query parameters). */
export function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
