/**
 * The session store contract — turn counter (atomic, idempotent per trace, sliding
 * 30-minute window, proxy-scoped) and links — run against both implementations:
 * DynamoDB on dynalite (the state table as the stack defines it) and the file store.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoSessionStore, sessionPk } from '../../functions/sessions/dynamodb-session-store.js';
import { FileSessionStore } from '../../functions/sessions/file-session-store.js';
import { MAX_REMEMBERED_TRACES, type SessionStore } from '../../functions/sessions/store.js';
import { createSluiceTables, localDynamoClient, startDynalite, type RunningDynalite } from '../support/dynalite.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 1);

let dynalite: RunningDynalite;
let client: DynamoDBClient;
let stateTable: string;
let dataDir: string;

beforeAll(async () => {
  dynalite = await startDynalite();
  client = localDynamoClient(dynalite.endpoint);
  ({ stateTable } = await createSluiceTables(client));
  dataDir = await mkdtemp(join(tmpdir(), 'sluice-sessions-'));
});
afterAll(async () => {
  client?.destroy();
  await dynalite?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** A store with its own clock; every test uses fresh session ids. */
type Make = () => { store: SessionStore; clock: { now: number } };
let fileStores = 0;
const implementations: [string, Make][] = [
  [
    'DynamoDB (dynalite)',
    () => {
      const clock = { now: T0 };
      return { store: new DynamoSessionStore({ client, tableName: stateTable, now: () => clock.now }), clock };
    },
  ],
  [
    'file',
    () => {
      const clock = { now: T0 };
      return { store: new FileSessionStore({ dataDir: join(dataDir, String(++fileStores)), now: () => clock.now }), clock };
    },
  ],
];

const id = () => crypto.randomUUID();

