/**
 * The trace query layer behind the console and the CLI, on both backends: the local
 * JSONL store (through its in-memory index) and a real clickhouse-server read as a
 * read-only user. The same records go into both; every answer is checked against
 * expectations computed here from the records' known times and values.
 */
import { appendFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseClient } from '../../functions/clickhouse/client.js';
import { migrate } from '../../functions/clickhouse/migrate.js';
import { TRACE_STEPS_TABLE } from '../../functions/traces/clickhouse-sink.js';
import { localTraceQuery, type TraceQuery } from '../../functions/traces/query.js';
import { traceReaderFromEnv, readerUrlFromSecret } from '../../functions/traces/reader-from-env.js';
import type { TraceRecord } from '../../functions/traces/recorder.js';
import { encodeRow, stepRows } from '../../functions/traces/rows.js';
import { decodeCursor, type TraceListQuery } from '../../functions/traces/trace-list.js';
import { READER_PASSWORD, READER_USER, startClickHouse, type RunningClickHouse } from '../support/clickhouse.js';

const T0 = Date.UTC(2026, 11, 7, 10, 0, 0);
const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

interface Spec {
  n: number;
  atMs: number;
  proxy: string;
  org: string;
  key: string;
  model: string;
  status: number;
  session: number;
  cost: number;
  tenant?: string;
}

/** 60 traces, one a minute from T0, over two proxies, three sessions and a few statuses; two share a start time. */
const SPECS: Spec[] = Array.from({ length: 60 }, (_, i) => ({
  n: i + 1,
  atMs: T0 + (i === 31 ? 30 : i) * 60_000 + 123,
  proxy: i % 3 === 0 ? 'beta' : 'alpha',
  org: i % 3 === 0 ? 'org-b' : 'org-a',
  key: `key_${i % 2 ? 'odd' : 'even'}000000`,
  model: i % 4 === 0 ? 'gpt-4o' : 'gpt-4o-mini',
  status: i % 10 === 9 ? 429 : i % 15 === 14 ? 502 : 200,
  session: (i % 3) + 1,
  cost: (i + 1) / 1000,
  ...(i % 5 === 0 ? { tenant: 'acme' } : {}),
}));

function recordOf(s: Spec): TraceRecord {
  return {
    traceId: uuid(s.n),
    startedAt: new Date(s.atMs).toISOString(),
    sessionId: uuid(1000 + s.session),
    properties: s.tenant ? { tenant: s.tenant } : {},
    attributes: {
      orgId: s.org,
      proxyId: s.proxy,
      keyId: s.key,
      endpoint: 'chat.completions',
      provider: 'openai',
      modelRequested: s.model,
      modelResolved: s.model,
      status: s.status,
      latencyMs: 40.5,
      usage: { promptTokens: 10, completionTokens: s.n, totalTokens: 10 + s.n },
      cost: { usd: s.cost, unknown: false, pricingVersion: 'test' },
    },
    steps: [
      { stepId: `${uuid(s.n)}-r`, name: 'request_received', offsetMs: 0, attributes: { requestBody: `{"n":${s.n}}` } },
      { stepId: `${uuid(s.n)}-l`, name: 'llm', offsetMs: 1.25, durationMs: 38.75, attributes: {} },
      { stepId: `${uuid(s.n)}-f`, name: 'request_finished', offsetMs: 40.5, attributes: { responseBody: `answer ${s.n}` } },
    ],
  };
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
let dataDir: string;
let ch: RunningClickHouse;
const backends: Record<string, TraceQuery> = {};

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'sluice-reader-'));
  await mkdir(join(dataDir, 'traces'), { recursive: true });
  // The first half now; the rest appended after the index was built (below).
  for (const s of SPECS.slice(0, 30)) await appendFile(join(dataDir, 'traces', `${day(s.atMs)}.jsonl`), JSON.stringify(recordOf(s)) + '\n');
  backends.local = localTraceQuery(dataDir);
  await backends.local.list({ fromMs: T0, toMs: T0 + 3_600_000, limit: 1 });
  for (const s of SPECS.slice(30)) await appendFile(join(dataDir, 'traces', `${day(s.atMs)}.jsonl`), JSON.stringify(recordOf(s)) + '\n');
  // A line cut by a crash is skipped.
  await appendFile(join(dataDir, 'traces', `${day(T0)}.jsonl`), '{"traceId":"cut');

  ch = await startClickHouse();
  const admin = new ClickHouseClient({ url: ch.url });
  await migrate(admin);
  const variant = await admin.variant();
  await admin.insertJsonEachRow(TRACE_STEPS_TABLE, SPECS.flatMap((s) => stepRows(recordOf(s)).map((r) => encodeRow(r, variant))));
  admin.close();
  const reader = new URL(ch.url);
  reader.username = READER_USER;
  reader.password = READER_PASSWORD;
  const source = traceReaderFromEnv({ SLUICE_CLICKHOUSE_READER_URL: reader.toString() }, async () => {
    throw new Error('no secret');
  });
  expect(source.kind).toBe('clickhouse');
  backends.clickhouse = await source.query();
}, 60_000);

