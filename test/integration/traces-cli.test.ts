/**
 * `sluice traces|sessions|spend` against what a real gateway recorded: the local JSONL
 * store and ClickHouse (a real clickhouse-server fed by the gateway's ClickHouse sink).
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import OpenAI from 'openai';
import { ClickHouseClient } from '../../functions/clickhouse/client.js';
import { TRACE_STEPS_TABLE } from '../../functions/traces/clickhouse-sink.js';
import { TraceRecorder } from '../../functions/traces/recorder.js';
import { stepRows } from '../../functions/traces/rows.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/commands/cli.js';
import { startClickHouse, type RunningClickHouse } from '../support/clickhouse.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const PRICES = JSON.stringify({ models: { 'gpt-4o-mini': { input: 1, output: 2 } } });
const SESSION = '3c9a2f1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b';

let upstream: OpenAIUpstream;
let ch: RunningClickHouse;
let local: TestGateway;
let remote: TestGateway;

async function cli(args: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (err += t) } }, {});
  return { code, out, err };
}

/** Three turns of one session and one unpriced call; returns the trace ids and usages. */
async function traffic(gw: TestGateway) {
  const client = new OpenAI({ baseURL: `${gw.url}/a/test/openai/v1`, apiKey: gw.key, maxRetries: 0, defaultHeaders: { 'x-sluice-session-id': SESSION } });
  const traces: string[] = [];
  let cost = 0;
  const history: OpenAI.ChatCompletionMessageParam[] = [];
  for (const prompt of ['first question', 'second question here', 'third and last question']) {
    history.push({ role: 'user', content: prompt });
    const { data, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: history }).withResponse();
    history.push({ role: 'assistant', content: data.choices[0]!.message.content });
    traces.push(response.headers.get('x-sluice-trace-id')!);
    cost += (data.usage!.prompt_tokens * 1 + data.usage!.completion_tokens * 2) / 1e6;
  }
  const other = new OpenAI({ baseURL: `${gw.url}/a/test/openai/v1`, apiKey: gw.key, maxRetries: 0 });
  await other.chat.completions.create({ model: 'unpriced-model', messages: [{ role: 'user', content: 'hi' }] });
  return { traces, cost };
}

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  ch = await startClickHouse();
  local = await startTestGateway({ upstreamUrl: upstream.url, env: { SLUICE_PRICING_OVERRIDES: PRICES } });
  remote = await startTestGateway({ upstreamUrl: upstream.url, env: { SLUICE_PRICING_OVERRIDES: PRICES, SLUICE_TRACE_SINK: 'clickhouse', CLICKHOUSE_URL: ch.url } });
});
afterAll(async () => {
  await local?.close();
  await remote?.close();
  await ch?.close();
  await upstream?.close();
});

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.each([
  { name: 'local store', source: () => ['--data-dir', local.dataDir], gw: () => local },
  { name: 'ClickHouse', source: () => ['--clickhouse', ch.url], gw: () => remote },
])('CLI against the $name', ({ name, source, gw }) => {
  let run: { traces: string[]; cost: number };

  beforeAll(async () => {
    if (name === 'ClickHouse') {
      const migrated = await cli(['traces', 'migrate', '--clickhouse', ch.url]);
      expect(migrated.code, migrated.err).toBe(0);
      expect(migrated.out).toMatch(/Applied migration\(s\) 1\./);
    }
    run = await traffic(gw());
    await eventually(() => cli(['traces', 'list', ...source(), '--json']), (r) => (JSON.parse(r.out || '[]') as unknown[]).length >= 4);
  });

  it('traces list: newest first, filtered by session, limited', async () => {
    const all = await cli(['traces', 'list', ...source(), '--json']);
    expect(all.code, all.err).toBe(0);
    const listed = JSON.parse(all.out) as { traceId: string; sessionId: string }[];
    expect(listed).toHaveLength(4);
    const inSession = JSON.parse((await cli(['traces', 'list', ...source(), '--session', SESSION, '--json'])).out) as { traceId: string }[];
    expect(inSession.map((t) => t.traceId)).toEqual([...run.traces].reverse());
    const limited = await cli(['traces', 'list', ...source(), '--limit', '2', '--since', '1h']);
    expect(limited.out.trim().split('\n')).toHaveLength(3);
    expect(limited.out).toMatch(/^TIME\s+TRACE\s+SESSION/);
    expect((await cli(['traces', 'list', ...source(), '--proxy', 'nope'])).out).toBe('No traces.\n');
    expect((await cli(['traces', 'list', ...source(), '--limit', 'x'])).code).toBe(2);
  });

  it('traces show: the step tree with timings, decisions and tokens', async () => {
    const shown = await cli(['traces', 'show', run.traces[1]!, ...source()]);
    expect(shown.code, shown.err).toBe(0);
    expect(shown.out).toContain(`trace    ${run.traces[1]}`);
    expect(shown.out).toContain(`session  ${SESSION}  strategy header`);
    expect(shown.out).toMatch(/model    gpt-4o-mini → gpt-4o-mini \(openai-compatible\)/);
    expect(shown.out).toMatch(/tokens   prompt \d+  completion \d+ .* cost \$0\.\d{6}/);
    for (const step of ['request_received', 'policy', 'intent', 'llm', 'request_finished']) expect(shown.out).toMatch(new RegExp(`\\+\\s*\\d+\\.\\dms  ${step}`));
    const missing = await cli(['traces', 'show', '00000000-0000-4000-8000-000000000000', ...source()]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/no trace/);
  });

  it('sessions show: the turns in order with totals', async () => {
    const shown = await cli(['sessions', 'show', SESSION, ...source()]);
    expect(shown.code, shown.err).toBe(0);
    const order = run.traces.map((t) => shown.out.indexOf(t));
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(shown.out).toMatch(/3 turn\(s\)/);
    expect(shown.out).toContain(`cost $${run.cost.toFixed(6)}`);
  });

  it('sessions list: most recently active first, with turns, tokens and cost', async () => {
    const listed = await cli(['sessions', 'list', ...source(), '--json']);
    expect(listed.code, listed.err).toBe(0);
    const sessions = JSON.parse(listed.out) as { sessionId: string; proxyId: string; turns: number; costUsd: number }[];
    // The unpriced call came last, without a session header: a session of its own, listed first.
    expect(sessions).toHaveLength(2);
    expect(sessions[0]).toMatchObject({ turns: 1, proxyId: 'test' });
    expect(sessions[1]).toMatchObject({ sessionId: SESSION, turns: 3, proxyId: 'test' });
    expect(sessions[1]!.costUsd).toBeCloseTo(run.cost, 12);
    const table = await cli(['sessions', 'list', ...source(), '--limit', '1', '--since', '1h']);
    expect(table.code, table.err).toBe(0);
    expect(table.out).toMatch(/^LAST ACTIVE\s+SESSION\s+PROXY\s+TURNS/);
    expect(table.out.trim().split('\n')).toHaveLength(2);
    expect((await cli(['sessions', 'list', ...source(), '--proxy', 'nope'])).out).toBe('No sessions.\n');
    expect((await cli(['sessions', 'list', ...source(), '--limit', '0'])).code).toBe(2);
    expect((await cli(['sessions', 'list', ...source(), '--since', 'soon'])).code).toBe(2);
  });

  it('spend: sums cost by model and proxy; unpriced requests are counted, not $0', async () => {
    const byModel = JSON.parse((await cli(['spend', '--by', 'model', '--since', '1d', ...source(), '--json'])).out) as { lines: { group: string; requests: number; costUsd: number; unpriced: number }[] };
    const priced = byModel.lines.find((l) => l.group === 'gpt-4o-mini')!;
    expect(priced.requests).toBe(3);
    expect(priced.costUsd).toBeCloseTo(run.cost, 12);
    expect(byModel.lines.find((l) => l.group === 'unpriced-model')).toMatchObject({ requests: 1, costUsd: 0, unpriced: 1 });
    const byProxy = await cli(['spend', ...source()]);
    expect(byProxy.out).toMatch(/^PROXY\s+REQUESTS/);
    expect(byProxy.out).toMatch(/test\s+4\s/);
    expect((await cli(['spend', '--by', 'color', ...source()])).code).toBe(2);
    const byDay = JSON.parse((await cli(['spend', '--by', 'day', ...source(), '--json'])).out) as { lines: { group: string; requests: number; costUsd: number }[] };
    expect(byDay.lines).toHaveLength(1);
    expect(byDay.lines[0]).toMatchObject({ group: new Date().toISOString().slice(0, 10), requests: 4 });
    expect(byDay.lines[0]!.costUsd).toBeCloseTo(run.cost, 12);
    const byKey = JSON.parse((await cli(['spend', '--by', 'key', ...source(), '--json'])).out) as { lines: { group: string; requests: number }[] };
    expect(byKey.lines).toEqual([expect.objectContaining({ group: expect.stringMatching(/^key_/), requests: 4 })]);
  });
});

