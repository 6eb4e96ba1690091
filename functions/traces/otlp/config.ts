/**
 * The OTLP exporter's settings from the standard OpenTelemetry variables (plus Sluice's
 * own for content capture and the deprecated attribute). Pure: no I/O, no heavy imports,
 * so the gateway can validate them at start and load the exporter only on first export.
 *
 * | variable | default |
 * |---|---|
 * | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | used as is |
 * | `OTEL_EXPORTER_OTLP_ENDPOINT` | `http://localhost:4318`, `/v1/traces` appended |
 * | `OTEL_EXPORTER_OTLP_[TRACES_]HEADERS` | `key=value,key2=value2` (values URL-decoded) |
 * | `OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL` | `http/protobuf`; `http/json` too; `grpc` is refused |
 * | `OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT` | 10000 ms per export call |
 * | `OTEL_SERVICE_NAME` | `sluice` |
 * | `SLUICE_OTLP_HEADERS_SECRET_ARN` | a Secrets Manager secret holding more headers (same format), read once |
 * | `SLUICE_OTEL_CAPTURE_CONTENT` | `false`; `true` adds prompt and completion text, redacted |
 * | `SLUICE_OTEL_REDACT_PATTERNS` | JSON list of extra RE2 patterns masked in captured text |
 * | `SLUICE_OTEL_GEN_AI_SYSTEM` | `false`; `true` also sets the deprecated `gen_ai.system` |
 */
export interface OtlpConfig {
  url: string;
  protocol: 'http/protobuf' | 'http/json';
  headers: Record<string, string>;
  headersSecretArn?: string;
  timeoutMs: number;
  serviceName: string;
  captureContent: boolean;
  redactPatterns: string[];
  legacySystem: boolean;
}

export function otlpConfigFromEnv(env: NodeJS.ProcessEnv): OtlpConfig {
  const pick = (name: string) => (env[`OTEL_EXPORTER_OTLP_TRACES_${name}`] ?? env[`OTEL_EXPORTER_OTLP_${name}`])?.trim() || undefined;
  const protocol = pick('PROTOCOL') ?? 'http/protobuf';
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    throw new Error(`OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf or http/json (got '${protocol}'; gRPC is not supported)`);
  }
  const url = tracesUrl(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim(), env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim());
  const timeout = Number(pick('TIMEOUT'));
  const patterns = env.SLUICE_OTEL_REDACT_PATTERNS?.trim();
  let redactPatterns: string[] = [];
  if (patterns) {
    const parsed: unknown = JSON.parse(patterns);
    if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string')) throw new Error('SLUICE_OTEL_REDACT_PATTERNS must be a JSON list of RE2 patterns');
    redactPatterns = parsed;
  }
  return {
    url,
    protocol,
    headers: { ...parseHeaders(env.OTEL_EXPORTER_OTLP_HEADERS), ...parseHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS) },
    ...(env.SLUICE_OTLP_HEADERS_SECRET_ARN ? { headersSecretArn: env.SLUICE_OTLP_HEADERS_SECRET_ARN } : {}),
    timeoutMs: Number.isInteger(timeout) && timeout > 0 ? timeout : 10_000,
    serviceName: env.OTEL_SERVICE_NAME?.trim() || 'sluice',
    captureContent: env.SLUICE_OTEL_CAPTURE_CONTENT?.trim().toLowerCase() === 'true',
    redactPatterns,
    legacySystem: env.SLUICE_OTEL_GEN_AI_SYSTEM?.trim().toLowerCase() === 'true',
  };
}

function tracesUrl(signal: string | undefined, base: string | undefined): string {
  const raw = signal || `${(base || 'http://localhost:4318').replace(/\/+$/, '')}/v1/traces`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`OTEL_EXPORTER_OTLP_ENDPOINT is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('OTEL_EXPORTER_OTLP_ENDPOINT must be http(s)://');
  return url.href;
}

/** The W3C-baggage-like list the OTel spec uses: `k=v,k2=v2`, values percent-decoded; malformed entries are refused. */
export function parseHeaders(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text?.trim()) return out;
  for (const part of text.split(',')) {
    if (!part.trim()) continue;
    const eq = part.indexOf('=');
    const key = eq > 0 ? part.slice(0, eq).trim() : '';
    if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(key)) throw new Error('OTEL_EXPORTER_OTLP_HEADERS must be key=value pairs separated by commas');
    out[key.toLowerCase()] = decodeURIComponent(part.slice(eq + 1).trim());
  }
  return out;
}
