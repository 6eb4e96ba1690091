import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DEFAULT_DATA_DIR } from '../stores/factory.js';
import { FileAdminStore, type AdminStore } from './admin-store.js';
import { DynamoAdminStore } from './admin-store-dynamodb.js';

/** On the control table with SLUICE_STORE=dynamodb, else admin.json in SLUICE_DATA_DIR (as approvals). */
export function adminStoreFromEnv(env: NodeJS.ProcessEnv, client?: DynamoDBClient): AdminStore {
  const table = env.SLUICE_CONTROL_TABLE?.trim();
  if (env.SLUICE_STORE?.trim() === 'dynamodb' && table) {
    const region = env.AWS_REGION?.trim();
    return new DynamoAdminStore(client ?? new DynamoDBClient(region ? { region } : {}), table);
  }
  return new FileAdminStore(env.SLUICE_DATA_DIR?.trim() || DEFAULT_DATA_DIR);
}
