import type { SpendGrouping } from '../../functions/traces/query.js';
import { EXIT_OK, expectPositionals, flag, parseCommand, runReportingErrors, stringOption, UsageError, writeLine, type CliIo } from './args.js';
import { formatTable, writeJson } from './output.js';
import { sinceOption, traceSource, type TraceSourceContext } from './traces.js';

export const SPEND_HELP = `Usage: sluice spend [--by key|proxy|model|day] [--since 30d] [--proxy ID] [--clickhouse URL] [--json]

Sums cost and tokens from the traces (one per request), grouped (default: proxy) over
a window (default: 30d). Requests on models without a price are counted as unpriced,
never as $0.

Source: the local store (--data-dir, default .sluice) or --clickhouse URL.`;

const GROUPINGS: readonly SpendGrouping[] = ['key', 'proxy', 'model', 'day'];

export async function runSpendCommand(argv: string[], io: CliIo, ctx: TraceSourceContext): Promise<number> {
  return runReportingErrors(io, 'spend', async () => {
    const { positionals, values } = parseCommand(argv, {
      by: { type: 'string' },
      since: { type: 'string' },
      proxy: { type: 'string' },
      clickhouse: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (flag(values, 'help')) {
      writeLine(io.stdout, SPEND_HELP);
      return EXIT_OK;
    }
    expectPositionals(positionals, []);
    const by = (stringOption(values, 'by') ?? 'proxy') as SpendGrouping;
    if (!GROUPINGS.includes(by)) throw new UsageError(`--by must be one of ${GROUPINGS.join(', ')} (got '${by}')`);
    const sinceMs = sinceOption(values, Date.now(), '30d')!;
    const proxy = stringOption(values, 'proxy');
    const { query } = await traceSource(values, ctx);
    const lines = await query.spend({ sinceMs, ...(proxy !== undefined ? { proxyId: proxy } : {}) }, by);
    if (flag(values, 'json')) {
      writeJson(io, { by, since: new Date(sinceMs).toISOString(), lines });
      return EXIT_OK;
    }
    if (lines.length === 0) {
      writeLine(io.stdout, 'No traced requests in this window.');
      return EXIT_OK;
    }
    writeLine(io.stdout, formatTable([by, 'requests', 'tokens in', 'tokens out', 'cost', 'unpriced'], lines.map((l) => [l.group, String(l.requests), String(l.promptTokens), String(l.completionTokens), `$${l.costUsd.toFixed(6)}`, String(l.unpriced)])));
    const total = lines.reduce((n, l) => n + l.costUsd, 0);
    writeLine(io.stdout, `total: $${total.toFixed(6)} over ${lines.reduce((n, l) => n + l.requests, 0)} request(s) since ${new Date(sinceMs).toISOString()}`);
    return EXIT_OK;
  });
}
