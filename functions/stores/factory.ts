import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoControlStore } from './dynamodb-store.js';
import { ControlStoreError } from './errors.js';
import { FileControlStore } from './file-store.js';
import type { ControlStore } from './types.js';

export const DEFAULT_DATA_DIR = '.sluice';

/**
 * The control store the environment asks for:
 * - `SLUICE_STORE=file` (default): the embedded store under `SLUICE_DATA_DIR` (default `.sluice`);
 * - `SLUICE_STORE=dynamodb`: the table `SLUICE_CONTROL_TABLE` in `AWS_REGION`
 *   (the SDK also honours `AWS_ENDPOINT_URL_DYNAMODB`, e.g. for dynalite).
 */
export function createControlStore(env: NodeJS.ProcessEnv, client?: DynamoDBClient): ControlStore {
  const kind = env.SLUICE_STORE?.trim() || 'file';
  switch (kind) {
    case 'file':
      return new FileControlStore({ dataDir: env.SLUICE_DATA_DIR?.trim() || DEFAULT_DATA_DIR });
    case 'dynamodb': {
      const tableName = env.SLUICE_CONTROL_TABLE?.trim();
      if (!tableName) throw new ControlStoreError('SLUICE_STORE=dynamodb needs SLUICE_CONTROL_TABLE (the control table name)');
      const region = env.AWS_REGION?.trim();
      return new DynamoControlStore({ client: client ?? new DynamoDBClient(region ? { region } : {}), tableName });
    }
    default:
      throw new ControlStoreError(`SLUICE_STORE must be "file" or "dynamodb", not "${kind}"`);
  }
}
