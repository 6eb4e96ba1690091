import { maskPatterns } from '../../governance/redact.js';
import { UndeliveredRowsError, type TraceBatch } from '../sink.js';
import type { OtlpConfig } from './config.js';
import { parseHeaders } from './config.js';
import { encodeExportRequest } from './protobuf.js';
import { exportRequestFor, type SpanOptions } from './spans.js';

export interface OtlpExporterDeps {
  config: OtlpConfig;
  /** Reads SLUICE_OTLP_HEADERS_SECRET_ARN (once; retried after a failure). */
  readSecret?: (arn: string) => Promise<string>;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  serviceVersion?: string;
}

/** One destination of the trace fan-out: `write` exports the spans of many traces in one OTLP/HTTP call. */
export interface OtlpDestination {
  readonly name: 'otlp';
  write(traces: readonly TraceBatch[]): Promise<void>;
}

/** Secrets that must never leave in captured text, whatever the policies say. */
const BUILT_IN_SECRETS = [
  /sk-sluice-[A-Za-z0-9_-]{8,}/g,
  /sk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}/g,
  /\bAKIA[0-9A-Z]{16}\b/g,
  /\bAIza[0-9A-Za-z_-]{35}\b/g,
  /\b(?:Bearer|Basic)\s+[A-Za-z0-9._~+/-]{12,}=*/gi,
];

/** Masks the built-in secret shapes and the configured RE2 patterns (`█` per character, as the response policies do). */
export function redactorFor(patterns: readonly string[]): (text: string) => string {
  return (text) => {
    let out = text;
    for (const re of BUILT_IN_SECRETS) out = out.replace(re, (m) => '█'.repeat(m.length));
    return patterns.length ? maskPatterns(out, [...patterns]).text : out;
  };
}

/** Status codes OTLP/HTTP says to retry (with backoff); anything else is final. */
const RETRYABLE = new Set([429, 502, 503, 504]);
const ATTEMPTS = 3;

/**
 * The OTLP/HTTP trace exporter: protobuf (default) or JSON to the traces URL with the
 * configured headers, retried on 429/502/503/504 and network errors (honouring
 * Retry-After up to 5 s), at most 3 attempts. A final failure rejects with every row
 * of the batch undelivered; its message names the URL's origin and path only.
 */
export function createOtlpExporter(deps: OtlpExporterDeps): OtlpDestination {
  const { config } = deps;
  const doFetch = deps.fetch ?? fetch;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const spanOptions: SpanOptions = {
    captureContent: config.captureContent,
    legacySystem: config.legacySystem,
    redact: redactorFor(config.redactPatterns),
    serviceName: config.serviceName,
    serviceVersion: deps.serviceVersion ?? '0.1.0',
  };
  const where = (() => {
    const u = new URL(config.url);
    return `${u.origin}${u.pathname}`;
  })();
  let secretHeaders: Promise<Record<string, string>> | undefined;
  const headers = async (): Promise<Record<string, string>> => {
    if (!config.headersSecretArn || !deps.readSecret) return config.headers;
    secretHeaders ??= deps.readSecret(config.headersSecretArn).then((text) => parseHeaders(text.trim()));
    secretHeaders.catch(() => {
      secretHeaders = undefined;
    });
    return { ...config.headers, ...(await secretHeaders) };
  };

  return {
    name: 'otlp',
    async write(traces) {
      if (traces.length === 0) return;
      const request = exportRequestFor(
        traces.map((t) => t.record),
        spanOptions,
      );
      const json = config.protocol === 'http/json';
      const body = json ? JSON.stringify(request) : encodeExportRequest(request);
      let last = '';
      try {
        const extra = await headers();
        for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
          let wait = 100 * 2 ** attempt;
          try {
            const res = await doFetch(config.url, {
              method: 'POST',
              headers: { ...extra, 'content-type': json ? 'application/json' : 'application/x-protobuf' },
              body,
              signal: AbortSignal.timeout(config.timeoutMs),
            });
            await res.arrayBuffer().catch(() => undefined);
            if (res.ok) return;
            last = `answered HTTP ${res.status}`;
            if (!RETRYABLE.has(res.status)) break;
            const after = Number(res.headers.get('retry-after'));
            if (Number.isFinite(after) && after > 0) wait = Math.min(after * 1000, 5_000);
          } catch (err) {
            last = (err as Error).name === 'TimeoutError' ? `timed out after ${config.timeoutMs} ms` : `failed: ${(err as Error).message}`;
          }
          if (attempt < ATTEMPTS - 1) await sleep(wait);
        }
      } catch (err) {
        last = `headers secret unreadable: ${(err as Error).message}`;
      }
      throw new UndeliveredRowsError(
        `OTLP export to ${where} ${last}`,
        traces.flatMap((t) => t.rows),
      );
    },
  };
}
