import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DEFAULT_DATA_DIR } from '../stores/factory.js';
import { DynamoSessionStore } from './dynamodb-session-store.js';
import { FileSessionStore } from './file-session-store.js';
import type { SessionStore } from './store.js';

/**
 * The session store that goes with the control store: the state table
 * (`SLUICE_STATE_TABLE`) when `SLUICE_STORE=dynamodb`, else `sessions.json` under
 * `SLUICE_DATA_DIR`. Undefined when DynamoDB is chosen without a state table name.
 */
export function createSessionStore(env: NodeJS.ProcessEnv, client?: DynamoDBClient): SessionStore | undefined {
  const kind = env.SLUICE_STORE?.trim() || 'file';
  if (kind === 'dynamodb') {
    const tableName = env.SLUICE_STATE_TABLE?.trim();
    if (!tableName) return undefined;
    const region = env.AWS_REGION?.trim();
    return new DynamoSessionStore({ client: client ?? new DynamoDBClient(region ? { region } : {}), tableName });
  }
  return new FileSessionStore({ dataDir: env.SLUICE_DATA_DIR?.trim() || DEFAULT_DATA_DIR });
}