afterAll(async () => {
  await ch?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const HOUR: Pick<TraceListQuery, 'fromMs' | 'toMs'> = { fromMs: T0, toMs: T0 + 3_600_000 };
/** Newest first, ties by trace id descending: the order the contract promises. */
const expected = (pred: (s: Spec) => boolean) =>
  SPECS.filter(pred)
    .sort((a, b) => b.atMs - a.atMs || (uuid(a.n) < uuid(b.n) ? 1 : -1))
    .map((s) => uuid(s.n));

describe.each(['local', 'clickhouse'])('trace reader: %s', (name) => {
  const q = () => backends[name]!;

  it('pages newest first by key set, every trace exactly once, including a tie on the start time', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await q().list({ ...HOUR, limit: 7, ...(after ? { after: decodeCursor(after)! } : {}) });
      expect(page.traces.length).toBeLessThanOrEqual(7);
      seen.push(...page.traces.map((t) => t.traceId));
      after = page.next;
      pages++;
    } while (after && pages < 20);
    expect(seen).toEqual(expected(() => true));
    expect(pages).toBe(9); // 60 rows: 8 full pages and 4 rows
  });

  it('keeps the time range: [from, to)', async () => {
    const page = await q().list({ fromMs: T0 + 10 * 60_000, toMs: T0 + 20 * 60_000 + 123, limit: 200 });
    expect(page.traces.map((t) => t.traceId)).toEqual(expected((s) => s.atMs >= T0 + 600_000 && s.atMs < T0 + 1_200_123));
    expect(page.next).toBeUndefined();
  });

  it('filters by proxy, key, model, status, session, property and org', async () => {
    const ids = async (f: Partial<TraceListQuery>) => (await q().list({ ...HOUR, limit: 200, ...f })).traces.map((t) => t.traceId);
    expect(await ids({ proxyId: 'beta' })).toEqual(expected((s) => s.proxy === 'beta'));
    expect(await ids({ keyId: 'key_odd000000' })).toEqual(expected((s) => s.key === 'key_odd000000'));
    expect(await ids({ model: 'gpt-4o' })).toEqual(expected((s) => s.model === 'gpt-4o'));
    expect(await ids({ status: { code: 429 } })).toEqual(expected((s) => s.status === 429));
    expect(await ids({ status: { from: 500, to: 599 } })).toEqual(expected((s) => s.status >= 500));
    expect(await ids({ sessionId: uuid(1002) })).toEqual(expected((s) => s.session === 2));
    expect(await ids({ property: { key: 'tenant', value: 'acme' } })).toEqual(expected((s) => s.tenant === 'acme'));
    expect(await ids({ orgId: 'org-a', model: 'gpt-4o' })).toEqual(expected((s) => s.org === 'org-a' && s.model === 'gpt-4o'));
  });

  it('reads one trace with its bodies, and refuses it to another org', async () => {
    const rows = await q().trace(uuid(5));
    expect(rows.map((r) => r.name)).toEqual(['request_received', 'llm', 'request_finished']);
    expect(rows[0]!.request_body).toBe('{"n":5}');
    expect(rows[2]!.response_body).toBe('answer 5');
    expect(await q().trace(uuid(5), { orgId: 'org-b' })).toEqual([]);
    expect(await q().trace(uuid(999))).toEqual([]);
  });

  it('lists sessions and sums spend in the range', async () => {
    const sessions = await q().sessions({ ...HOUR, limit: 10 });
    expect(sessions.map((s) => s.sessionId).sort()).toEqual([uuid(1001), uuid(1002), uuid(1003)]);
    const s2 = sessions.find((s) => s.sessionId === uuid(1002))!;
    expect(s2.turns).toBe(20);
    expect(s2.costUsd).toBeCloseTo(SPECS.filter((s) => s.session === 2).reduce((n, s) => n + s.cost, 0), 9);
    const byProxy = await q().spendIn(HOUR, 'proxy');
    expect(byProxy.map((l) => [l.group, l.requests])).toEqual([
      ['alpha', 40],
      ['beta', 20],
    ]);
    const byHour = await q().spendIn(HOUR, 'hour');
    expect(byHour).toHaveLength(1);
    expect(byHour[0]!.group).toBe('2026-12-07T10:00Z');
    expect(byHour[0]!.completionTokens).toBe(SPECS.reduce((n, s) => n + s.n, 0));
  });
});

it('the ClickHouse reader user cannot write', async () => {
  const reader = new URL(ch.url);
  reader.username = READER_USER;
  reader.password = READER_PASSWORD;
  const client = new ClickHouseClient({ url: reader.toString() });
  await expect(client.exec(`INSERT INTO ${TRACE_STEPS_TABLE} (step_id) VALUES ('x')`)).rejects.toThrow(/readonly|Cannot execute query in readonly mode/i);
  client.close();
});

it('reads the reader URL from a secret: a URL or JSON with url, username and password', () => {
  expect(readerUrlFromSecret('https://u:p@ch.example:8443/?database=sluice')).toBe('https://u:p@ch.example:8443/?database=sluice');
  expect(readerUrlFromSecret(JSON.stringify({ url: 'https://ch.example:8443/?database=sluice', username: 'sluice_reader', password: 'p@ss/word' }))).toBe(
    'https://sluice_reader:p%40ss%2Fword@ch.example:8443/?database=sluice',
  );
  expect(() => readerUrlFromSecret('{"user":"x"}')).toThrow(/no "url"/);
});

it('without a reader configured, reads the local store', async () => {
  const source = traceReaderFromEnv({ SLUICE_DATA_DIR: dataDir }, async () => '');
  expect(source.kind).toBe('local');
  expect((await (await source.query()).list({ ...HOUR, limit: 1 })).traces[0]!.traceId).toBe(expected(() => true)[0]);
});

