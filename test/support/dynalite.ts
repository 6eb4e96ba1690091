// An in-memory DynamoDB (dynalite) on a free loopback port, and the tables the CDK stack provisions.
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

interface DynaliteOptions {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
  path?: string;
}
const dynalite = createRequire(import.meta.url)('dynalite') as (options: DynaliteOptions) => Server;

export interface RunningDynalite {
  /** e.g. http://127.0.0.1:43117 */
  endpoint: string;
  close(): Promise<void>;
}

/** Starts dynalite in memory on 127.0.0.1 with a free port; tables become ACTIVE at once. */
export async function startDynalite(): Promise<RunningDynalite> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err?: Error) => (err ? reject(err) : resolve()));
        server.closeAllConnections(); // SDK clients keep connections alive
      }),
  };
}

/** A low-level DynamoDB client for a local endpoint, with dummy credentials. */
export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}

/** The control table as the CDK stack defines it: pk/sk, GSI gsi1 (gsi1pk/gsi1sk, projection ALL), on demand. */
export function controlTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      { AttributeName: 'gsi1pk', AttributeType: 'S' },
      { AttributeName: 'gsi1sk', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: 'gsi1',
        KeySchema: [
          { AttributeName: 'gsi1pk', KeyType: 'HASH' },
          { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  };
}

/** The state table (session counters and chains, later budgets and rate limits): pk/sk, on demand. */
export function stateTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
  };
}

export interface SluiceTables {
  controlTable: string;
  stateTable: string;
}

let tableCounter = 0;

/**
 * Creates a fresh control table and state table (unique names unless given), as
 * the CDK stack would. dynalite has no TTL API, so the `ttl` attributes are
 * written but never expire here.
 */
export async function createSluiceTables(
  endpointOrClient: string | DynamoDBClient,
  names: Partial<SluiceTables> = {},
): Promise<SluiceTables> {
  const client = typeof endpointOrClient === 'string' ? localDynamoClient(endpointOrClient) : endpointOrClient;
  const suffix = `${process.pid}-${++tableCounter}`;
  const tables: SluiceTables = {
    controlTable: names.controlTable ?? `sluice-control-${suffix}`,
    stateTable: names.stateTable ?? `sluice-state-${suffix}`,
  };
  try {
    await client.send(new CreateTableCommand(controlTableDefinition(tables.controlTable)));
    await client.send(new CreateTableCommand(stateTableDefinition(tables.stateTable)));
  } finally {
    if (typeof endpointOrClient === 'string') client.destroy();
  }
  return tables;
}