describe.each(implementations)('session store: %s', (_name, make) => {
  it('counts turns 1..n for the owning proxy', async () => {
    const { store, clock } = make();
    const sessionId = id();
    const turns: number[] = [];
    for (let i = 0; i < 4; i++) {
      clock.now += MINUTE;
      const r = await store.advanceTurn({ sessionId, proxyId: 'p1', traceId: id() });
      if (r.owned) turns.push(r.turn);
    }
    expect(turns).toEqual([1, 2, 3, 4]);
  });

  it('is idempotent per trace id: a retried write returns the first turn and counts nothing', async () => {
    const { store } = make();
    const sessionId = id();
    const t1 = id();
    const t2 = id();
    expect(await store.advanceTurn({ sessionId, proxyId: 'p1', traceId: t1 })).toEqual({ owned: true, turn: 1 });
    expect(await store.advanceTurn({ sessionId, proxyId: 'p1', traceId: t2 })).toEqual({ owned: true, turn: 2 });
    expect(await store.advanceTurn({ sessionId, proxyId: 'p1', traceId: t1 })).toEqual({ owned: true, turn: 1 });
    expect(await store.advanceTurn({ sessionId, proxyId: 'p1', traceId: t2 })).toEqual({ owned: true, turn: 2 });
    expect(await store.advanceTurn({ sessionId, proxyId: 'p1', traceId: id() })).toEqual({ owned: true, turn: 3 });
  });

  it('concurrent turns of one session get distinct consecutive numbers, new session included', async () => {
    const { store } = make();
    const sessionId = id();
    const results = await Promise.all(Array.from({ length: 20 }, () => store.advanceTurn({ sessionId, proxyId: 'p1', traceId: id() })));
    const turns = results.map((r) => (r.owned ? r.turn : -1)).sort((a, b) => a - b);
    expect(turns).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('a fresh id starts at 1; a fresh hint on an existing session still counts it correctly', async () => {
    const { store } = make();
    const sessionId = id();
    const traceId = id();
    expect(await store.advanceTurn({ sessionId, proxyId: 'p1', traceId, fresh: true })).toEqual({ owned: true, turn: 1 });
    expect(await store.advanceTurn({ sessionId, proxyId: 'p1', traceId, fresh: true })).toEqual({ owned: true, turn: 1 }); // retried
    expect(await store.advanceTurn({ sessionId, proxyId: 'p1', traceId: id(), fresh: true })).toEqual({ owned: true, turn: 2 });
    expect(await store.advanceTurn({ sessionId, proxyId: 'p2', traceId: id(), fresh: true })).toEqual({ owned: false });
  });

  it('concurrent retries of one trace count once', async () => {
    const { store } = make();
    const sessionId = id();
    await store.advanceTurn({ sessionId, proxyId: 'p1', traceId: id() });
    const traceId = id();
    const results = await Promise.all(Array.from({ length: 8 }, () => store.advanceTurn({ sessionId, proxyId: 'p1', traceId })));
    expect(new Set(results.map((r) => (r.owned ? r.turn : -1)))).toEqual(new Set([2]));
    expect(await store.advanceTurn({ sessionId, proxyId: 'p1', traceId: id() })).toEqual({ owned: true, turn: 3 });
  });

  it('the 30-minute window slides with each turn and the counter restarts after it lapses', async () => {
    const { store, clock } = make();
    const sessionId = id();
    const turn = async () => {
      const r = await store.advanceTurn({ sessionId, proxyId: 'p1', traceId: id() });
      return r.owned ? r.turn : -1;
    };
    expect(await turn()).toBe(1);
    clock.now += 29 * MINUTE;
    expect(await turn()).toBe(2);
    clock.now += 29 * MINUTE; // 58 minutes after the first turn, 29 after the last
    expect(await turn()).toBe(3);
    clock.now += 30 * MINUTE; // exactly the window: lapsed
    expect(await turn()).toBe(1);
    expect(await turn()).toBe(2);
  });

  it('a session owned by another proxy is refused, also after its turn window lapsed', async () => {
    const { store, clock } = make();
    const sessionId = id();
    expect(await store.advanceTurn({ sessionId, proxyId: 'p1', traceId: id() })).toEqual({ owned: true, turn: 1 });
    expect(await store.advanceTurn({ sessionId, proxyId: 'p2', traceId: id() })).toEqual({ owned: false });
    clock.now += 45 * MINUTE;
    expect(await store.advanceTurn({ sessionId, proxyId: 'p2', traceId: id() })).toEqual({ owned: false });
    expect(await store.advanceTurn({ sessionId, proxyId: 'p1', traceId: id() })).toEqual({ owned: true, turn: 1 });
  });

  it('concurrent first turns from two proxies: exactly one proxy owns the session', async () => {
    const { store } = make();
    const sessionId = id();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => store.advanceTurn({ sessionId, proxyId: i % 2 ? 'p1' : 'p2', traceId: id() }).then((r) => ({ proxy: i % 2 ? 'p1' : 'p2', r }))),
    );
    const owners = new Set(results.filter((x) => x.r.owned).map((x) => x.proxy));
    expect(owners.size).toBe(1);
    expect(results.filter((x) => x.r.owned)).toHaveLength(5);
  });

  it('links: get what was put, replace, and forget after the retention period', async () => {
    const { store, clock } = make();
    const key = `chain:${id()}:abc`;
    expect(await store.getLink(key)).toBeUndefined();
    await store.putLink(key, 's1');
    expect(await store.getLink(key)).toBe('s1');
    await store.putLink(key, 's2');
    expect(await store.getLink(key)).toBe('s2');
    clock.now += 7 * 24 * 60 * MINUTE + 1000;
    expect(await store.getLink(key)).toBeUndefined();
  });

  it('remembers a bounded number of trace ids and stays idempotent for recent ones', async () => {
    const { store } = make();
    const sessionId = id();
    const traces = Array.from({ length: MAX_REMEMBERED_TRACES + 6 }, () => id());
    for (const traceId of traces) await store.advanceTurn({ sessionId, proxyId: 'p1', traceId });
    const last = traces.at(-1)!;
    expect(await store.advanceTurn({ sessionId, proxyId: 'p1', traceId: last })).toEqual({ owned: true, turn: traces.length });
    expect(await store.advanceTurn({ sessionId, proxyId: 'p1', traceId: id() })).toEqual({ owned: true, turn: traces.length + 1 });
  });
});

