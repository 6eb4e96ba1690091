import { ClickHouseClient } from '../../functions/clickhouse/client.js';
import { join } from 'node:path';
import { migrate } from '../../functions/clickhouse/migrate.js';
import { createClickHouseTraceSink } from '../../functions/traces/clickhouse-sink.js';
import { replaySpool } from '../../functions/traces/spool.js';
import { traceSpoolDir } from '../../functions/traces/sink-from-env.js';
import { clickhouseTraceQuery, localTraceQuery, summarize, type TraceQuery, type TraceSummary } from '../../functions/traces/query.js';
import type { TraceStepRow } from '../../functions/traces/rows.js';
import { EXIT_OK, EXIT_USAGE, expectPositionals, flag, parseCommand, parseDuration, runReportingErrors, stringOption, UsageError, writeLine, type CliIo, type ParsedCommand } from './args.js';
import { formatTable, writeJson } from './output.js';

export const TRACES_HELP = `Usage: sluice traces <command> [options]

Commands:
  list [--session ID] [--proxy ID] [--since 1h] [--limit N] [--json]
                               the most recent traces, newest first (default limit 20)
  show <traceId> [--json]      one trace: its steps as a tree with timings, decisions,
                               tokens and cost
  migrate --clickhouse URL     create or update the ClickHouse trace tables (the
                               layout follows the server's version)
  replay-spool --clickhouse URL
                               load the rows ClickHouse could not take (spooled under
                               <spool dir>/clickhouse/) into ClickHouse

Source: the local store (--data-dir, default .sluice), --clickhouse URL
(http(s)://user:password@host:8123/?database=db), or with --aws [--stack NAME]
[--region R] the ClickHouse of a stack deployed with sluice:traces=clickhouse (its
URL read from the secret the stack outputs).`;

/** Where trace commands read from, chosen once per command. */
export interface TraceSourceContext {
  dataDir: string;
  aws: boolean;
  /** `--stack` / `--region` of `--aws`. */
  stack?: string;
  region?: string;
}

/**
 * The trace store: `--clickhouse URL`; with `--aws`, the ClickHouse the deployed stack's
 * trace-ingest writes to (its URL read from the secret the stack outputs); else the local store.
 */
export async function traceSource(values: ParsedCommand['values'], ctx: TraceSourceContext): Promise<{ query: TraceQuery; label: string }> {
  const url = stringOption(values, 'clickhouse') ?? (ctx.aws ? await deployedClickHouseUrl(ctx) : undefined);
  if (url !== undefined) {
    let client: ClickHouseClient;
    try {
      client = new ClickHouseClient({ url });
    } catch (error) {
      throw new UsageError(`${ctx.aws ? 'the ClickHouse URL secret' : '--clickhouse'}: ${(error as Error).message}`);
    }
    return { query: clickhouseTraceQuery(client), label: client.displayUrl };
  }
  return { query: localTraceQuery(ctx.dataDir), label: ctx.dataDir };
}

/** The URL in the stack's ClickHouse secret (plain, or JSON `{"url": "…"}` as trace-ingest reads it). */
async function deployedClickHouseUrl(ctx: TraceSourceContext): Promise<string> {
  const { resolveAwsTarget } = await import('./aws-target.js');
  const target = await resolveAwsTarget({ ...(ctx.stack !== undefined ? { stackName: ctx.stack } : {}), ...(ctx.region !== undefined ? { region: ctx.region } : {}) });
  if (!target.clickhouseUrlSecretArn) {
    throw new UsageError('this stack sends no traces to ClickHouse: deploy it with -c sluice:traces=clickhouse -c sluice:clickhouseUrlSecret=<ARN>, or pass --clickhouse URL');
  }
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  const client = new SecretsManagerClient({ region: target.region });
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: target.clickhouseUrlSecretArn }));
    if (!out.SecretString) throw new UsageError(`secret ${target.clickhouseUrlSecretArn} has no string value`);
    const { secretValue } = await import('../../functions/trace-ingest/handler.js');
    return secretValue(out.SecretString, 'url');
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const e = err as { name?: string; message?: string };
    throw new UsageError(`could not read the ClickHouse URL secret ${target.clickhouseUrlSecretArn}: ${e.name ?? 'Error'}: ${e.message ?? String(err)}`);
  } finally {
    client.destroy();
  }
}

export function sinceOption(values: ParsedCommand['values'], now: number, fallback?: string): number | undefined {
  const text = stringOption(values, 'since') ?? fallback;
  return text === undefined ? undefined : now - parseDuration(text);
}

