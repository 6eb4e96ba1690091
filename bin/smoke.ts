#!/usr/bin/env node
/**
 * Post-deploy smoke test, run by a customer against a real deployment (or `npm start`):
 *
 *   npm run smoke -- <function-url> <sk-sluice-key> [--model gpt-4o-mini] [--proxy <id>] [--timeout-ms 60000]
 *
 * With the official OpenAI SDK: health, a plain and a streamed chat completion, the
 * X-Sluice-* headers, time to first token and the spacing of streamed chunks (Function
 * URL streams have been reported to coalesce small writes), a 401 with a bad key, and —
 * given the trace store (--data-dir, --clickhouse URL or --aws) — that the plain call's
 * trace was recorded.
 * Prints a pass/fail table; exits 1 when a check fails, 2 on bad usage.
 */
import './require-node.js'; // first: refuses a Node older than 24
import OpenAI from 'openai';
import { pathToFileURL } from 'node:url';

export type CheckStatus = 'PASS' | 'FAIL' | 'INFO';

export interface CheckResult {
  check: string;
  status: CheckStatus;
  detail: string;
}

export interface StreamTiming {
  /** ms from sending the request to the first content delta. */
  ttftMs: number;
  /** ms from sending the request to the end of the stream. */
  totalMs: number;
  /** Content deltas received. */
  chunks: number;
  /** Gaps between consecutive deltas, ms. */
  gapsMs: number[];
}

export interface SmokeOptions {
  /** The Function URL (or `http://127.0.0.1:8080` for `npm start`). */
  functionUrl: string;
  key: string;
  model: string;
  /** Use `/a/<proxy>/openai/v1` instead of resolving the proxy from the key (`/v1`). */
  proxyId?: string;
  timeoutMs: number;
  fetch?: typeof fetch;
  /** Where to look the plain call's trace up; without it the trace check is INFO (not checked). */
  traceStore?: TraceStoreOption;
}

/** The trace store of `sluice traces` (bin/commands/traces.ts): a data dir, a ClickHouse URL, or the deployed stack's. */
export interface TraceStoreOption {
  dataDir?: string;
  clickhouse?: string;
  aws?: { stack?: string; region?: string };
  /** How long to wait for the trace to arrive (Firehose buffers in AWS). */
  waitMs: number;
}

/** Default waits for the trace: the local and ClickHouse sinks write within seconds; AWS goes through Firehose's buffer and S3Queue. */
export const TRACE_WAIT_MS = { local: 10_000, aws: 600_000 } as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Deltas closer than this count as one network delivery (coalesced writes). */
const SAME_DELIVERY_MS = 2;

