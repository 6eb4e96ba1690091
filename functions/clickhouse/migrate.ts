import type { ClickHouseClient, SchemaVariant } from './client.js';
import { MIGRATIONS, type Migration } from './migrations/index.js';

export const MIGRATIONS_TABLE = 'sluice_schema_migrations';

export interface MigrationResult {
  serverVersion: string;
  variant: SchemaVariant;
  applied: number[];
  alreadyApplied: number[];
}

/**
 * Applies the pending migrations in version order, each in the layout the server's
 * version calls for, and records them. Re-running applies nothing new.
 */
export async function migrate(client: ClickHouseClient, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrationResult> {
  const serverVersion = await client.serverVersion();
  const variant = await client.variant();
  await client.exec(
    `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (version UInt32, name String, variant String, applied_at DateTime) ENGINE = MergeTree ORDER BY version`,
  );
  const done = new Set((await client.select<{ version: number }>(`SELECT version FROM ${MIGRATIONS_TABLE}`)).map((r) => Number(r.version)));
  const applied: number[] = [];
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(migration.version)) continue;
    for (const statement of migration[variant]) await client.exec(statement);
    await client.insertJsonEachRow(MIGRATIONS_TABLE, [
      { version: migration.version, name: migration.name, variant, applied_at: Math.floor(Date.now() / 1000) },
    ]);
    applied.push(migration.version);
  }
  return { serverVersion, variant, applied, alreadyApplied: [...done].sort((a, b) => a - b) };
}