describe('sluice traces replay-spool', () => {
  it('loads spooled rows into ClickHouse once, deletes the files, and a second run finds nothing', async () => {
    const migrated = await cli(['traces', 'migrate', '--clickhouse', ch.url]);
    expect(migrated.code, migrated.err).toBe(0);
    const rec = new TraceRecorder(crypto.randomUUID(), 0, () => 1, new Date().toISOString());
    rec.step('request_received');
    rec.finish({ status: 200 });
    const rows = stepRows(rec.record);
    const spool = join(local.dataDir, 'traces', 'spool');
    await mkdir(spool, { recursive: true });
    // The same rows twice (two failed attempts spooled), plus a line cut by a crash.
    await writeFile(join(spool, '2026-01-01.jsonl'), `${rows.map((r) => JSON.stringify(r)).join('\n')}\n${JSON.stringify(rows[0])}\n{"step_id":"cut`);
    const replayed = await cli(['traces', 'replay-spool', '--data-dir', local.dataDir, '--clickhouse', ch.url]);
    expect(replayed.code, replayed.err).toBe(0);
    expect(replayed.out).toMatch(/Loaded 3 row\(s\) from 1 spool file\(s\)/);
    expect(await readdir(spool)).toEqual([]);
    const [c] = await new ClickHouseClient({ url: ch.url }).select<{ n: string }>(`SELECT count() AS n FROM ${TRACE_STEPS_TABLE} FINAL WHERE trace_id = '${rec.record.traceId}'`);
    expect(Number(c!.n)).toBe(2);
    expect((await cli(['traces', 'replay-spool', '--data-dir', local.dataDir, '--clickhouse', ch.url])).out).toBe('Nothing spooled.\n');
    expect((await cli(['traces', 'replay-spool', '--data-dir', local.dataDir])).code).toBe(2);
  });
});
