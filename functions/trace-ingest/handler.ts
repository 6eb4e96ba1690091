import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { ClickHouseClient } from '../clickhouse/client.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { TRACE_STEPS_TABLE } from '../traces/clickhouse-sink.js';
import { encodeRow, type TraceStepRow } from '../traces/rows.js';

/** Rows per INSERT: one Firehose delivery (≤ 3 MB buffer here) is a few thousand rows at most. */
const ROWS_PER_INSERT = 5_000;

export interface TraceIngestDeps {
  /** The shared secret Firehose sends as X-Amz-Firehose-Access-Key. */
  accessKey: () => Promise<string>;
  /** The client, or how to build it on first use (the URL may come from a secret). */
  clickhouse: ClickHouseClient | (() => Promise<ClickHouseClient>);
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  now?: () => number;
}

/** The body Firehose's HTTP endpoint delivery sends. */
interface FirehoseDelivery {
  requestId: string;
  timestamp: number;
  records: { data: string }[];
}

class Rejection extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Compares two secrets in time independent of where they differ (digests make lengths equal). */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && expected.length > 0;
}

/** Decodes a delivery into rows. Any undecodable record rejects the whole delivery, so Firehose retries and finally backs it up to S3 instead of losing it. */
export function rowsFromDelivery(body: unknown): { requestId: string; rows: TraceStepRow[] } {
  const d = body as Partial<FirehoseDelivery> | null;
  if (!d || typeof d !== 'object' || typeof d.requestId !== 'string' || !Array.isArray(d.records)) {
    throw new Rejection(400, 'not a Firehose delivery: requestId and records are required');
  }
  const rows: TraceStepRow[] = [];
  d.records.forEach((record, i) => {
    if (!record || typeof record.data !== 'string') throw new Rejection(400, `record ${i} has no data`);
    const text = Buffer.from(record.data, 'base64').toString('utf8');
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      let row: TraceStepRow;
      try {
        row = JSON.parse(line) as TraceStepRow;
      } catch {
        throw new Rejection(400, `record ${i} is not JSON`);
      }
      if (!row || typeof row.step_id !== 'string' || typeof row.trace_id !== 'string' || typeof row.name !== 'string' || typeof row.started_at_ms !== 'number') {
        throw new Rejection(400, `record ${i} is not a trace step row`);
      }
      rows.push(row);
    }
  });
  return { requestId: d.requestId, rows };
}

/**
 * trace-ingest — the Firehose HTTP-endpoint receiver behind its own Function URL.
 * 200 only once every row is stored; any other answer makes Firehose retry and, when
 * it gives up, back the records up to S3. Redelivery is harmless: rows are keyed on
 * their step id in a ReplacingMergeTree.
 */
export function createTraceIngestHandler(deps: TraceIngestDeps) {
  const now = deps.now ?? Date.now;
  return async (event: LambdaFunctionURLEvent): Promise<LambdaFunctionURLResult> => {
    const headerRequestId = header(event, 'x-amz-firehose-request-id') ?? randomUUID();
    const answer = (statusCode: number, requestId: string, errorMessage?: string): LambdaFunctionURLResult => ({
      statusCode,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requestId, timestamp: now(), ...(errorMessage ? { errorMessage } : {}) }),
    });
    try {
      if (event.requestContext?.http?.method !== 'POST') throw new Rejection(405, 'POST only');
      const given = header(event, 'x-amz-firehose-access-key') ?? '';
      if (!sameSecret(given, await deps.accessKey())) throw new Rejection(401, 'access key rejected');
      const raw = event.body ? (event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body) : '';
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        throw new Rejection(400, 'body is not JSON');
      }
      const { requestId, rows } = rowsFromDelivery(parsed);
      const clickhouse = typeof deps.clickhouse === 'function' ? await deps.clickhouse() : deps.clickhouse;
      const variant = await clickhouse.variant();
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
        await clickhouse.insertJsonEachRow(TRACE_STEPS_TABLE, rows.slice(i, i + ROWS_PER_INSERT).map((r) => encodeRow(r, variant)));
      }
      deps.logger.info('trace delivery stored', { requestId, rows: rows.length });
      return answer(200, requestId);
    } catch (err) {
      if (err instanceof Rejection) {
        deps.logger.warn('trace delivery rejected', { requestId: headerRequestId, status: err.status, reason: err.message });
        return answer(err.status, headerRequestId, err.message);
      }
      deps.logger.error('trace delivery not stored', { requestId: headerRequestId, error: (err as Error).message });
      return answer(500, headerRequestId, 'rows not stored; retry');
    }
  };
}

function header(event: LambdaFunctionURLEvent, name: string): string | undefined {
  for (const [k, v] of Object.entries(event.headers ?? {})) if (k.toLowerCase() === name) return v;
  return undefined;
}

/**
 * A secret's value: Firehose's HTTP-endpoint secrets are JSON `{"api_key": "…"}`; a
 * plain string is taken as it is.
 */
export function secretValue(secretString: string, field: string): string {
  try {
    const parsed = JSON.parse(secretString) as unknown;
    if (parsed && typeof parsed === 'object' && typeof (parsed as Record<string, unknown>)[field] === 'string') return (parsed as Record<string, string>)[field]!;
  } catch {
    // not JSON: the whole string is the value
  }
  return secretString;
}

/**
 * Dependencies from the environment, resolved on first use:
 * - access key: SLUICE_INGEST_ACCESS_KEY, or the secret SLUICE_INGEST_ACCESS_KEY_SECRET_ARN
 *   (the one the Firehose stream uses, JSON `{"api_key": "…"}`);
 * - ClickHouse: CLICKHOUSE_URL, or the secret CLICKHOUSE_URL_SECRET_ARN (the URL with its
 *   credentials, plain or JSON `{"url": "…"}`).
 */
export function ingestDepsFromEnv(env: NodeJS.ProcessEnv): TraceIngestDeps {
  if (!env.CLICKHOUSE_URL && !env.CLICKHOUSE_URL_SECRET_ARN) throw new Error('trace-ingest needs CLICKHOUSE_URL or CLICKHOUSE_URL_SECRET_ARN');
  const readSecret = async (secretId: string) => {
    const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
    const out = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: secretId }));
    if (!out.SecretString) throw new Error(`secret ${secretId} has no string value`);
    return out.SecretString;
  };
  const once = <T>(load: () => Promise<T>): (() => Promise<T>) => {
    let value: Promise<T> | undefined;
    return () => {
      value ??= load();
      value.catch(() => {
        value = undefined;
      });
      return value;
    };
  };
  return {
    clickhouse: once(async () => new ClickHouseClient({ url: env.CLICKHOUSE_URL ?? secretValue(await readSecret(env.CLICKHOUSE_URL_SECRET_ARN!), 'url') })),
    logger: createLogger('sluice-trace-ingest', env.SLUICE_LOG_LEVEL ?? 'INFO'),
    accessKey: once(async () => {
      if (env.SLUICE_INGEST_ACCESS_KEY) return env.SLUICE_INGEST_ACCESS_KEY;
      if (!env.SLUICE_INGEST_ACCESS_KEY_SECRET_ARN) throw new Error('trace-ingest needs SLUICE_INGEST_ACCESS_KEY or SLUICE_INGEST_ACCESS_KEY_SECRET_ARN');
      return secretValue(await readSecret(env.SLUICE_INGEST_ACCESS_KEY_SECRET_ARN), 'api_key');
    }),
  };
}