describe('DynamoDB specifics', () => {
  it('items past their ttl are ignored, though DynamoDB has not deleted them yet', async () => {
    const now = T0;
    const store = new DynamoSessionStore({ client, tableName: stateTable, now: () => now });
    const sessionId = id();
    const past = Math.floor(now / 1000) - 60;
    // A stale counter of another proxy and a stale link, as DynamoDB may keep them for days.
    await client.send(
      new PutItemCommand({
        TableName: stateTable,
        Item: {
          pk: { S: sessionPk(sessionId) },
          sk: { S: 'turn' },
          proxyId: { S: 'p-old' },
          turn: { N: '41' },
          expiresAt: { N: String(now + MINUTE) },
          ttl: { N: String(past) },
          turns: { M: {} },
        },
      }),
    );
    await client.send(new PutItemCommand({ TableName: stateTable, Item: { pk: { S: 'chain:k:stale' }, sk: { S: 'link' }, sessionId: { S: 'old' }, ttl: { N: String(past) } } }));
    expect(await store.getLink('chain:k:stale')).toBeUndefined();
    expect(await store.advanceTurn({ sessionId, proxyId: 'p1', traceId: id() })).toEqual({ owned: true, turn: 1 });
  });

  it('the counter item: ADDed turn, sliding expiresAt, ttl in epoch seconds, a bounded trace map', async () => {
    const clock = { now: T0 };
    const store = new DynamoSessionStore({ client, tableName: stateTable, now: () => clock.now });
    const sessionId = id();
    for (let i = 0; i < MAX_REMEMBERED_TRACES + 1; i++) {
      clock.now += 1000;
      await store.advanceTurn({ sessionId, proxyId: 'p1', traceId: id() });
    }
    const out = await client.send(new GetItemCommand({ TableName: stateTable, Key: { pk: { S: sessionPk(sessionId) }, sk: { S: 'turn' } }, ConsistentRead: true }));
    const item = out.Item!;
    expect(item.turn?.N).toBe(String(MAX_REMEMBERED_TRACES + 1));
    expect(Number(item.expiresAt?.N)).toBe(clock.now + 30 * MINUTE);
    expect(Number(item.ttl?.N)).toBe(Math.ceil((clock.now + 7 * 24 * 60 * MINUTE) / 1000));
    expect(Object.keys(item.turns?.M ?? {}).length).toBeLessThanOrEqual(MAX_REMEMBERED_TRACES);
  });
});

