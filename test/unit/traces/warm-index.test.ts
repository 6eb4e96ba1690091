import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sharedLocalIndex } from '../../../functions/traces/local-index.js';
import { warmLocalTraceIndex } from '../../../functions/traces/warm-index.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('warmLocalTraceIndex', () => {
  it('reads the local trace files into the shared index before any query', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'sluice-warm-'));
    dirs.push(dataDir);
    await mkdir(join(dataDir, 'traces'));
    await writeFile(join(dataDir, 'traces', '2026-12-07.jsonl'), `${JSON.stringify({ traceId: 't-warm', steps: [] })}\n`);
    const index = sharedLocalIndex(join(dataDir, 'traces'));
    expect(index.locations('t-warm')).toHaveLength(0);
    await warmLocalTraceIndex({ SLUICE_DATA_DIR: dataDir });
    expect(index.locations('t-warm')).toHaveLength(1);
  });

  it('does nothing when traces are read from ClickHouse', () => {
    expect(warmLocalTraceIndex({ SLUICE_CLICKHOUSE_READER_URL: 'http://u:p@127.0.0.1:8123/' })).toBeUndefined();
    expect(warmLocalTraceIndex({ SLUICE_CLICKHOUSE_READER_SECRET_ARN: 'arn:aws:secretsmanager:x' })).toBeUndefined();
  });

  it('never rejects (a missing data directory is an empty index)', async () => {
    await expect(warmLocalTraceIndex({ SLUICE_DATA_DIR: join(tmpdir(), 'sluice-warm-none', String(Date.now())) })).resolves.toBeUndefined();
  });
});
