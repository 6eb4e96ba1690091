import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sharedLocalIndex } from '../../../functions/traces/local-index.js';
import { localTraceQuery } from '../../../functions/traces/query.js';
import { readTraceTail } from '../../../functions/traces/tail-read.js';
import { decodeCursor } from '../../../functions/traces/trace-list.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const HOUR = 3_600_000;

/** One finished trace as the writer appends it: a JSON line with a request_finished step. */
function line(traceId: string, startedAtMs: number, proxyId = 'app', pad = 0): string {
  return `${JSON.stringify({
    traceId,
    startedAt: new Date(startedAtMs).toISOString(),
    sessionId: `s-${traceId}`,
    properties: {},
    attributes: { orgId: 'org-a', proxyId, keyId: 'k1', endpoint: 'chat.completions', modelRequested: 'gpt-4o-mini', status: 200 },
    steps: [
      { stepId: `${traceId}-r`, name: 'request_received', offsetMs: 0, attributes: pad ? { requestBody: 'x'.repeat(pad) } : {} },
      { stepId: `${traceId}-f`, name: 'request_finished', offsetMs: 5, durationMs: 5, attributes: {} },
    ],
  })}\n`;
}

async function store(): Promise<{ dataDir: string; dir: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-tail-'));
  dirs.push(dataDir);
  const dir = join(dataDir, 'traces');
  await mkdir(dir);
  return { dataDir, dir };
}

describe('readTraceTail', () => {
  it('reads the newest day file first and is complete when the budget covers every file', async () => {
    const { dir } = await store();
    const now = Date.parse('2026-12-07T12:00:00Z');
    await writeFile(join(dir, '2026-12-06.jsonl'), line('t-old', now - 24 * HOUR));
    await writeFile(join(dir, '2026-12-07.jsonl'), line('t-1', now - 2000) + '{"cut by a cra' + '\n' + line('t-2', now - 1000));
    const tail = await readTraceTail(dir, 1 << 20);
    expect(tail.complete).toBe(true);
    expect(tail.items.map((t) => t.traceId)).toEqual(['t-1', 't-2', 't-old']);
    expect(tail.items[1]).toMatchObject({ proxyId: 'app', orgId: 'org-a', status: 200, startedAtMs: now - 1000 });
  });

  it('reads at most maxBytes from the end, skips the line its start cuts, and says it is not complete', async () => {
    const { dir } = await store();
    const now = Date.parse('2026-12-07T12:00:00Z');
    const lines = Array.from({ length: 10 }, (_, i) => line(`t-${i}`, now - (10 - i) * 1000));
    await writeFile(join(dir, '2026-12-07.jsonl'), lines.join(''));
    // The last three lines whole, and most of the fourth from the end (cut: skipped).
    const budget = lines.slice(7).join('').length + lines[6]!.length - 3;
    const tail = await readTraceTail(dir, budget);
    expect(tail.complete).toBe(false);
    expect(tail.items.map((t) => t.traceId)).toEqual(['t-7', 't-8', 't-9']);
  });

  it('is empty and complete when there is no trace directory', async () => {
    expect(await readTraceTail(join(tmpdir(), 'sluice-tail-none', String(process.pid)), 1024)).toEqual({ items: [], complete: true });
  });
});

describe('localTraceQuery.list during the first index build', () => {
  it('answers from the end of the newest files without waiting for the build, marked partial; after the build, the full list', async () => {
    const { dataDir, dir } = await store();
    const now = Date.now();
    // An older day file big enough that the build reads it in several 8 MiB chunks.
    const old = Array.from({ length: 400 }, (_, i) => line(`old-${i}`, now - 30 * HOUR + i, 'app', 64 * 1024)).join('');
    await writeFile(join(dir, '2000-01-01.jsonl'), old);
    const today = new Date(now).toISOString().slice(0, 10);
    for (let i = 0; i < 5; i++) await appendFile(join(dir, `${today}.jsonl`), line(`new-${i}`, now - 5000 + i * 1000, i % 2 ? 'other' : 'app'));

    const query = localTraceQuery(dataDir, 64 * 1024);
    let built = false;
    const build = sharedLocalIndex(dir)
      .refresh()
      .then(() => {
        built = true;
      });
    const page = await query.list({ fromMs: now - HOUR, toMs: now + 1, limit: 2, proxyId: 'app' });
    expect(built).toBe(false);
    expect(page.partial).toBe(true);
    expect(page.traces.map((t) => t.traceId)).toEqual(['new-4', 'new-2']);
    // The key-set cursor works on the partial list too.
    const next = await query.list({ fromMs: now - HOUR, toMs: now + 1, limit: 2, proxyId: 'app', after: decodeNext(page.next) });
    expect(next.traces.map((t) => t.traceId)).toEqual(['new-0']);

    await build;
    const full = await query.list({ fromMs: now - 31 * HOUR, toMs: now + 1, limit: 200 });
    expect(full.partial).toBeUndefined();
    expect(full.traces).toHaveLength(200);
    expect(full.traces.slice(0, 5).map((t) => t.traceId)).toEqual(['new-4', 'new-3', 'new-2', 'new-1', 'new-0']);
  });

  it('a complete tail (every file read whole) is not marked partial', async () => {
    const { dataDir, dir } = await store();
    const now = Date.now();
    await writeFile(join(dir, `${new Date(now).toISOString().slice(0, 10)}.jsonl`), line('only', now - 1000));
    const query = localTraceQuery(dataDir);
    const build = sharedLocalIndex(dir).refresh();
    const page = await query.list({ fromMs: now - HOUR, toMs: now + 1, limit: 50 });
    await build;
    expect(page.partial).toBeUndefined();
    expect(page.traces.map((t) => t.traceId)).toEqual(['only']);
  });
});

function decodeNext(next: string | undefined) {
  const cursor = next === undefined ? undefined : decodeCursor(next);
  expect(cursor).toBeDefined();
  return cursor!;
}
