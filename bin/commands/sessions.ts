import { summarize } from '../../functions/traces/query.js';
import { EXIT_OK, EXIT_USAGE, expectPositionals, flag, parseCommand, runReportingErrors, stringOption, UsageError, writeLine, type CliIo } from './args.js';
import { formatTable, writeJson } from './output.js';
import { ms, sinceOption, traceSource, usd, type TraceSourceContext } from './traces.js';

export const SESSIONS_HELP = `Usage: sluice sessions <command> [options]

Commands:
  list [--proxy ID] [--since 7d] [--limit N] [--clickhouse URL] [--json]
                               sessions with traces in the window (default 7d), most
                               recently active first (default limit 20), with their
                               turns, tokens and cost
  show <sessionId> [--clickhouse URL] [--json]
                               the session's turns in order, with model, status,
                               latency, tokens and cost, and the totals

Source: the local store (--data-dir, default .sluice), --clickhouse URL, or --aws
(the ClickHouse of the deployed stack, as for traces).`;

export async function runSessionsCommand(argv: string[], io: CliIo, ctx: TraceSourceContext): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    writeLine(sub === undefined ? io.stderr : io.stdout, SESSIONS_HELP);
    return sub === undefined ? EXIT_USAGE : EXIT_OK;
  }
  return runReportingErrors(io, `sessions ${sub}`, async () => {
    if (sub === 'list') return listSessions(rest, io, ctx);
    if (sub !== 'show') throw new UsageError(`unknown command '${sub}' (expected list or show)`);
    const { positionals, values } = parseCommand(rest, { clickhouse: { type: 'string' }, json: { type: 'boolean' } });
    if (flag(values, 'help')) {
      writeLine(io.stdout, SESSIONS_HELP);
      return EXIT_OK;
    }
    const [sessionId] = expectPositionals(positionals, ['sessionId']) as [string];
    const { query } = await traceSource(values, ctx);
    // Turn order: the turn counter when the session plugin counted it, else arrival time.
    const turns = summarize(await query.steps({ sessionId, name: 'request_finished' })).sort((a, b) => (a.turn && b.turn ? a.turn - b.turn : 0) || a.startedAtMs - b.startedAtMs);
    if (turns.length === 0) throw new UsageError(`no session '${sessionId}' in this store`);
    if (flag(values, 'json')) {
      writeJson(io, { sessionId, turns });
      return EXIT_OK;
    }
    const priced = turns.filter((t) => t.costUsd !== null);
    const total = priced.reduce((n, t) => n + (t.costUsd ?? 0), 0);
    writeLine(io.stdout, `session ${sessionId}  proxy ${turns[0]!.proxyId || '-'}  ${turns.length} turn(s)`);
    writeLine(
      io.stdout,
      formatTable(
        ['turn', 'time', 'trace', 'model', 'status', 'latency', 'tokens in/out', 'cost'],
        turns.map((t, i) => [t.turn ? String(t.turn) : `(${i + 1})`, new Date(t.startedAtMs).toISOString().replace('T', ' ').slice(0, 19), t.traceId, t.model || '-', String(t.status || '-'), ms(t.latencyMs), `${t.promptTokens}/${t.completionTokens}`, usd(t.costUsd, t.costUnknown)]),
      ),
    );
    const unpriced = turns.length - priced.length;
    writeLine(io.stdout, `total    tokens ${turns.reduce((n, t) => n + t.promptTokens, 0)}/${turns.reduce((n, t) => n + t.completionTokens, 0)}  cost $${total.toFixed(6)}${unpriced ? ` (+${unpriced} unpriced)` : ''}`);
    return EXIT_OK;
  });
}

async function listSessions(argv: string[], io: CliIo, ctx: TraceSourceContext): Promise<number> {
  const { positionals, values } = parseCommand(argv, {
    proxy: { type: 'string' },
    since: { type: 'string' },
    limit: { type: 'string' },
    clickhouse: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (flag(values, 'help')) {
    writeLine(io.stdout, SESSIONS_HELP);
    return EXIT_OK;
  }
  expectPositionals(positionals, []);
  const limitText = stringOption(values, 'limit') ?? '20';
  if (!/^\d{1,4}$/.test(limitText) || Number(limitText) === 0) throw new UsageError(`--limit must be a number from 1 to 9999 (got '${limitText}')`);
  const now = Date.now();
  const fromMs = sinceOption(values, now, '7d')!;
  const proxy = stringOption(values, 'proxy');
  const { query } = await traceSource(values, ctx);
  const sessions = await query.sessions({ fromMs, toMs: now + 1, limit: Number(limitText), ...(proxy !== undefined ? { proxyId: proxy } : {}) });
  if (flag(values, 'json')) {
    writeJson(io, sessions);
    return EXIT_OK;
  }
  if (sessions.length === 0) {
    writeLine(io.stdout, 'No sessions.');
    return EXIT_OK;
  }
  const time = (t: number) => new Date(t).toISOString().replace('T', ' ').slice(0, 19);
  writeLine(
    io.stdout,
    formatTable(
      ['last active', 'session', 'proxy', 'turns', 'tokens in/out', 'cost', 'first'],
      sessions.map((s) => [time(s.lastMs), s.sessionId, s.proxyId || '-', String(s.turns), `${s.promptTokens}/${s.completionTokens}`, `$${s.costUsd.toFixed(6)}`, time(s.firstMs)]),
    ),
  );
  return EXIT_OK;
}