export async function runTracesCommand(argv: string[], io: CliIo, ctx: TraceSourceContext): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    writeLine(sub === undefined ? io.stderr : io.stdout, TRACES_HELP);
    return sub === undefined ? EXIT_USAGE : EXIT_OK;
  }
  return runReportingErrors(io, `traces ${sub}`, async () => {
    switch (sub) {
      case 'list':
        return listTraces(rest, io, ctx);
      case 'show':
        return showTrace(rest, io, ctx);
      case 'migrate':
        return migrateClickHouse(rest, io);
      case 'replay-spool':
        return replaySpooledRows(rest, io, ctx);
      default:
        throw new UsageError(`unknown command '${sub}' (expected list, show, migrate or replay-spool)`);
    }
  });
}

async function listTraces(argv: string[], io: CliIo, ctx: TraceSourceContext): Promise<number> {
  const { positionals, values } = parseCommand(argv, {
    session: { type: 'string' },
    proxy: { type: 'string' },
    since: { type: 'string' },
    limit: { type: 'string' },
    clickhouse: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (flag(values, 'help')) return help(io);
  expectPositionals(positionals, []);
  const limitText = stringOption(values, 'limit') ?? '20';
  if (!/^\d{1,6}$/.test(limitText) || Number(limitText) === 0) throw new UsageError(`--limit must be a positive number (got '${limitText}')`);
  const sinceMs = sinceOption(values, Date.now());
  const session = stringOption(values, 'session');
  const proxy = stringOption(values, 'proxy');
  const { query } = await traceSource(values, ctx);
  const rows = await query.steps({
    name: 'request_finished',
    latest: Number(limitText),
    ...(session !== undefined ? { sessionId: session } : {}),
    ...(proxy !== undefined ? { proxyId: proxy } : {}),
    ...(sinceMs !== undefined ? { sinceMs } : {}),
  });
  const traces = summarize(rows).reverse();
  if (flag(values, 'json')) {
    writeJson(io, traces);
    return EXIT_OK;
  }
  if (traces.length === 0) {
    writeLine(io.stdout, 'No traces.');
    return EXIT_OK;
  }
  writeLine(io.stdout, formatTable(['time', 'trace', 'session', 'turn', 'model', 'status', 'latency', 'tokens in/out', 'cost'], traces.map(summaryCells)));
  return EXIT_OK;
}

export function summaryCells(t: TraceSummary): string[] {
  return [
    new Date(t.startedAtMs).toISOString().replace('T', ' ').slice(0, 19),
    t.traceId,
    t.sessionId,
    t.turn ? String(t.turn) : '-',
    t.model || '-',
    String(t.status || '-'),
    ms(t.latencyMs),
    `${t.promptTokens}/${t.completionTokens}`,
    usd(t.costUsd, t.costUnknown),
  ];
}

async function showTrace(argv: string[], io: CliIo, ctx: TraceSourceContext): Promise<number> {
  const { positionals, values } = parseCommand(argv, { clickhouse: { type: 'string' }, json: { type: 'boolean' } });
  if (flag(values, 'help')) return help(io);
  const [traceId] = expectPositionals(positionals, ['traceId']) as [string];
  const { query } = await traceSource(values, ctx);
  const rows = await query.steps({ traceId, withBodies: flag(values, 'json') });
  if (rows.length === 0) throw new UsageError(`no trace '${traceId}' in this store`);
  if (flag(values, 'json')) {
    writeJson(io, rows);
    return EXIT_OK;
  }
  for (const line of renderTrace(rows)) writeLine(io.stdout, line);
  return EXIT_OK;
}

/** The trace header and its step tree (children under the step they name as parent). */
export function renderTrace(rows: readonly TraceStepRow[]): string[] {
  const sorted = [...rows].sort((a, b) => a.offset_ms - b.offset_ms);
  const end = sorted.find((r) => r.name === 'request_finished') ?? sorted[sorted.length - 1]!;
  const traceId = end.trace_id;
  const lines = [
    `trace    ${traceId}   ${new Date(end.started_at_ms - end.offset_ms).toISOString()}`,
    `session  ${end.session_id}  strategy ${end.session_strategy || '-'}  turn ${end.session_turn || '-'}${end.session_refused_id ? `  refused ${end.session_refused_id}` : ''}`,
    `proxy    ${end.proxy_id || '-'}  key ${end.key_id || '-'}`,
    `model    ${end.model_requested || '-'} → ${end.model_resolved || '-'} (${end.provider || '-'})`,
    `status   ${end.status || '-'}${end.error ? `  error ${end.error}` : ''}`,
    `timing   latency ${ms(end.latency_ms)}  ttft ${ms(end.ttft_ms)}`,
    `tokens   prompt ${end.prompt_tokens}  completion ${end.completion_tokens}  cached ${end.cached_tokens}  reasoning ${end.reasoning_tokens}  cost ${usd(end.cost_usd, end.cost_unknown === 1)}`,
  ];
  if (end.trace_parent_id || end.flow_id || end.session_path) lines.push(`links    parent ${end.trace_parent_id || '-'}  flow ${end.flow_id || '-'}  path ${end.session_path || '-'}`);
  const props = Object.entries(end.properties);
  if (props.length) lines.push(`props    ${props.map(([k, v]) => `${k}=${v}`).join('  ')}`);
  lines.push('steps');
  const children = new Map<string, TraceStepRow[]>();
  for (const r of sorted) children.set(r.parent_trace_id, [...(children.get(r.parent_trace_id) ?? []), r]);
  const walk = (parent: string, depth: number) => {
    for (const r of children.get(parent) ?? []) {
      const at = `+${r.offset_ms.toFixed(1)}ms`.padStart(11);
      const took = r.duration_ms !== null ? ` (${r.duration_ms.toFixed(1)}ms)` : '';
      lines.push(`${at}  ${'  '.repeat(depth)}${r.name}${took}${stepDetail(r)}`);
      walk(r.step_id, depth + 1);
    }
  };
  walk(traceId, 0);
  return lines;
}

/** The few attributes worth a glance per step kind. */
function stepDetail(r: TraceStepRow): string {
  let a: Record<string, unknown> = {};
  try {
    a = JSON.parse(r.attributes) as Record<string, unknown>;
  } catch {
    // attributes are JSON by construction; show none if not
  }
  const pick = (...keys: string[]) =>
    keys
      .filter((k) => a[k] !== undefined && a[k] !== null && typeof a[k] !== 'object')
      .map((k) => `${k}=${String(a[k])}`)
      .join(' ');
  switch (r.name) {
    case 'llm':
      return `  ${r.provider} ${r.model_resolved} status=${String(a.status ?? r.status)} tokens=${r.prompt_tokens}/${r.completion_tokens}`;
    case 'tool':
      return `  ${pick('direction', 'name', 'toolCallId')}`;
    case 'request_finished':
      return `  status=${r.status} latency=${ms(r.latency_ms)}`;
    default: {
      const detail = pick('decision', 'mode', 'stage', 'score', 'action', 'reason', 'endpoint');
      return detail ? `  ${detail}` : '';
    }
  }
}

async function migrateClickHouse(argv: string[], io: CliIo): Promise<number> {
  const { positionals, values } = parseCommand(argv, { clickhouse: { type: 'string' } });
  if (flag(values, 'help')) return help(io);
  expectPositionals(positionals, []);
  const url = stringOption(values, 'clickhouse');
  if (url === undefined) throw new UsageError('missing --clickhouse URL');
  let client: ClickHouseClient;
  try {
    client = new ClickHouseClient({ url });
  } catch (error) {
    throw new UsageError(`--clickhouse: ${(error as Error).message}`);
  }
  const result = await migrate(client);
  writeLine(io.stdout, `ClickHouse ${result.serverVersion} at ${client.displayUrl}: ${result.variant} layout.`);
  writeLine(io.stdout, result.applied.length ? `Applied migration(s) ${result.applied.join(', ')}.` : 'Already up to date.');
  return EXIT_OK;
}

async function replaySpooledRows(argv: string[], io: CliIo, ctx: TraceSourceContext): Promise<number> {
  const { positionals, values } = parseCommand(argv, { clickhouse: { type: 'string' } });
  if (flag(values, 'help')) return help(io);
  expectPositionals(positionals, []);
  const url = stringOption(values, 'clickhouse');
  if (url === undefined) throw new UsageError('missing --clickhouse URL');
  if (ctx.aws) throw new UsageError('the spool is local: --aws does not apply');
  let client: ClickHouseClient;
  try {
    client = new ClickHouseClient({ url });
  } catch (error) {
    throw new UsageError(`--clickhouse: ${(error as Error).message}`);
  }
  const sink = createClickHouseTraceSink({ client });
  // The fan-out's ClickHouse spool (replayed by a running gateway by itself too) and the older <data dir>/traces/spool.
  const insert = (rows: TraceStepRow[]) => sink.write([{ record: { traceId: '', startedAt: '', sessionId: '', properties: {}, attributes: {}, steps: [] }, rows }]);
  const result = { files: 0, rows: 0 };
  for (const dir of [join(traceSpoolDir(process.env, ctx.dataDir), 'clickhouse'), join(ctx.dataDir, 'traces', 'spool')]) {
    const r = await replaySpool(dir, insert);
    result.files += r.files;
    result.rows += r.rows;
  }
  writeLine(io.stdout, result.files ? `Loaded ${result.rows} row(s) from ${result.files} spool file(s) into ${client.displayUrl}.` : 'Nothing spooled.');
  return EXIT_OK;
}

function help(io: CliIo): number {
  writeLine(io.stdout, TRACES_HELP);
  return EXIT_OK;
}

export const ms = (v: number | null) => (v === null ? '-' : `${v.toFixed(1)}ms`);
export const usd = (v: number | null, unknown: boolean) => (v === null ? (unknown ? 'unpriced' : '-') : `$${v.toFixed(6)}`);