export function openAiBaseUrl(functionUrl: string, proxyId?: string): string {
  const root = functionUrl.replace(/\/+$/, '');
  return proxyId ? `${root}/a/${encodeURIComponent(proxyId)}/openai/v1` : `${root}/v1`;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Summarizes the spacing of streamed deltas; "coalesced" when nearly all arrive together. */
export function describeSpacing(t: StreamTiming): { coalesced: boolean; text: string } {
  const gaps = [...t.gapsMs].sort((a, b) => a - b);
  const together = gaps.filter((g) => g < SAME_DELIVERY_MS).length;
  const deliveries = t.chunks - together;
  const coalesced = t.chunks >= 4 && deliveries <= Math.max(1, Math.floor(t.chunks / 4));
  const text =
    `${t.chunks} deltas in ~${deliveries} ${deliveries === 1 ? 'delivery' : 'deliveries'}; gap p50 ${quantile(gaps, 0.5).toFixed(1)} ms, ` +
    `max ${(gaps.at(-1) ?? 0).toFixed(1)} ms` +
    (coalesced ? ' — deltas arrive bunched: small writes are being coalesced on the way' : '');
  return { coalesced, text };
}

function headerCheck(name: string, headers: Headers): CheckResult {
  const ids = ['x-sluice-session-id', 'x-sluice-trace-id'].map((h) => [h, headers.get(h)] as const);
  const bad = ids.filter(([, v]) => !v || !UUID.test(v)).map(([h]) => h);
  return bad.length === 0
    ? { check: `${name}: X-Sluice headers`, status: 'PASS', detail: ids.map(([h, v]) => `${h}=${v}`).join(' ') }
    : { check: `${name}: X-Sluice headers`, status: 'FAIL', detail: `missing or not a UUID: ${bad.join(', ')}` };
}

function describeError(err: unknown): string {
  if (err instanceof OpenAI.APIError) return `HTTP ${err.status ?? '?'}: ${err.message}`;
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

async function checkHealth(opts: SmokeOptions, doFetch: typeof fetch): Promise<CheckResult> {
  try {
    const res = await doFetch(`${opts.functionUrl.replace(/\/+$/, '')}/healthz`, { signal: AbortSignal.timeout(opts.timeoutMs) });
    await res.arrayBuffer();
    return { check: 'GET /healthz', status: res.ok ? 'PASS' : 'FAIL', detail: `HTTP ${res.status}` };
  } catch (err) {
    return { check: 'GET /healthz', status: 'FAIL', detail: describeError(err) };
  }
}

async function checkPlain(client: OpenAI, model: string): Promise<{ results: CheckResult[]; traceId?: string }> {
  const started = performance.now();
  try {
    const { data, response } = await client.chat.completions
      .create({ model, messages: [{ role: 'user', content: 'Reply with the single word: pong' }], max_tokens: 16 })
      .withResponse();
    const text = data.choices[0]?.message.content ?? '';
    const ms = (performance.now() - started).toFixed(0);
    const traceId = response.headers.get('x-sluice-trace-id') ?? undefined;
    return {
      results: [
        {
          check: 'plain chat completion',
          status: text.length > 0 ? 'PASS' : 'FAIL',
          detail: `HTTP ${response.status} in ${ms} ms, ${text.length} chars, finish_reason ${data.choices[0]?.finish_reason ?? 'none'}`,
        },
        headerCheck('plain', response.headers),
      ],
      ...(traceId ? { traceId } : {}),
    };
  } catch (err) {
    return { results: [{ check: 'plain chat completion', status: 'FAIL', detail: describeError(err) }] };
  }
}

/** The plain call's trace, looked up in the trace store until it arrives or the wait is over. */
export async function checkTrace(store: TraceStoreOption | undefined, traceId: string | undefined): Promise<CheckResult> {
  const check = 'trace recorded';
  if (!store) return { check, status: 'INFO', detail: 'not checked: pass the trace store (--data-dir DIR for npm start, --clickhouse URL, or --aws) to look the trace up' };
  if (!traceId) return { check, status: 'FAIL', detail: 'the plain call returned no X-Sluice-Trace-Id to look up' };
  const started = performance.now();
  try {
    const { traceSource } = await import('./commands/traces.js');
    const { query, label } = await traceSource(store.clickhouse !== undefined ? { clickhouse: store.clickhouse } : {}, {
      dataDir: store.dataDir ?? '.sluice',
      aws: store.aws !== undefined,
      ...(store.aws?.stack !== undefined ? { stack: store.aws.stack } : {}),
      ...(store.aws?.region !== undefined ? { region: store.aws.region } : {}),
    });
    for (let wait = 100; ; wait = Math.min(wait * 2, 5_000)) {
      const [row] = await query.steps({ traceId, name: 'request_finished' });
      const ms = (performance.now() - started).toFixed(0);
      if (row) {
        const ok = row.status === 200;
        return { check, status: ok ? 'PASS' : 'FAIL', detail: `${traceId} in ${label} after ${ms} ms: status ${row.status}, model ${row.model_resolved || row.model_requested || '-'}, tokens ${row.prompt_tokens}/${row.completion_tokens}` };
      }
      if (performance.now() - started + wait > store.waitMs) return { check, status: 'FAIL', detail: `${traceId} not in ${label} after ${ms} ms (--trace-wait-ms ${store.waitMs})` };
      await new Promise((r) => setTimeout(r, wait));
    }
  } catch (err) {
    return { check, status: 'FAIL', detail: `could not read the trace store: ${describeError(err)}` };
  }
}

async function checkStream(client: OpenAI, model: string): Promise<CheckResult[]> {
  const started = performance.now();
  try {
    const { data: stream, response } = await client.chat.completions
      .create({
        model,
        stream: true,
        messages: [{ role: 'user', content: 'Count from one to twenty in words, separated by spaces.' }],
        max_tokens: 120,
      })
      .withResponse();
    const arrivals: number[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta?.content) arrivals.push(performance.now() - started);
      if (choice?.finish_reason) finish = choice.finish_reason;
    }
    const totalMs = performance.now() - started;
    const timing: StreamTiming = {
      ttftMs: arrivals[0] ?? totalMs,
      totalMs,
      chunks: arrivals.length,
      gapsMs: arrivals.slice(1).map((t, i) => t - arrivals[i]!),
    };
    const spacing = describeSpacing(timing);
    return [
      {
        check: 'streamed chat completion',
        status: timing.chunks > 0 && finish !== null ? 'PASS' : 'FAIL',
        detail: `HTTP ${response.status}, ${timing.chunks} content deltas, finish_reason ${finish ?? 'none'}, ${totalMs.toFixed(0)} ms total`,
      },
      headerCheck('stream', response.headers),
      { check: 'stream: time to first token', status: 'INFO', detail: `${timing.ttftMs.toFixed(0)} ms` },
      { check: 'stream: chunk spacing', status: 'INFO', detail: spacing.text },
    ];
  } catch (err) {
    return [{ check: 'streamed chat completion', status: 'FAIL', detail: describeError(err) }];
  }
}

async function checkBadKey(opts: SmokeOptions, baseURL: string): Promise<CheckResult> {
  // A well-formed key that was never issued: the gateway must refuse it before any upstream call.
  const client = new OpenAI({ apiKey: 'sk-sluice-smoke-test-invalid-key-000000000000', baseURL, maxRetries: 0, timeout: opts.timeoutMs, ...(opts.fetch ? { fetch: opts.fetch } : {}) });
  try {
    await client.chat.completions.create({ model: opts.model, messages: [{ role: 'user', content: 'ping' }] });
    return { check: 'bad key is refused', status: 'FAIL', detail: 'the call succeeded' };
  } catch (err) {
    if (err instanceof OpenAI.APIError && err.status === 401) {
      const trace = err.headers?.get('x-sluice-trace-id');
      return {
        check: 'bad key is refused',
        status: trace ? 'PASS' : 'FAIL',
        detail: trace ? `HTTP 401, x-sluice-trace-id=${trace}` : 'HTTP 401 but no X-Sluice-Trace-Id header',
      };
    }
    return { check: 'bad key is refused', status: 'FAIL', detail: `expected HTTP 401, got ${describeError(err)}` };
  }
}

/** Runs every check in order and returns the results (no printing, no exit). */
export async function runSmoke(opts: SmokeOptions): Promise<CheckResult[]> {
  const baseURL = openAiBaseUrl(opts.functionUrl, opts.proxyId);
  const client = new OpenAI({ apiKey: opts.key, baseURL, maxRetries: 0, timeout: opts.timeoutMs, ...(opts.fetch ? { fetch: opts.fetch } : {}) });
  const health = await checkHealth(opts, opts.fetch ?? fetch);
  const plain = await checkPlain(client, opts.model);
  return [health, ...plain.results, ...(await checkStream(client, opts.model)), await checkBadKey(opts, baseURL), await checkTrace(opts.traceStore, plain.traceId)];
}

export function formatTable(results: CheckResult[]): string {
  const w = Math.max(...results.map((r) => r.check.length), 5);
  const lines = results.map((r) => `${r.status.padEnd(4)}  ${r.check.padEnd(w)}  ${r.detail}`);
  const failed = results.filter((r) => r.status === 'FAIL').length;
  return [`${'RES'.padEnd(4)}  ${'CHECK'.padEnd(w)}  DETAIL`, ...lines, '', failed === 0 ? 'smoke: all checks passed' : `smoke: ${failed} check(s) FAILED`].join('\n');
}

const USAGE =
  'usage: npm run smoke -- <function-url> <sk-sluice-key> [--model gpt-4o-mini] [--proxy <id>] [--timeout-ms 60000]\n' +
  '       [--data-dir DIR | --clickhouse URL | --aws [--stack NAME] [--region R]] [--trace-wait-ms N]';
const VALUE_FLAGS = ['model', 'proxy', 'timeout-ms', 'data-dir', 'clickhouse', 'stack', 'region', 'trace-wait-ms'];

export function parseSmokeArgs(argv: string[]): SmokeOptions {
  const positional: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--aws') flags.aws = 'true';
    else if (arg.startsWith('--')) {
      const value = argv[++i];
      if (value === undefined) throw new Error(`${arg} needs a value`);
      flags[arg.slice(2)] = value;
    } else positional.push(arg);
  }
  const [functionUrl, key] = positional;
  if (!functionUrl || !key || positional.length > 2) throw new Error(USAGE);
  if (!/^https?:\/\//.test(functionUrl)) throw new Error(`not a URL: ${functionUrl}`);
  const unknown = Object.keys(flags).filter((f) => f !== 'aws' && !VALUE_FLAGS.includes(f));
  if (unknown.length > 0) throw new Error(`unknown option --${unknown[0]}\n${USAGE}`);
  const timeoutMs = Number(flags['timeout-ms'] ?? 60_000);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new Error('--timeout-ms must be a positive number');
  const sources = ['data-dir', 'clickhouse', 'aws'].filter((f) => flags[f] !== undefined);
  if (sources.length > 1) throw new Error(`--${sources.join(' and --')} cannot be combined: give one trace store`);
  if ((flags.stack !== undefined || flags.region !== undefined) && flags.aws === undefined) throw new Error('--stack and --region go with --aws');
  const waitMs = Number(flags['trace-wait-ms'] ?? (flags.aws ? TRACE_WAIT_MS.aws : TRACE_WAIT_MS.local));
  if (!Number.isFinite(waitMs) || waitMs < 0) throw new Error('--trace-wait-ms must be a number of milliseconds');
  if (flags['trace-wait-ms'] !== undefined && sources.length === 0) throw new Error('--trace-wait-ms needs a trace store (--data-dir, --clickhouse or --aws)');
  const traceStore: TraceStoreOption | undefined =
    sources.length === 0
      ? undefined
      : {
          waitMs,
          ...(flags['data-dir'] !== undefined ? { dataDir: flags['data-dir'] } : {}),
          ...(flags.clickhouse !== undefined ? { clickhouse: flags.clickhouse } : {}),
          ...(flags.aws ? { aws: { ...(flags.stack ? { stack: flags.stack } : {}), ...(flags.region ? { region: flags.region } : {}) } } : {}),
        };
  return {
    functionUrl,
    key,
    model: flags.model ?? 'gpt-4o-mini',
    ...(flags.proxy ? { proxyId: flags.proxy } : {}),
    timeoutMs,
    ...(traceStore ? { traceStore } : {}),
  };
}

async function main(): Promise<void> {
  let opts: SmokeOptions;
  try {
    opts = parseSmokeArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  process.stdout.write(`smoke: ${openAiBaseUrl(opts.functionUrl, opts.proxyId)} model ${opts.model}\n\n`);
  const results = await runSmoke(opts);
  process.stdout.write(`${formatTable(results)}\n`);
  process.exitCode = results.some((r) => r.status === 'FAIL') ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
