/**
 * The container server (Dockerfile CMD): the gateway handler Lambda runs, served by the
 * local runtime hardened for production (functions/local/production.ts). Backends come
 * from the environment exactly as in Lambda: SLUICE_STORE=dynamodb + SLUICE_CONTROL_TABLE,
 * SLUICE_TRACE_SINK (firehose, clickhouse, otlp, …), the cache URL, OTEL_EXPORTER_OTLP_*.
 * Binds HOST (default 0.0.0.0) and PORT (default 8080); drains on SIGTERM. A request
 * running past SLUICE_REQUEST_TIMEOUT_SECONDS (default 300, as the Lambda's timeout; the
 * Fargate stack sets it from `sluice:timeoutSeconds`) is stopped as Lambda stops it, and
 * the client is told (functions/local/deadline.ts). CORS as the Function URL's, origins
 * from SLUICE_CORS_ALLOWED_ORIGINS (default `*`; functions/local/cors.ts). Request headers
 * and body must arrive within SLUICE_HEADERS_TIMEOUT_MS / SLUICE_REQUEST_BODY_TIMEOUT_MS
 * (408 otherwise; functions/local/production.ts).
 */
import './awslambda.js';
import { startLocalServer } from './server.js';
import { corsPolicyFromEnv } from './cors.js';
import { batchWrites } from './batched-stdout.js';
import { exitOnStopSignals } from './shutdown.js';
import { receiveTimeoutsFromEnv, type ReceiveTimeouts } from './production.js';
import { warmLocalTraceIndex } from '../traces/warm-index.js';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST?.trim() || '0.0.0.0';
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  process.stderr.write(`Sluice: PORT must be an integer 0-65535, not "${process.env.PORT}"\n`);
  process.exit(2);
}
const timeoutSeconds = Number(process.env.SLUICE_REQUEST_TIMEOUT_SECONDS?.trim() || 300);
if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 3600) {
  process.stderr.write(`Sluice: SLUICE_REQUEST_TIMEOUT_SECONDS must be an integer 1-3600, not "${process.env.SLUICE_REQUEST_TIMEOUT_SECONDS}"\n`);
  process.exit(2);
}
// Slow-loris bounds on receiving a request (headers, then body); never on the response.
let receiveTimeouts: ReceiveTimeouts;
try {
  receiveTimeouts = receiveTimeoutsFromEnv(process.env);
} catch (err) {
  process.stderr.write(`Sluice: ${(err as Error).message}\n`);
  process.exit(2);
}
// Log lines written in one event-loop turn go out in one write (flushed on exit).
batchWrites(process.stdout);
const { handler, flushTraces } = await import('../gateway/handler.js');
const server = await startLocalServer({
  handler,
  port,
  host,
  production: true,
  timeoutMs: timeoutSeconds * 1000,
  receiveTimeouts,
  cors: corsPolicyFromEnv(process.env),
  // The gateway's trace records a stopped stream as cut; this line says why, under its trace id.
  onDeadline: (stopped) => process.stdout.write(`${JSON.stringify({ level: 'WARN', message: 'request stopped at the time limit', ...stopped })}\n`),
});
// The console's trace index (local JSONL store only) is built in the background, not on its first page.
warmLocalTraceIndex(process.env);
exitOnStopSignals(server, { flush: () => flushTraces() });
process.stdout.write(`${JSON.stringify({ level: 'INFO', message: 'Sluice container server listening', url: server.url })}\n`);
