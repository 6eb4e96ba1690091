/**
 * A local stand-in for Amazon Data Firehose, for tests and benchmarks (Firehose has no
 * local server). Two faces, both wire-faithful:
 *
 * - the API the SDK calls: `POST /` with `X-Amz-Target: Firehose_20150804.PutRecordBatch`
 *   and an `application/x-amz-json-1.1` body; the answer carries `FailedPutCount` and a
 *   `RequestResponses` entry per record, a `RecordId` or an `ErrorCode`/`ErrorMessage`
 *   (partial failures are injected by `failRecord`);
 * - the HTTP-endpoint destination: accepted records are buffered and POSTed to
 *   `destinationUrl` as `{requestId, timestamp, records: [{data}]}` with the
 *   `X-Amz-Firehose-Request-Id` and `X-Amz-Firehose-Access-Key` headers. A delivery is
 *   done only on a 200 whose body echoes the request id; anything else is retried with
 *   backoff and, after `deliveryAttempts`, the records go to `backup` (the S3 backup).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FirehoseStandinOptions {
  destinationUrl: string;
  accessKey: string;
  streamName?: string;
  /** Return true to report that record as failed (index within the call, the call's number from 0). */
  failRecord?: (index: number, call: number) => boolean;
  /** Flush the buffer at this many bytes (Firehose: 1–64 MB; here small for tests) … */
  bufferBytes?: number;
  /** … or after this long. */
  bufferMs?: number;
  deliveryAttempts?: number;
  retryBackoffMs?: number;
  /** Deliver every buffer twice, as Firehose may after a lost acknowledgement. */
  redeliver?: boolean;
}

export interface FirehoseStandin {
  /** The endpoint for the SDK client (`endpoint` option). */
  url: string;
  stats: { calls: number; recordsReceived: number; recordsFailed: number; deliveries: number; deliveryErrors: number; recordsDelivered: number };
  /** Records that never reached the destination (the S3 backup), base64 data. */
  backup: string[];
  /** Every delivery attempt's HTTP status, in order. */
  deliveryStatuses: number[];
  /** Resolves when everything buffered has been delivered or backed up. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

export async function startFirehoseStandin(opts: FirehoseStandinOptions): Promise<FirehoseStandin> {
  const streamName = opts.streamName ?? 'sluice-traces';
  const bufferBytes = opts.bufferBytes ?? 1024 * 1024;
  const bufferMs = opts.bufferMs ?? 50;
  const attempts = opts.deliveryAttempts ?? 5;
  const backoff = opts.retryBackoffMs ?? 20;
  const stats = { calls: 0, recordsReceived: 0, recordsFailed: 0, deliveries: 0, deliveryErrors: 0, recordsDelivered: 0 };
  const backup: string[] = [];
  const deliveryStatuses: number[] = [];
  let buffer: string[] = [];
  let buffered = 0;
  let timer: NodeJS.Timeout | undefined;
  const inFlight = new Set<Promise<void>>();

  const deliverOnce = async (records: string[]): Promise<boolean> => {
    const requestId = randomUUID();
    try {
      const res = await fetch(opts.destinationUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-amz-firehose-protocol-version': '1.0',
          'x-amz-firehose-request-id': requestId,
          'x-amz-firehose-access-key': opts.accessKey,
          'user-agent': 'Amazon Kinesis Data Firehose Agent/1.0',
        },
        body: JSON.stringify({ requestId, timestamp: Date.now(), records: records.map((data) => ({ data })) }),
      });
      deliveryStatuses.push(res.status);
      const body = (await res.json().catch(() => ({}))) as { requestId?: string };
      return res.status === 200 && body.requestId === requestId;
    } catch {
      deliveryStatuses.push(0);
      return false;
    }
  };

  const deliver = async (records: string[]) => {
    stats.deliveries++;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, backoff * 2 ** (attempt - 1)));
      if (await deliverOnce(records)) {
        stats.recordsDelivered += records.length;
        if (opts.redeliver) await deliverOnce(records);
        return;
      }
      stats.deliveryErrors++;
    }
    backup.push(...records);
  };

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (buffer.length === 0) return;
    const records = buffer;
    buffer = [];
    buffered = 0;
    const p = deliver(records).finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  const server: Server = createServer((req, res) => {
    void readJson(req).then((body) => {
      const target = req.headers['x-amz-target'];
      const reply = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
        res.end(JSON.stringify(payload));
      };
      if (req.method !== 'POST' || target !== 'Firehose_20150804.PutRecordBatch') {
        return reply(400, { __type: 'UnknownOperationException', message: `unsupported operation ${String(target)}` });
      }
      const input = body as { DeliveryStreamName?: string; Records?: { Data?: string }[] };
      if (input.DeliveryStreamName !== streamName) {
        return reply(400, { __type: 'ResourceNotFoundException', message: `Firehose ${String(input.DeliveryStreamName)} not found.` });
      }
      const records = input.Records ?? [];
      if (records.length === 0 || records.length > 500) {
        return reply(400, { __type: 'InvalidArgumentException', message: 'Records must have between 1 and 500 entries.' });
      }
      const total = records.reduce((n, r) => n + Buffer.from(r.Data ?? '', 'base64').length, 0);
      if (total > 4 * 1024 * 1024) return reply(400, { __type: 'InvalidArgumentException', message: 'Request exceeds 4 MiB.' });
      const call = stats.calls++;
      let failed = 0;
      const responses = records.map((r, i) => {
        stats.recordsReceived++;
        if (opts.failRecord?.(i, call)) {
          failed++;
          stats.recordsFailed++;
          return { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' };
        }
        const data = r.Data ?? '';
        buffer.push(data);
        buffered += Buffer.from(data, 'base64').length;
        return { RecordId: randomUUID().replace(/-/g, '') };
      });
      if (buffered >= bufferBytes) flush();
      else if (buffer.length && !timer) timer = setTimeout(flush, bufferMs);
      reply(200, { FailedPutCount: failed, Encrypted: false, RequestResponses: responses });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const drain = async () => {
    flush();
    while (inFlight.size) await Promise.all([...inFlight]);
  };
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    backup,
    deliveryStatuses,
    drain,
    async close() {
      await drain();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        resolve({});
      }
    });
  });
}
