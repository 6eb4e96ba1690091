/**
 * The gateway key is hashed once per request (auth) and that hash serves three uses:
 * the trace's keyFingerprint (its first 8 hex characters), the session plugin's link
 * keys, and the identity lookup. Each is checked here against SHA-256 computed in the
 * test with node:crypto. The trace batch a row-reading sink (ClickHouse / Firehose
 * style) receives carries rows built for exactly the record's steps.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessionStore } from '../../../functions/sessions/factory.js';
import type { SessionStore } from '../../../functions/sessions/store.js';
import type { TraceBatch } from '../../../functions/traces/sink.js';
import type { TraceStepRow } from '../../../functions/traces/rows.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../../support/openai-upstream.js';
import { startTestGateway, type TestGateway } from '../../support/gateway.js';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

let upstream: OpenAIUpstream;
let gw: TestGateway;
let sessionsDir: string;
const batches: Array<{ batch: TraceBatch; rows: TraceStepRow[] }> = [];
const links: Array<[string, string]> = [];

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  sessionsDir = await mkdtemp(join(tmpdir(), 'sluice-sessions-'));
  const inner = createSessionStore({ SLUICE_DATA_DIR: sessionsDir })!;
  const sessions: SessionStore = {
    getLink: (key) => inner.getLink(key),
    putLink: (key, id) => {
      links.push([key, id]);
      return inner.putLink(key, id);
    },
    advanceTurn: (input) => inner.advanceTurn(input),
  };
  gw = await startTestGateway({
    upstreamUrl: upstream.url,
    deps: {
      sessions,
      // Reads the rows, as the ClickHouse and Firehose sinks do.
      traceSink: { write: async (batch) => void batches.push({ batch, rows: batch.rows }) },
    },
  });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
  if (sessionsDir) await rm(sessionsDir, { recursive: true, force: true });
});

async function until<T>(get: () => T | undefined): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = get();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('timed out waiting');
}

describe('one hash of the gateway key', () => {
  it("the trace's keyFingerprint is the first 8 hex characters of SHA-256 of the key", async () => {
    const { key, record } = await gw.addKey();
    const client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const { response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'fingerprint me' }] }).withResponse();
    const traceId = response.headers.get('x-sluice-trace-id')!;
    const { batch } = await until(() => batches.find((b) => b.batch.record.traceId === traceId));
    expect(batch.record.attributes.keyFingerprint).toBe(sha256(key).slice(0, 8));
    expect(batch.record.attributes.keyId).toBe(record.id);
    // The secret itself appears nowhere in the trace.
    expect(JSON.stringify(batch.record)).not.toContain(key);
  });

  it('the session link after a chat turn is keyed on SHA-256 of the key and the fingerprint of the conversation', async () => {
    const { key } = await gw.addKey();
    const client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const { response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi there' }] }).withResponse();
    const sessionId = response.headers.get('x-sluice-session-id')!;
    // The upstream answers "You said: <prompt>"; canonical form written by hand (docs/sessions.md).
    const canonical = '[{"content":"hi there","role":"user"},{"content":"You said: hi there","role":"assistant"}]';
    const expectedKey = `chain:${sha256(key)}:${sha256(canonical)}`;
    const link = await until(() => links.find(([k]) => k === expectedKey));
    expect(link[1]).toBe(sessionId);

    // The next turn, resent history included, is found through that link.
    const { response: second } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi there' }, { role: 'assistant', content: 'You said: hi there' }, { role: 'user', content: 'and now?' }] })
      .withResponse();
    expect(second.headers.get('x-sluice-session-id')).toBe(sessionId);
  });
});

describe('trace rows for a sink that reads them', () => {
  it('has one row per step of the record, carrying the trace, key, proxy and session', async () => {
    const { key, record: keyRecord } = await gw.addKey();
    const client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'rows please' }] }).withResponse();
    for await (const _ of stream.data);
    const traceId = stream.response.headers.get('x-sluice-trace-id')!;
    const sessionId = stream.response.headers.get('x-sluice-session-id')!;
    await until(() => batches.find((b) => b.batch.record.traceId === traceId && b.rows.some((r) => r.name === 'request_finished')));
    const mine = batches.filter((b) => b.batch.record.traceId === traceId);
    for (const { batch, rows } of mine) {
      expect(rows.map((r) => r.step_id)).toEqual(batch.record.steps.map((s) => s.stepId));
      expect(rows.map((r) => r.name)).toEqual(batch.record.steps.map((s) => s.name));
      if (batch.rowCount !== undefined) expect(batch.rowCount).toBe(rows.length);
      // Reading the rows again gives the same rows.
      expect(batch.rows).toEqual(rows);
      for (const r of rows) {
        expect(r).toMatchObject({ trace_id: traceId, key_id: keyRecord.id, proxy_id: 'test', org_id: 'org-test', session_id: sessionId });
      }
    }
    const all = mine.flatMap((b) => b.rows);
    expect(all[0]!.name).toBe('request_received');
    expect(all.filter((r) => r.name === 'request_finished')).toHaveLength(1);
    const finished = all.find((r) => r.name === 'request_finished')!;
    expect(finished.status).toBe(200);
    expect(finished.model_requested).toBe('gpt-4o-mini');
    expect(new Set(all.map((r) => r.step_id)).size).toBe(all.length);
  });
});
