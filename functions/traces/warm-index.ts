import { join } from 'node:path';
import { sharedLocalIndex } from './local-index.js';

/**
 * Starts building the local trace index in the background, so the console's first
 * page after a start does not pay for reading every trace file (2.4 s over 100k traces,
 * bench/results/console.md). Only for the local JSONL store (no ClickHouse reader
 * configured); a request that arrives while the build runs shares it (it waits for
 * the rest, never starts a second one). Returns the build, which never rejects: a
 * failure here is retried by the first query's own refresh.
 */
export function warmLocalTraceIndex(env: NodeJS.ProcessEnv): Promise<void> | undefined {
  if (env.SLUICE_CLICKHOUSE_READER_SECRET_ARN?.trim() || env.SLUICE_CLICKHOUSE_READER_URL?.trim()) return undefined;
  const dataDir = env.SLUICE_DATA_DIR?.trim() || '.sluice';
  return sharedLocalIndex(join(dataDir, 'traces'))
    .refresh()
    .catch(() => undefined);
}
