import { ClickHouseClient } from '../clickhouse/client.js';
import { clickhouseTraceQuery, localTraceQuery, type TraceQuery } from './query.js';

/**
 * Where the gateway (console, admin API) and `sluice traces … --aws` read traces:
 *
 * | environment | reader |
 * |---|---|
 * | `SLUICE_CLICKHOUSE_READER_SECRET_ARN` | ClickHouse, as the read-only user in that secret (AWS) |
 * | `SLUICE_CLICKHOUSE_READER_URL` | ClickHouse at that URL (`http://user:pass@host:8123/?database=db`) |
 * | neither | the local JSONL store under `SLUICE_DATA_DIR` (default `.sluice`) |
 *
 * The reader's secret is not trace-ingest's: the reader's user may only SELECT, so a
 * console bug can never write or drop a trace. The secret holds either a URL or JSON
 * `{"url": "https://host:8443/?database=sluice", "username": "sluice_reader", "password": "…"}`
 * (username and password override the URL's). Read once per container, on first use.
 */
export interface TraceReaderSource {
  /** The reader, built on first call. */
  query(): Promise<TraceQuery>;
  /** `local` or `clickhouse`: the console says that ClickHouse lags by the Firehose buffer. */
  readonly kind: 'local' | 'clickhouse';
}

export function traceReaderFromEnv(env: NodeJS.ProcessEnv, readSecret: (id: string) => Promise<string>): TraceReaderSource {
  const secretId = env.SLUICE_CLICKHOUSE_READER_SECRET_ARN?.trim();
  const url = env.SLUICE_CLICKHOUSE_READER_URL?.trim();
  if (!secretId && !url) {
    const dataDir = env.SLUICE_DATA_DIR?.trim() || '.sluice';
    const query = localTraceQuery(dataDir);
    return { kind: 'local', query: async () => query };
  }
  let built: Promise<TraceQuery> | undefined;
  return {
    kind: 'clickhouse',
    query() {
      built ??= (async () => clickhouseTraceQuery(new ClickHouseClient({ url: url ?? readerUrlFromSecret(await readSecret(secretId!)) })))();
      built.catch(() => {
        built = undefined; // a secret read that failed is retried on the next request
      });
      return built;
    },
  };
}

/** A ClickHouse URL from the reader secret's text (a URL, or JSON with url/username/password). */
export function readerUrlFromSecret(text: string): string {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return new URL(trimmed).toString();
  let doc: { url?: unknown; username?: unknown; password?: unknown };
  try {
    doc = JSON.parse(trimmed) as typeof doc;
  } catch {
    throw new Error('the ClickHouse reader secret is neither a URL nor JSON');
  }
  if (typeof doc.url !== 'string') throw new Error('the ClickHouse reader secret has no "url"');
  const u = new URL(doc.url);
  if (typeof doc.username === 'string') u.username = encodeURIComponent(doc.username);
  if (typeof doc.password === 'string') u.password = encodeURIComponent(doc.password);
  return u.toString();
}

