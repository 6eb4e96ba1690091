import { DeleteItemCommand, GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CacheEntry, EntryCache } from './layered-cache.js';

/**
 * A cache layer on the state table, shared by every Lambda container when there is no
 * Redis: `pk cache:<key>`, `sk cache`, `value`, `expiresAt` (epoch ms) and `ttl` (epoch
 * seconds, DynamoDB's deletion, which can lag by days — so reads check `expiresAt`).
 */
export interface DynamoCacheOptions {
  client: DynamoDBClient;
  tableName: string;
  now?: () => number;
}

const SK = 'cache';
export const cachePk = (key: string) => `cache:${key}`;

export class DynamoCache implements EntryCache {
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly now: () => number;

  constructor(options: DynamoCacheOptions) {
    this.client = options.client;
    this.table = options.tableName;
    this.now = options.now ?? Date.now;
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.getEntry(key))?.value;
  }

  async getEntry(key: string): Promise<CacheEntry | undefined> {
    const out = await this.client.send(new GetItemCommand({ TableName: this.table, Key: { pk: { S: cachePk(key) }, sk: { S: SK } } }));
    const value = out.Item?.value?.S;
    const ttlMs = Number(out.Item?.expiresAt?.N) - this.now();
    return value !== undefined && ttlMs > 0 ? { value, ttlMs } : undefined;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    if (!(ttlMs > 0)) return this.delete(key);
    const expiresAt = this.now() + ttlMs;
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: { pk: { S: cachePk(key) }, sk: { S: SK }, value: { S: value }, expiresAt: { N: String(Math.ceil(expiresAt)) }, ttl: { N: String(Math.ceil(expiresAt / 1000)) } },
      }),
    );
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteItemCommand({ TableName: this.table, Key: { pk: { S: cachePk(key) }, sk: { S: SK } } }));
  }
}
