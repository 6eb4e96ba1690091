import { summarize } from '../../functions/traces/query.js';
import { EXIT_OK, EXIT_USAGE, expectPositionals, flag, parseCommand, runReportingErrors, UsageError, writeLine, type CliIo } from './args.js';
import { formatTable, writeJson } from './output.js';
import { ms, traceSource, usd, type TraceSourceContext } from './traces.js';

export const SESSIONS_HELP = `Usage: sluice sessions <command> [options]

Commands:
  show <sessionId> [--clickhouse URL] [--json]
                               the session's turns in order, with model, status,
                               latency, tokens and cost, and the totals

Source: the local store (--data-dir, default .sluice) or --clickhouse URL.`;

export async function runSessionsCommand(argv: string[], io: CliIo, ctx: TraceSourceContext): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    writeLine(sub === undefined ? io.stderr : io.stdout, SESSIONS_HELP);
    return sub === undefined ? EXIT_USAGE : EXIT_OK;
  }
  return runReportingErrors(io, `sessions ${sub}`, async () => {
    if (sub !== 'show') throw new UsageError(`unknown command '${sub}' (expected show)`);
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