describe('file store specifics', () => {
  it('journaled: a new process on the same data dir continues the counters, ownership and links', async () => {
    const dir = join(dataDir, 'restart');
    const first = new FileSessionStore({ dataDir: dir });
    const sessionId = id();
    const retried = id();
    await first.advanceTurn({ sessionId, proxyId: 'p1', traceId: retried });
    await first.advanceTurn({ sessionId, proxyId: 'p1', traceId: id() });
    await first.putLink('chain:k:h', sessionId);
    await first.close();
    const lines = (await readFile(join(dir, 'sessions.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { op: string });
    expect(lines.map((l) => l.op)).toEqual(['turn', 'turn', 'link']);
    const second = new FileSessionStore({ dataDir: dir });
    expect(await second.getLink('chain:k:h')).toBe(sessionId);
    expect(await second.advanceTurn({ sessionId, proxyId: 'p1', traceId: retried })).toEqual({ owned: true, turn: 1 });
    expect(await second.advanceTurn({ sessionId, proxyId: 'p1', traceId: id() })).toEqual({ owned: true, turn: 3 });
    expect(await second.advanceTurn({ sessionId, proxyId: 'p2', traceId: id() })).toEqual({ owned: false });
    await second.close();
    // Opening compacted the journal to one line per record, plus what was appended since.
    const after = (await readFile(join(dir, 'sessions.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { op: string });
    expect(after.map((l) => l.op)).toEqual(['session', 'link', 'turn']);
  });

  it('holds a bounded number of sessions and links: the least recently used is forgotten, in memory and after a restart', async () => {
    const dir = join(dataDir, 'bounded');
    const store = new FileSessionStore({ dataDir: dir, maxEntries: 3 });
    const [a, b, c, d] = [id(), id(), id(), id()];
    for (const s of [a, b, c]) await store.advanceTurn({ sessionId: s, proxyId: 'p1', traceId: id() });
    // a is used again, so b is now the least recently used; d pushes it out.
    expect(await store.advanceTurn({ sessionId: a, proxyId: 'p1', traceId: id() })).toEqual({ owned: true, turn: 2 });
    await store.advanceTurn({ sessionId: d, proxyId: 'p1', traceId: id() });
    expect(await store.advanceTurn({ sessionId: b, proxyId: 'p1', traceId: id() })).toEqual({ owned: true, turn: 1 });
    for (const k of ['k1', 'k2', 'k3', 'k4']) await store.putLink(k, a);
    expect(await store.getLink('k1')).toBeUndefined();
    expect(await store.getLink('k4')).toBe(a);
    await store.close();
    // The journal holds more than the bound; a restart keeps the most recent ones only.
    const again = new FileSessionStore({ dataDir: dir, maxEntries: 3 });
    expect(await again.getLink('k1')).toBeUndefined();
    expect(await again.getLink('k2')).toBe(a);
    expect(await again.advanceTurn({ sessionId: a, proxyId: 'p1', traceId: id() })).toEqual({ owned: true, turn: 3 });
    expect(await again.advanceTurn({ sessionId: c, proxyId: 'p1', traceId: id() })).toEqual({ owned: true, turn: 1 });
    await again.close();
  });

  it('compacts when the journal grows, and replays the compacted journal exactly', async () => {
    const dir = join(dataDir, 'compact');
    const clock = { now: T0 };
    const store = new FileSessionStore({ dataDir: dir, compactBytes: 4096, now: () => clock.now });
    const sessions = [id(), id(), id()];
    for (let i = 0; i < 90; i++) {
      clock.now += 1000;
      await store.advanceTurn({ sessionId: sessions[i % 3]!, proxyId: 'p1', traceId: id() });
      if (i % 10 === 0) await store.idle();
    }
    await store.close();
    expect((await readFile(join(dir, 'sessions.jsonl'))).length).toBeLessThan(4096 + 2000);
    const reopened = new FileSessionStore({ dataDir: dir, now: () => clock.now });
    for (const sessionId of sessions) expect(await reopened.advanceTurn({ sessionId, proxyId: 'p1', traceId: id() })).toEqual({ owned: true, turn: 31 });
    await reopened.close();
  });

  it('a torn last line is ignored; a corrupt line before it is an error naming the file', async () => {
    const dir = join(dataDir, 'torn');
    const store = new FileSessionStore({ dataDir: dir });
    await store.putLink('x', 'y');
    await store.close();
    const file = join(dir, 'sessions.jsonl');
    const good = await readFile(file, 'utf8');
    await writeFile(file, `${good}{"op":"link","key":"z","sess`);
    expect(await new FileSessionStore({ dataDir: dir }).getLink('x')).toBe('y');
    await writeFile(file, `{"op":"li\n${good}`);
    await expect(new FileSessionStore({ dataDir: dir }).getLink('x')).rejects.toThrow(/sessions\.jsonl line 1 is not valid JSON/);
  });

  it('removing the data dir while turns are being written never races with the store', async () => {
    for (let round = 0; round < 20; round++) {
      const dir = await mkdtemp(join(tmpdir(), 'sluice-rm-'));
      const store = new FileSessionStore({ dataDir: dir });
      const sessionId = id();
      await store.advanceTurn({ sessionId, proxyId: 'p1', traceId: id() });
      const more = Array.from({ length: 20 }, () => store.advanceTurn({ sessionId, proxyId: 'p1', traceId: id() }));
      await rm(dir, { recursive: true, force: true }); // what a test harness does at teardown
      expect((await Promise.all(more)).at(-1)).toEqual({ owned: true, turn: 21 });
      await store.close();
    }
  });
});
